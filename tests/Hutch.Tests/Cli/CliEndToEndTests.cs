using System.Diagnostics;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>The published `hutch` program as a user runs it: real process, real runc, no daemon.</summary>
public class CliEndToEndTests
{
    [Fact]
    public async Task Run_WithoutDaemon_StreamsOutputExitsWithStatusAndLeavesNothing()
    {
        var dataDir = TestPaths.NewTempDir("hutch-c");
        try
        {
            var (code, stdout, stderr) = await HutchAsync(dataDir, "hi from stdin\n",
                "run", "-i", "--", "sh", "-c", "cat; echo out; echo err >&2; id -u; exit 7");

            Assert.Equal(7, code);
            Assert.Equal("hi from stdin\nout\n1000\n", stdout);
            Assert.Contains("err", stderr);
            Assert.Empty(HostInspector.SandboxLeftovers(dataDir));
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task Run_WithAStdinPipeNeverClosed_DoesNotWaitForIt()
    {
        var dataDir = TestPaths.NewTempDir("hutch-c");
        try
        {
            // As Node's child_process.spawn leaves it: stdin a pipe that is never written nor closed.
            var (code, stdout, _) = await HutchAsync(dataDir, null, closeStdin: false, "run", "--", "sh", "-c", "cat; echo done");

            Assert.Equal((0, "done\n"), (code, stdout));
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task Run_PastTimeout_Exits124_AndWithWorkspace_KeepsFilesOnTheHost()
    {
        var dataDir = TestPaths.NewTempDir("hutch-c");
        var workspace = TestPaths.NewTempDir("hutch-w");
        try
        {
            var (timedOut, _, _) = await HutchAsync(dataDir, null, "run", "--timeout", "1", "--", "sleep", "30");
            var (code, _, _) = await HutchAsync(dataDir, null, "run", "--workspace", workspace, "--", "sh", "-c", "echo made > f");

            Assert.Equal(124, timedOut);
            Assert.Equal(0, code);
            Assert.Equal("made\n", await File.ReadAllTextAsync(Path.Join(workspace, "f")));
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(dataDir, "runc")));
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
            Directory.Delete(workspace, recursive: true);
        }
    }

    private static Task<(int Code, string Stdout, string Stderr)> HutchAsync(string dataDir, string? stdin, params string[] args) =>
        HutchAsync(dataDir, stdin, closeStdin: true, args);

    private static async Task<(int Code, string Stdout, string Stderr)> HutchAsync(string dataDir, string? stdin, bool closeStdin, params string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_DATA_DIR"] = dataDir;
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        psi.Environment.Remove("HUTCH_URL");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        if (closeStdin)
        {
            process.StandardInput.Close();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
