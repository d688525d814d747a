using System.Diagnostics;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Invariant 5, block I/O: every sandbox's cgroup has a weight on the workspace disk, and a
/// sandbox with a bps cap cannot write faster than it.
/// </summary>
[Collection(DaemonCollection.Name)]
public class BlockIoLimitTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    private string Device => fixture.Daemon.Engine.BlockIo.Device!;

    [Fact]
    public async Task EverySandbox_HasTheDefaultIoWeight_AndItsThrottles_InItsCgroup()
    {
        // A weight needs BFQ group scheduling in the host's kernel; without it, asking for one is refused, never ignored.
        var weights = fixture.Daemon.Engine.BlockIo.Weight;
        await using var plain = await fixture.CreateAsync();
        await using var capped = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(
            IoWeight: weights ? 300 : null, IoReadBps: 8 << 20, IoWriteBps: 4 << 20, IoReadIops: 500, IoWriteIops: 200)));

        if (weights)
        {
            Assert.Equal(100, plain.Info.Limits.IoWeight);
            Assert.Equal("100", Blkio(plain.Id, WeightFile));
            Assert.Equal("300", Blkio(capped.Id, WeightFile));
        }
        else
        {
            var refused = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(IoWeight: 300))));
            Assert.Null(plain.Info.Limits.IoWeight);
            Assert.Equal(ErrorCodes.LimitUnavailable, refused.Code);
            Assert.Contains("limits.ioWeight cannot be enforced on this host", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal("", Blkio(plain.Id, "blkio.throttle.write_bps_device"));
        Assert.Equal($"{Device} {8 << 20}", Blkio(capped.Id, "blkio.throttle.read_bps_device"));
        Assert.Equal($"{Device} {4 << 20}", Blkio(capped.Id, "blkio.throttle.write_bps_device"));
        Assert.Equal($"{Device} 500", Blkio(capped.Id, "blkio.throttle.read_iops_device"));
        Assert.Equal($"{Device} 200", Blkio(capped.Id, "blkio.throttle.write_iops_device"));
        Assert.Equal(4L << 20, (await Client.GetSandboxAsync(capped.Id)).Limits.IoWriteBps);
    }

    [Fact]
    public async Task DirectWritesOfACappedSandbox_AreHeldToItsBps()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(IoWriteBps: 1 << 20)));

        // 3 MiB at 1 MiB/s: about 3 s (the first slice may pass at once); unthrottled it takes milliseconds.
        var clock = Stopwatch.StartNew();
        var result = await sandbox.ShAsync("dd if=/dev/zero of=/workspace/slow bs=64k count=48 oflag=direct 2>&1", timeoutMs: 30_000);
        var elapsed = clock.Elapsed;

        Assert.Contains("3145728 bytes", result.Stdout);
        Assert.InRange(elapsed.TotalSeconds, 1.8, 10);
    }

    [Fact]
    public async Task ALimitTheHostCannotEnforce_IsRefused_NotIgnored()
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(
            new CreateSandboxRequest(Limits: new SandboxLimits(IoWriteBps: 100))));

        Assert.Equal((400, ErrorCodes.LimitOutOfRange), (e.Status, e.Code));
    }

    /// <summary>The weight file runc writes: blkio.weight (CFQ) or blkio.bfq.weight, whichever the kernel has.</summary>
    private static string WeightFile =>
        File.Exists("/sys/fs/cgroup/blkio/hutch/blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";

    private static string Blkio(string sandboxId, string file)
    {
        var text = File.ReadAllText(Path.Join("/sys/fs/cgroup/blkio/hutch", sandboxId, file)).Trim();
        // blkio.bfq.weight reads "default 300".
        return text.StartsWith("default ", StringComparison.Ordinal) ? text["default ".Length..] : text;
    }
}
