using System.Diagnostics;

namespace Hutch.Tests.Infrastructure;

/// <summary>The published `hutch` program run as a user runs it, against the collection's daemon.</summary>
public static class CliProcess
{
    /// <summary>Starts <paramref name="program"/> (the published `hutch` unless told) with every stream redirected and the fixture's daemon, key and data dir in its environment.</summary>
    public static Process Start(DaemonFixture fixture, string workingDirectory, string[] args, string? program = null)
    {
        var psi = new ProcessStartInfo(program ?? TestPaths.Cli)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_URL"] = fixture.Daemon.Url;
        psi.Environment["HUTCH_API_KEY"] = fixture.ApiKey;
        psi.Environment["HUTCH_DATA_DIR"] = fixture.DataDir;
        return Process.Start(psi)!;
    }

    public static async Task<(int Code, byte[] Stdout, string Stderr)> RunAsync(DaemonFixture fixture, string workingDirectory, byte[]? stdin, params string[] args)
    {
        using var process = Start(fixture, workingDirectory, args);
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await copy;
        return (process.ExitCode, stdout.ToArray(), await stderr);
    }
}
