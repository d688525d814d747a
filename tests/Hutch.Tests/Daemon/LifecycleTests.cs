using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

[Collection(DaemonCollection.Name)]
public class LifecycleTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task Create_ThenExec_RunsAsUnprivilegedUserInWorkspace()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("id -u; id -g; pwd; echo $HOME; hostname");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"1000\n1000\n/workspace\n/home/user\n{sandbox.Id}\n", result.Stdout);
        Assert.Equal(SandboxStates.Running, sandbox.Info.State);
    }

    [Fact]
    public async Task Create_WithNameEnvCwdAndLimits_AppliesThem()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..8];
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Name: name, Env: new() { ["GREETING"] = "hello world" }, Cwd: "src/app",
            Limits: new SandboxLimits(MemoryMiB: 128, Pids: 64, Cpus: 0.5, TmpMiB: 8)));

        var result = await Client.ExecAsync(name, new ExecRequest(Command: "pwd; echo $GREETING; cat /sys/fs/cgroup/pids.max 2>/dev/null; df -m /tmp | tail -1"));

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n');
        Assert.Equal("/workspace/src/app", lines[0]);
        Assert.Equal("hello world", lines[1]);
        Assert.Contains(" 8 ", lines[^2]); // tmpfs of 8 MiB
        var info = await Client.GetSandboxAsync(name);
        Assert.Equal(sandbox.Id, info.Id);
        Assert.Equal(128, info.Limits.MemoryMiB);
        Assert.Equal(64, info.Limits.Pids);
    }

    [Fact]
    public async Task Get_ReportsLiveResourceUsage()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("for i in 1 2 3 4 5 6 7 8 9; do :; done");

        var info = await Client.GetSandboxAsync(sandbox.Id);

        Assert.NotNull(info.Usage);
        Assert.True(info.Usage!.MemoryBytes > 0, "memory usage should be counted");
        Assert.True(info.Usage.Pids >= 1, "the agent itself is a process");
        Assert.True(info.CreatedAt <= DateTimeOffset.UtcNow);
        Assert.Contains(await Client.ListSandboxesAsync(), s => s.Id == sandbox.Id);
    }

    [Fact]
    public async Task Delete_RemovesEverythingAndIsIdempotent()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo data > file; (sleep 1234 &) ; true"));
        var bundle = Path.Join(fixture.DataDir, "sandboxes", sandbox.Id);
        var workspace = Path.Join(fixture.DataDir, "workspaces", sandbox.Id, "workspace");
        Assert.True(File.Exists(Path.Join(workspace, "file")));

        await Client.DeleteSandboxAsync(sandbox.Id);
        await Client.DeleteSandboxAsync(sandbox.Id); // a second delete is fine

        Assert.False(Directory.Exists(bundle));
        Assert.False(Directory.Exists(workspace));
        Assert.Empty(HostInspector.CgroupDirsOf(sandbox.Id));
        Assert.Empty(HostInspector.ProcessesWithCommandLine("sleep\01234"));
        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "runc", sandbox.Id)));
        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetSandboxAsync(sandbox.Id));
        Assert.Equal(ErrorCodes.SandboxNotFound, error.Code);
        Assert.Equal(404, error.Status);
    }

    [Fact]
    public async Task DeleteWithoutWaiting_Answers202_TakesNoNewWork_AndFinishesInTheBackground()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "(sleep 4321 &) ; true"));
        using var http = fixture.RawHttp();

        var response = await http.DeleteAsync($"/v1/sandboxes/{sandbox.Id}?wait=false");
        var refused = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true")));

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains(refused.Code, new[] { ErrorCodes.SandboxNotRunning, ErrorCodes.SandboxNotFound });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await http.GetAsync($"/v1/sandboxes/{sandbox.Id}")).StatusCode != System.Net.HttpStatusCode.NotFound)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sandbox was not gone 10 s after its delete began");
            await Task.Delay(50);
        }
        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
        Assert.Empty(HostInspector.ProcessesWithCommandLine("sleep\04321"));
    }

    [Fact]
    public async Task Delete_OfAWorkspaceDeeperThanPathMax_LeavesNothing()
    {
        var sandbox = await Client.CreateSandboxAsync();
        var made = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command:
            "python3 -c \"import os\nfor i in range(3000):\n    os.mkdir('deep'); os.chdir('deep')\nopen('f','w').write('x')\" && echo made"));
        Assert.Equal("made\n", made.Stdout);

        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "workspaces", sandbox.Id)));
    }

    [Fact]
    public async Task Delete_WithKeepWorkspace_LeavesFiles()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo kept > out.txt"));

        await Client.DeleteSandboxAsync(sandbox.Id, keepWorkspace: true);

        var kept = Path.Join(fixture.DataDir, "workspaces", sandbox.Id, "workspace");
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Join(kept, "out.txt")));
        Directory.Delete(Path.GetDirectoryName(kept)!, recursive: true);
    }

    [Fact]
    public async Task Ttl_WhenItPasses_DeletesTheSandbox()
    {
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest(TtlSeconds: 1));
        Assert.NotNull(sandbox.ExpiresAt);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && (await Client.ListSandboxesAsync()).Any(s => s.Id == sandbox.Id))
        {
            await Task.Delay(200);
        }

        Assert.DoesNotContain(await Client.ListSandboxesAsync(), s => s.Id == sandbox.Id);
        Assert.Empty(HostInspector.CgroupDirsOf(sandbox.Id));
    }

    [Fact]
    public async Task WarmPool_CreateWithDefaults_ClaimsAStartedSandboxAndRefills()
    {
        await WaitForWarmPoolAsync();
        await Task.Delay(1000); // pooled sandboxes are now at least a second old
        var asked = System.Diagnostics.Stopwatch.StartNew();
        var name = "pool-" + Guid.NewGuid().ToString("N")[..8];
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Name: name, Env: new() { ["K"] = "v" }, Cwd: "deep/dir", TtlSeconds: 600));
        var created = asked.Elapsed.TotalSeconds;

        var result = await sandbox.ShAsync("echo $K; pwd; hostname; read -r up _ < /proc/uptime; set -- $(cat /proc/1/stat); echo $up ${22}");

        var lines = result.Stdout.Split('\n');
        Assert.Equal(["v", "/workspace/deep/dir", sandbox.Id], lines[..3]);
        var parts = lines[3].Split(' ');
        var agentAge = double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) - double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) / 100;
        Assert.True(agentAge > created + 0.5, $"the agent is {agentAge:F2} s old, the create took {created:F2} s: it was started before the request");
        Assert.NotNull(sandbox.Info.ExpiresAt);
        Assert.Equal(name, sandbox.Info.Name);
        await WaitForWarmPoolAsync();
    }

    private async Task WaitForWarmPoolAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Client.HealthAsync()).WarmPool < fixture.Options.WarmPool)
        {
            Assert.True(DateTime.UtcNow < deadline, "the warm pool did not fill within 30 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task RootSandbox_RunsAsUidZeroWithoutCapabilities()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var result = await sandbox.ShAsync("id -u; grep CapEff /proc/self/status");

        Assert.Equal("0\nCapEff:\t0000000000000000\n", result.Stdout);
    }
}
