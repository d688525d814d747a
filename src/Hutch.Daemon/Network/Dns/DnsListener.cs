using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Hutch.Daemon.Network.Dns;

/// <summary>
/// Serves one of a sandbox's UDP DNS sockets (127.0.0.1:53 or [::1]:53 in its netns, made by
/// EgressPlumbing.ListenDnsAsync): each datagram is checked against the sandbox's
/// <see cref="DnsRateLimit"/>, decided by the <see cref="DnsResolver"/> on its own task (a slow
/// upstream lookup holds up no other query), and answered to its sender. Owns the socket: disposing
/// the listener closes it and ends the loop. <see cref="ServeTcpAsync"/> is the same over a TCP
/// stream, for connections the proxy accepts with original port 53.
/// </summary>
public sealed class DnsListener : IAsyncDisposable
{
    /// <summary>The largest query read: bigger datagrams are cut, fail to parse, and get FORMERR.</summary>
    public const int MaxQuery = 4096;

    /// <summary>Queries of one socket being resolved at once; past it new ones are dropped like those over the rate.</summary>
    public const int MaxInFlight = 64;

    /// <summary>A DNS-over-TCP connection idle this long between queries is closed (RFC 7766 suggests seconds).</summary>
    public static readonly TimeSpan TcpIdle = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly DnsResolver _resolver;
    private readonly DnsRateLimit _limit;
    private readonly Action<DnsDecision>? _decided;
    private readonly Action<Exception>? _failed;
    private readonly ConcurrentDictionary<Task, byte> _answering = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private int _inFlight;
    private long _dropped;

    /// <param name="decided">Called with every decision (on a pool thread; it must not throw or block), never after <see cref="DisposeAsync"/> returned.</param>
    /// <param name="failed">Called with what went wrong when a query failed unexpectedly (a bug, or the names file could not be written): for the daemon's log.</param>
    public DnsListener(Socket socket, DnsResolver resolver, DnsRateLimit limit, Action<DnsDecision>? decided = null, Action<Exception>? failed = null)
    {
        _socket = socket;
        _resolver = resolver;
        _limit = limit;
        _decided = decided;
        _failed = failed;
        _loop = Task.Run(ReceiveAsync);
    }

    /// <summary>Queries this socket dropped because too many were in flight (the rate limit counts its own).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private async Task ReceiveAsync()
    {
        var stopping = _stopping.Token;
        var anyone = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        while (!stopping.IsCancellationRequested)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(MaxQuery);
            var handedOff = false;
            try
            {
                var received = await _socket.ReceiveFromAsync(buffer.AsMemory(0, MaxQuery), SocketFlags.None, anyone, stopping).ConfigureAwait(false);
                if (!_limit.TryTake())
                {
                    continue;
                }
                if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
                {
                    Interlocked.Decrement(ref _inFlight);
                    Interlocked.Increment(ref _dropped);
                    continue;
                }
                handedOff = true;
                var answering = AnswerAsync(buffer, received.ReceivedBytes, received.RemoteEndPoint, stopping);
                _answering.TryAdd(answering, 0);
                _ = answering.ContinueWith(t => _answering.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP error for an earlier answer, or a datagram cut short: nothing to do but go on.
            }
            finally
            {
                if (!handedOff)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
    }

    private async Task AnswerAsync(byte[] buffer, int length, EndPoint sender, CancellationToken stopping)
    {
        try
        {
            var result = await _resolver.ResolveAsync(buffer.AsMemory(0, length), stopping).ConfigureAwait(false);
            // Recorded before the answer leaves: a command that exits on a refused lookup finds it
            // in its exec result, which reads the log when the exit arrives.
            if (result.Decision is { } decision)
            {
                _decided?.Invoke(decision);
            }
            if (result.Response is { } response)
            {
                await _socket.SendToAsync(response, SocketFlags.None, sender, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping, or the sender is gone: a lost UDP answer is what the client's retry is for.
        }
        catch (Exception e)
        {
            _failed?.Invoke(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// Answers DNS over TCP (RFC 7766: each message preceded by its 2-byte big-endian length) on
    /// <paramref name="connection"/> until the client closes it, stays idle for <see cref="TcpIdle"/>,
    /// sends something that is not a query, or goes over the rate. Queries are answered in order.
    /// Does not dispose <paramref name="connection"/>.
    /// </summary>
    public static async Task ServeTcpAsync(Socket connection, DnsResolver resolver, DnsRateLimit limit, Action<DnsDecision>? decided, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(2 + ushort.MaxValue);
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                idle.CancelAfter(TcpIdle);
                if (!await ReadExactlyAsync(connection, buffer.AsMemory(0, 2), idle.Token).ConfigureAwait(false))
                {
                    return;
                }
                var length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                if (!await ReadExactlyAsync(connection, buffer.AsMemory(2, length), idle.Token).ConfigureAwait(false) || !limit.TryTake())
                {
                    return;
                }
                var result = await resolver.ResolveAsync(buffer.AsMemory(2, length), cancellationToken).ConfigureAwait(false);
                if (result.Decision is { } decision)
                {
                    decided?.Invoke(decision);
                }
                if (result.Response is not { } response)
                {
                    return;
                }
                var framed = new byte[2 + response.Length];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)response.Length);
                response.CopyTo(framed, 2);
                await connection.SendAsync(framed, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (result.Decision?.Outcome == DnsOutcomes.Malformed)
                {
                    return; // the stream's framing can no longer be trusted
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Idle, stopping, or reset by the client.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>False when the stream ends before <paramref name="into"/> is full.</summary>
    private static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> into, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < into.Length)
        {
            var n = await socket.ReceiveAsync(into[read..], SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        // Lookups see the cancellation at once; then no decision is reported any more.
        await Task.WhenAll(_answering.Keys).ConfigureAwait(false);
    }
}
