using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// A daemon that stops leaves no mount nothing uses: its workspaces' volume is unmounted when no
/// sandbox is on it, and stays while one is (sandboxes outlive the daemon by design).
/// </summary>
public sealed class CleanStopTests
{
    [Fact]
    public async Task Serve_OnSigterm_UnmountsTheVolume_WhenNoSandboxUsesIt()
    {
        var daemon = await DaemonProcess.StartAsync();
        try
        {
            var workspaces = Path.Join(daemon.DataDir, "workspaces");
            var sandbox = await daemon.Client.CreateSandboxAsync();
            await daemon.Client.DeleteSandboxAsync(sandbox.Id);
            Assert.True(IsMounted(workspaces), "the test needs a host where Hutch mounts its own volume");

            Hutch.Linux.Processes.Signal(daemon.Process.Id, Hutch.Linux.Processes.SIGTERM);
            Assert.True(await Task.Run(() => daemon.Process.WaitForExit(TimeSpan.FromSeconds(30))), "the daemon did not stop within 30 s");

            Assert.Equal(0, daemon.Process.ExitCode);
            Assert.False(IsMounted(workspaces), $"{workspaces} is still mounted after a clean stop with no sandbox");
        }
        finally
        {
            daemon.Client.Dispose();
            TestPaths.DeleteDataDir(daemon.DataDir);
        }
    }

    [Fact]
    public async Task AStoppingDaemon_KeepsTheVolume_WhileASandboxRunsOnIt()
    {
        var dataDir = TestPaths.NewTempDir("hutch-stop");
        var options = new HutchOptions { DataDir = dataDir, AgentPath = TestPaths.Agent, WarmPool = 1 };
        var workspaces = Path.Join(dataDir, "workspaces");
        try
        {
            var first = await SandboxEngine.OpenDaemonAsync(options);
            var sandbox = await first.CreateAsync(new CreateSandboxRequest());
            await first.DisposeAsync();

            Assert.True(IsMounted(workspaces), "the volume was unmounted under a running sandbox");

            var second = await SandboxEngine.OpenDaemonAsync(options);
            Assert.Equal(0, (await second.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo x > f && cat f"))).ExitCode);
            await second.DeleteAsync(sandbox.Id);
            await second.DisposeAsync();

            Assert.False(IsMounted(workspaces), "the volume stayed mounted once its last sandbox was deleted");
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private static bool IsMounted(string directory) =>
        File.ReadAllLines("/proc/self/mountinfo").Any(line => line.Split(' ')[4] == directory);
}
