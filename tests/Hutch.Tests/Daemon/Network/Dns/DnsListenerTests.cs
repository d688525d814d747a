using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Hutch.Daemon.Network;
using Hutch.Daemon.Network.Dns;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>The DNS listener's sockets on the host's loopback (UDP and DNS over TCP), and the per-sandbox rate limit. The only lookup is a fake.</summary>
[Trait("Category", "Unit")]
public sealed class DnsListenerTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);
    private readonly ConcurrentQueue<DnsDecision> _decisions = new();

    private static DnsResolver Resolver() => new(
        () => new PolicyMatcher(NetworkPolicyParser.Parse(new NetworkPolicy("allowlist", ["example.test"]))),
        () => new RefusedRanges(HostAddresses.Empty, null), new SyntheticNames(),
        (_, _) => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14") }));

    private static Socket Udp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    [Fact]
    public async Task AUdpQuery_IsAnsweredToItsSender_AndTheDecisionReported()
    {
        var socket = Udp();
        var server = socket.LocalEndPoint!;
        await using var listener = new DnsListener(socket, Resolver(), new DnsRateLimit(), _decisions.Enqueue);
        using var client = Udp();

        await client.SendToAsync(DnsWire.Query(0x0102, "example.test", DnsMessage.TypeA), server);
        var answer = await ReceiveAsync(client);

        Assert.Equal(0x0102, DnsWire.U16(answer, 0));
        Assert.Equal(new byte[] { 198, 18, 1, 0 }, answer[^15..^11]);
        Assert.True(SpinWait.SpinUntil(() => !_decisions.IsEmpty, Soon));
        Assert.Equal(DnsOutcomes.Answered, Assert.Single(_decisions).Outcome);
    }

    [Fact]
    public async Task QueriesOverTheRate_AreDroppedSilently_AndCounted()
    {
        var limit = new DnsRateLimit(new StoppedClock(), perSecond: 2);
        var socket = Udp();
        var server = socket.LocalEndPoint!;
        await using var listener = new DnsListener(socket, Resolver(), limit);
        using var client = Udp();

        for (ushort id = 1; id <= 3; id++)
        {
            await client.SendToAsync(DnsWire.Query(id, "example.test", DnsMessage.TypeA), server);
        }

        var ids = new HashSet<int> { DnsWire.U16(await ReceiveAsync(client), 0), DnsWire.U16(await ReceiveAsync(client), 0) };
        Assert.Equal([1, 2], ids);
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ReceiveAsync(new byte[2048], SocketFlags.None, quiet.Token));
        Assert.Equal(1, limit.Dropped);
    }

    [Fact]
    public void TheRateLimit_RefillsWithTime_UpToOneSecondsWorth()
    {
        var clock = new StoppedClock();
        var limit = new DnsRateLimit(clock);

        Assert.Equal(200, Enumerable.Range(0, 250).Count(_ => limit.TryTake()));
        Assert.Equal(50, limit.Dropped);
        clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => limit.TryTake()));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(200, Enumerable.Range(0, 250).Count(_ => limit.TryTake()));
    }

    [Fact]
    public async Task DnsOverTcp_AnswersEveryFramedQueryOnTheStream_InOrder_UntilTheClientCloses()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(server.LocalEndPoint!);
        using var accepted = await server.AcceptAsync();
        var serving = DnsListener.ServeTcpAsync(accepted, Resolver(), new DnsRateLimit(), _decisions.Enqueue, default);

        // Two queries in one write: the length prefixes are all that tells them apart.
        byte[] both = [.. Framed(DnsWire.Query(1, "example.test", DnsMessage.TypeAaaa)), .. Framed(DnsWire.Query(2, "other.test", DnsMessage.TypeA))];
        await client.SendAsync(both);
        var first = await ReadFramedAsync(client);
        var second = await ReadFramedAsync(client);
        client.Shutdown(SocketShutdown.Send);
        await serving.WaitAsync(Soon);

        Assert.Equal((1, 0, 1), (DnsWire.U16(first, 0), DnsWire.U16(first, 2) & 0xF, DnsWire.U16(first, 6)));
        Assert.Equal((2, DnsMessage.NxDomain), (DnsWire.U16(second, 0), DnsWire.U16(second, 2) & 0xF));
        Assert.Equal([DnsOutcomes.Answered, DnsOutcomes.Refused], _decisions.Select(d => d.Outcome));
    }

    [Fact]
    public async Task Disposing_StopsTheLoop_AndClosesTheSocket()
    {
        var socket = Udp();
        var listener = new DnsListener(socket, Resolver(), new DnsRateLimit());

        await listener.DisposeAsync().AsTask().WaitAsync(Soon);

        Assert.Throws<ObjectDisposedException>(() => socket.Send([1]));
    }

    private static async Task<byte[]> ReceiveAsync(Socket client)
    {
        var buffer = new byte[2048];
        var n = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Soon);
        return buffer[..n];
    }

    private static byte[] Framed(byte[] message)
    {
        var framed = new byte[2 + message.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        return framed;
    }

    private static async Task<byte[]> ReadFramedAsync(Socket socket)
    {
        var length = new byte[2];
        await ReadAsync(socket, length);
        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
        await ReadAsync(socket, message);
        return message;
    }

    private static async Task ReadAsync(Socket socket, byte[] into)
    {
        for (var read = 0; read < into.Length;)
        {
            var n = await socket.ReceiveAsync(into.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(Soon);
            Assert.NotEqual(0, n);
            read += n;
        }
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class StoppedClock : TimeProvider
    {
        private long _now;

        public void Advance(TimeSpan by) => _now += (long)(by.TotalSeconds * TimestampFrequency);

        public override long GetTimestamp() => _now;

        public override long TimestampFrequency => 1_000_000_000;
    }
}
