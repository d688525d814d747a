using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Runtime.Oci;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Issue #16: a delete while the sandbox fights back (a fork bomb, a memory hog, a frozen cgroup)
/// must leave none of its cgroups behind, under any hierarchy the host has mounted, and no process,
/// mount or file of it either. A cgroup left
/// behind is a leak per misbehaving sandbox, and a reused name would inherit its stale settings.
/// </summary>
[Collection(DaemonCollection.Name)]
public class DeleteUnderAttackTests(DaemonFixture fixture)
{
    private const string CgroupRoot = "/sys/fs/cgroup";

    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task DeleteDuringAForkBomb_LeavesNothing()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["bash", "-c", ":(){ :|:& };:"]));
        await WaitUntilAsync(() => Pids(sandbox.Id) > 100, "the fork bomb to fill the sandbox");

        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
    }

    /// <summary>The review's reproduction: the bomb runs as an exec whose client is still attached, at the sandbox's pids limit.</summary>
    [Fact]
    public async Task DeleteDuringAForkBombInAnExec_AtThePidsLimit_LeavesNothing()
    {
        var sandbox = await Client.CreateSandboxAsync();
        using var attached = new CancellationTokenSource();
        var exec = Task.Run(async () =>
        {
            await foreach (var _ in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Argv: ["bash", "-c", ":(){ :|:& };:"]), attached.Token))
            {
            }
        });
        await WaitUntilAsync(() => Pids(sandbox.Id) >= 500, "the fork bomb to reach the pids limit");
        await Task.Delay(TimeSpan.FromSeconds(2));

        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
        await attached.CancelAsync();
        await Task.WhenAny(exec, Task.Delay(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task DeleteDuringAMemoryHog_LeavesNothing()
    {
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest(Limits: new SandboxLimits(MemoryMiB: 64)));
        // Many processes each touching memory until the OOM killer picks them, over and over.
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["bash", "-c",
            "for i in $(seq 8); do (while :; do python3 -c 'b=bytearray(48<<20); import time; time.sleep(0.2)'; done) & done; wait"]));
        await WaitUntilAsync(() => Pids(sandbox.Id) > 8, "the hogs to start");

        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
    }

    [Fact]
    public async Task DeleteOfAFrozenSandbox_LeavesNothing()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sh", "-c", "for i in 1 2 3 4 5; do sleep 600 & done; wait"]));
        await WaitUntilAsync(() => Pids(sandbox.Id) > 5, "the sleeps to start");
        await File.WriteAllTextAsync(Path.Join(CgroupRoot, "freezer", SandboxSpec.CgroupPathOf(sandbox.Id), "freezer.state"), "FROZEN");

        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
    }

    private static int Pids(string id) =>
        File.Exists(Path.Join(CgroupRoot, "pids", SandboxSpec.CgroupPathOf(id), "pids.current"))
            ? int.Parse(File.ReadAllText(Path.Join(CgroupRoot, "pids", SandboxSpec.CgroupPathOf(id), "pids.current")).Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    private static async Task WaitUntilAsync(Func<bool> done, string what)
    {
        for (var i = 0; i < 200 && !done(); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(done(), $"timed out waiting for {what}");
    }
}
