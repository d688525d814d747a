using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// HUTCH_MAX_SANDBOXES (and the warm pool) is what the host's kernel shares were raised for: callers
/// never get more sandboxes, however many creates arrive at once, and the pool never takes their place.
/// </summary>
public sealed class SandboxLimitAttackTests : IAsyncLifetime
{
    private const int Max = 3;
    private readonly string _dataDir = TestPaths.NewTempDir("hutch-max");
    private RunningDaemon _daemon = null!;
    private HutchClient _client = null!;

    public async Task InitializeAsync()
    {
        var options = new HutchOptions { DataDir = _dataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 2, MaxSandboxes = Max };
        _daemon = await DaemonHost.StartAsync(options);
        _client = new HutchClient(new Uri(_daemon.Url), (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim());
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await _client.ListSandboxesAsync())
        {
            await _client.DeleteSandboxAsync(sandbox.Id);
        }
        _client.Dispose();
        await _daemon.DisposeAsync();
        TestPaths.DeleteDataDir(_dataDir);
    }

    [Fact]
    public async Task ParallelCreates_PastTheLimit_Are409TooManySandboxes_AndNoMoreThanTheLimitRun()
    {
        var creates = Enumerable.Range(0, 8).Select(_ => Task.Run(() => _client.CreateSandboxAsync(new CreateSandboxRequest()))).ToList();
        await Task.WhenAll(creates.Select(c => c.ContinueWith(_ => { })));

        Assert.Equal(Max, creates.Count(c => c.IsCompletedSuccessfully));
        foreach (var refused in creates.Where(c => c.IsFaulted))
        {
            var e = Assert.IsType<HutchApiException>(refused.Exception!.InnerException);
            Assert.Equal((409, ErrorCodes.TooManySandboxes), (e.Status, e.Code));
            Assert.Contains("HUTCH_MAX_SANDBOXES", e.Detail);
        }
        Assert.Equal(Max, (await _client.ListSandboxesAsync()).Count);

        await _client.DeleteSandboxAsync((await creates.First(c => c.IsCompletedSuccessfully)).Id);
        await _client.CreateSandboxAsync(new CreateSandboxRequest());
    }

    [Fact]
    public async Task TheWarmPool_DoesNotCount_NorTakeACallersPlace()
    {
        // Two from the pool (which refills meanwhile), then one the pool cannot serve (its own limits).
        await _client.CreateSandboxAsync(new CreateSandboxRequest());
        await _client.CreateSandboxAsync(new CreateSandboxRequest());
        var custom = await _client.CreateSandboxAsync(new CreateSandboxRequest(Limits: new SandboxLimits(MemoryMiB: 256)));

        Assert.Equal("ok\n", (await _client.ExecAsync(custom.Id, new ExecRequest(Command: "echo ok"))).Stdout);
        var e = await Assert.ThrowsAsync<HutchApiException>(() => _client.CreateSandboxAsync(new CreateSandboxRequest()));
        Assert.Equal((409, ErrorCodes.TooManySandboxes), (e.Status, e.Code));
        Assert.True(Directory.GetDirectories(Path.Join(_dataDir, "runc")).Length <= Max + 2, "more containers than the limit and the pool");
    }
}
