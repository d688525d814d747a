using Hutch.Daemon;
using Hutch.Daemon.Network;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon.Network;

/// <summary>A sandbox's network log: NDJSON with byte-offset cursors, bounded, and refusing cursors it never gave.</summary>
[Trait("Category", "Unit")]
public sealed class NetworkEventLogTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-netlog");
    private string LogPath => Path.Join(_dir, "network.log");

    private static NetworkEvent Event(int port, string message = "m") =>
        new(0, DateTimeOffset.UnixEpoch, NetworkOutcomes.Refused, "transparent", "tcp", null, "192.0.2.7", port, "egress_denied_address", null, message);

    [Fact]
    public async Task EachEvent_CarriesTheCursorAfterIt_AndReadingFromItGivesTheRest()
    {
        using var log = new NetworkEventLog(LogPath);
        log.Append(Event(1));
        log.Append(Event(2));
        log.Append(Event(3));

        var all = await log.ReadAsync(0, follow: false, CancellationToken.None).ToListAsync();
        var rest = await log.ReadAsync(all[0].Cursor, follow: false, CancellationToken.None).ToListAsync();

        Assert.Equal([1, 2, 3], all.Select(e => e.Port));
        Assert.Equal([2, 3], rest.Select(e => e.Port));
        Assert.Equal(new FileInfo(LogPath).Length, all[^1].Cursor);
        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(LogPath));
    }

    [Fact]
    public async Task Following_WaitsForTheNextEvent()
    {
        using var log = new NetworkEventLog(LogPath);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reader = log.ReadAsync(0, follow: true, cts.Token).GetAsyncEnumerator(cts.Token);

        var next = reader.MoveNextAsync().AsTask();
        await Task.Delay(50);
        Assert.False(next.IsCompleted);
        log.Append(Event(7));

        Assert.True(await next);
        Assert.Equal(7, reader.Current.Port);
        await cts.CancelAsync();
        await reader.DisposeAsync();
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]      // inside the first event
    [InlineData(100000)] // past the end
    public void ACursorItNeverGave_IsInvalidCursor(long cursor)
    {
        using var log = new NetworkEventLog(LogPath);
        log.Append(Event(1));

        var e = Assert.Throws<HutchException>(() => NetworkEventLog.ReadFrom(LogPath, cursor).ToList());
        Assert.Equal(ErrorCodes.InvalidCursor, e.Code);
    }

    [Fact]
    public void ALogNeverWritten_IsEmpty()
    {
        Assert.Empty(NetworkEventLog.ReadFrom(LogPath, 0));
    }

    [Fact]
    public async Task AFullLog_KeepsOneNoteAndCountsWhatItDrops()
    {
        using var log = new NetworkEventLog(LogPath);
        var big = new string('x', 64 * 1024);
        var appended = (int)(NetworkEventLog.MaxBytes / big.Length) + 10;
        for (var i = 0; i < appended; i++)
        {
            log.Append(Event(i, big));
        }

        var events = await log.ReadAsync(0, follow: false, CancellationToken.None).ToListAsync();

        Assert.True(new FileInfo(LogPath).Length <= NetworkEventLog.MaxBytes + 4096);
        Assert.Equal("egress_log_full", events[^1].Code);
        Assert.Equal(appended, events.Count - 1 + log.Dropped);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
