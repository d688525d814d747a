using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Templates;

namespace Hutch.Tests.Bundles;

/// <summary>A sandbox's bundle mounts are the host's: they outlive the daemon that made them, and the next one knows their versions.</summary>
public sealed class BundleRestartTests
{
    [Fact]
    public async Task ADaemonRestart_KeepsARunningSandboxsBundleMountsWorking_AndKnowsEachVersion()
    {
        var dataDir = TestPaths.NewTempDir("hutch-b");
        var options = new HutchOptions { DataDir = dataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 0 };
        RunningDaemon? daemon = await DaemonHost.StartAsync(options);
        try
        {
            string id;
            using (var client = await ClientOf(daemon, options))
            {
                await client.PushBundleAsync(new MemoryStream(new LayerTar().File("f", "one\n").Build()), "kept");
                await client.PushBundleAsync(new MemoryStream(new LayerTar().File("f", "two\n").Build()), "kept");
                await client.PushBundleAsync(new MemoryStream(new LayerTar().File("g", "own\n").Build()), "own");
                id = (await client.CreateSandboxAsync(new CreateSandboxRequest(Bundles: [new BundleMount("kept", "1"), new BundleMount("own", Path: "/mnt/own")]))).Id;
            }
            await daemon.DisposeAsync(); // the sandbox runs on without a daemon
            daemon = null;

            daemon = await DaemonHost.StartAsync(options);
            using var again = await ClientOf(daemon, options);
            var read = await again.ExecAsync(id, new ExecRequest(Command: "cat /bundles/kept/f /mnt/own/g"));
            var info = await again.GetSandboxAsync(id);
            await again.SetSandboxBundleAsync(id, "kept", 2);
            var switched = await again.ExecAsync(id, new ExecRequest(Command: "cat /bundles/kept/f"));
            var inUse = await Assert.ThrowsAsync<HutchApiException>(() => again.DeleteBundleAsync("kept", 2));
            await again.DeleteSandboxAsync(id);
            await again.DeleteBundleAsync("kept");

            Assert.Equal("one\nown\n", read.Stdout);
            Assert.Equal([("kept", 1L, "/bundles/kept"), ("own", 1L, "/mnt/own")], info.Bundles!.Select(b => (b.Name, b.Version, b.Path)));
            Assert.Equal("two\n", switched.Stdout);
            Assert.Equal(ErrorCodes.BundleInUse, inUse.Code);
            Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(Path.Join(dataDir, "bundle-mounts", id), StringComparison.Ordinal));
        }
        finally
        {
            if (daemon is not null)
            {
                await daemon.DisposeAsync();
            }
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private static async Task<HutchClient> ClientOf(RunningDaemon daemon, HutchOptions options) =>
        new(new Uri(daemon.Url), (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim());
}
