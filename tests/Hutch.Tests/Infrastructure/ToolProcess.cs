using System.Diagnostics;

namespace Hutch.Tests.Infrastructure;

/// <summary>An outside tool (dotnet, npm, node) run to its end with its output captured, for the tests that build and run what a user would.</summary>
public static class ToolProcess
{
    public sealed record Result(int Code, string Stdout, string Stderr)
    {
        /// <summary>What to show when the tool failed: its command line and both streams.</summary>
        public string Describe(string what) => $"{what} exited {Code}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>Runs <paramref name="program"/> in <paramref name="workingDirectory"/>; past <paramref name="timeout"/> its whole tree is killed and the test fails.</summary>
    public static async Task<Result> RunAsync(string program, IEnumerable<string> args, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{program} {string.Join(' ', psi.ArgumentList)} did not finish in {timeout}:\n{await stdout}\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
