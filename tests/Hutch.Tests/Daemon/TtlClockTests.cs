using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// TTLs run on the boot clock: someone setting the wall clock back must not stretch a sandbox's
/// life, and setting it forward must not end one early. The daemon's wall clock is a TimeProvider
/// that jumps, as the host's would when set.
/// </summary>
public sealed class TtlClockTests : IAsyncLifetime
{
    private readonly string _dataDir = TestPaths.NewTempDir("hutch-ttl");
    private readonly JumpingClock _clock = new();
    private SandboxEngine _engine = null!;

    public async Task InitializeAsync() =>
        _engine = await SandboxEngine.OpenDaemonAsync(new HutchOptions { DataDir = _dataDir, AgentPath = TestPaths.Agent, WarmPool = 0 }, time: _clock);

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await _engine.ListAsync())
        {
            await _engine.DeleteAsync(sandbox.Id);
        }
        await _engine.DisposeAsync();
        TestPaths.DeleteDataDir(_dataDir);
    }

    [Fact]
    public async Task SettingTheClockBack_DoesNotStretchATtl()
    {
        var sandbox = await _engine.CreateAsync(new CreateSandboxRequest(TtlSeconds: 2));

        _clock.Offset = TimeSpan.FromHours(-1);

        Assert.True(await GoneWithinAsync(sandbox.Id, TimeSpan.FromSeconds(6)), "a 2 s TTL outlived 6 s after the clock was set back an hour");
    }

    [Fact]
    public async Task SettingTheClockForward_DoesNotEndATtlEarly_AndExpiresAtFollowsTheNewClock()
    {
        var sandbox = await _engine.CreateAsync(new CreateSandboxRequest(TtlSeconds: 3600));

        _clock.Offset = TimeSpan.FromHours(2);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // two expiry passes

        var info = await _engine.GetAsync(sandbox.Id);
        Assert.Equal(SandboxStates.Running, info.State);
        var left = info.ExpiresAt!.Value - _clock.GetUtcNow();
        Assert.InRange(left, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(60));
    }

    private async Task<bool> GoneWithinAsync(string id, TimeSpan budget)
    {
        var until = DateTime.UtcNow + budget;
        while (DateTime.UtcNow < until)
        {
            if ((await _engine.ListAsync()).All(s => s.Id != id))
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>The system's clock moved by <see cref="Offset"/>, as `date -s` would; its timers and timestamps are the real ones.</summary>
    private sealed class JumpingClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }
}
