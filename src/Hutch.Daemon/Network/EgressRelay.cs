using System.Buffers;
using System.Net.Sockets;

namespace Hutch.Daemon.Network;

/// <summary>
/// Copies bytes both ways between a sandbox's connection and its upstream until both ends are done.
/// Each direction waits for data with a zero-byte receive, so an idle connection holds no buffer;
/// 256 KiB is rented only while there is something to move. An end's EOF is passed on as a half-close
/// (server-speaks-last protocols keep working); a reset, or <see cref="Abort"/>, resets both.
/// </summary>
public sealed class EgressRelay(Socket client, Socket upstream)
{
    private const int BufferBytes = 256 * 1024;
    private readonly CancellationTokenSource _abort = new();
    private long _bytesOut;
    private long _bytesIn;

    /// <summary>Bytes from the sandbox to the upstream so far.</summary>
    public long BytesOut => Interlocked.Read(ref _bytesOut);

    /// <summary>Bytes from the upstream to the sandbox so far.</summary>
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    /// <summary>Relays until both directions end. True when both ended with an EOF; false when reset or aborted.</summary>
    public async Task<bool> RunAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        var up = PumpAsync(client, upstream, n => Interlocked.Add(ref _bytesOut, n), linked);
        var down = PumpAsync(upstream, client, n => Interlocked.Add(ref _bytesIn, n), linked);
        var clean = await up.ConfigureAwait(false) & await down.ConfigureAwait(false);
        if (!clean)
        {
            Reset(client);
            Reset(upstream);
        }
        return clean;
    }

    /// <summary>Ends the relay with a reset on both sides (a policy that no longer allows it, a deleted sandbox).</summary>
    public void Abort() => _abort.Cancel();

    /// <summary>Closes a socket with RST instead of FIN: the peer reads ECONNRESET, not a clean end.</summary>
    public static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: disposing is all that is left.
        }
        socket.Dispose();
    }

    private static async Task<bool> PumpAsync(Socket from, Socket to, Action<int> count, CancellationTokenSource both)
    {
        try
        {
            while (true)
            {
                // Idle: wait holding no buffer. Then read while reads fill the buffer (a bulk
                // transfer keeps its buffer and skips the wait), and give it back once drained.
                await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, both.Token).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                try
                {
                    int n;
                    do
                    {
                        n = await from.ReceiveAsync(buffer, SocketFlags.None, both.Token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            to.Shutdown(SocketShutdown.Send);
                            return true;
                        }
                        await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, both.Token).ConfigureAwait(false);
                        count(n);
                    }
                    while (n == buffer.Length);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side reset or the relay was aborted: the other direction must not wait on.
            await both.CancelAsync().ConfigureAwait(false);
            return false;
        }
    }
}
