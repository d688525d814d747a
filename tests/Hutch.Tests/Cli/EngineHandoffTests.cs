using System.Diagnostics;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// `hutch` is a NativeAOT client; what needs the engine is handed over to engine/hutch-engine in the
/// same process (execv), so the pid a harness started is the one that serves, and client commands
/// never need the engine at all.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class EngineHandoffTests(DaemonFixture fixture)
{
    private static readonly string MissingEngine = "/nonexistent/engine/hutch-engine";

    [Fact]
    public void TheClient_IsNativeCode_NotAnApphostThatLoadsTheRuntime()
    {
        // A framework-dependent apphost finds and loads libhostfxr; a NativeAOT program names no such library.
        var program = File.ReadAllBytes(TestPaths.Cli);

        Assert.Equal(-1, program.AsSpan().IndexOf("libhostfxr.so"u8));
        Assert.True(File.Exists(Path.Join(Path.GetDirectoryName(TestPaths.Cli), "engine", "hutch-engine")), "hutch-engine is not published beside hutch");
    }

    [Fact]
    public async Task Serve_BecomesTheEngine_InTheProcessTheCallerStarted()
    {
        await using var daemon = await DaemonProcess.StartAsync();

        var exe = new FileInfo($"/proc/{daemon.Process.Id}/exe").LinkTarget;

        Assert.Equal(Path.Join(Path.GetDirectoryName(TestPaths.Cli), "engine", "hutch-engine"), exe);
        await daemon.Client.HealthAsync();
    }

    [Fact]
    public async Task ClientCommands_NeverNeedTheEngine()
    {
        await using var sandbox = await fixture.CreateAsync();

        var (code, stdout, stderr) = await HutchAsync(MissingEngine, "exec", sandbox.Id, "--", "echo", "no engine needed");

        Assert.Equal((0, "no engine needed\n", ""), (code, stdout, stderr));
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("doctor")]
    public async Task WithoutTheEngine_ItsCommandsSayWhatIsMissing(string command)
    {
        var (code, stdout, stderr) = await HutchAsync(MissingEngine, command);

        Assert.Equal((1, ""), (code, stdout));
        Assert.Contains("(engine_missing)", stderr);
        Assert.Contains(MissingEngine, stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    private async Task<(int Code, string Stdout, string Stderr)> HutchAsync(string engine, params string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_ENGINE"] = engine;
        psi.Environment["HUTCH_URL"] = fixture.Daemon.Url;
        psi.Environment["HUTCH_API_KEY"] = fixture.ApiKey;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
