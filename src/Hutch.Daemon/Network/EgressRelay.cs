using System.Buffers;
using System.Net.Sockets;
using Hutch.Daemon.Network.Inspect;
using Hutch.Linux;

namespace Hutch.Daemon.Network;

/// <summary>
/// Copies bytes both ways between a sandbox's connection and its upstream until both ends are done.
/// Each direction waits for data with a zero-byte receive, so an idle connection holds no buffer;
/// 256 KiB is rented only while there is something to move. An end's EOF is passed on as a half-close
/// (server-speaks-last protocols keep working); a reset, or <see cref="Abort"/>, resets both.
/// With a <see cref="ClientCheck"/>, what the sandbox sends is shown to it before it is forwarded;
/// a refusal sends the check's reply to the sandbox and ends both sides.
/// </summary>
public sealed class EgressRelay(Socket client, Socket upstream, ClientCheck? check = null)
{
    private const int BufferBytes = 256 * 1024;
    private readonly CancellationTokenSource _abort = new();
    private long _bytesOut;
    private long _bytesIn;

    /// <summary>Bytes from the sandbox to the upstream so far.</summary>
    public long BytesOut => Interlocked.Read(ref _bytesOut);

    /// <summary>Bytes from the upstream to the sandbox so far.</summary>
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    /// <summary>Why the check refused what the sandbox sent; null when it did not.</summary>
    public string? Refusal { get; private set; }

    /// <summary>Relays until both directions end. True when both ended with an EOF; false when reset, aborted or refused.</summary>
    /// <param name="first">Bytes the sandbox already sent (read with a proxy request), checked and forwarded first.</param>
    public async Task<bool> RunAsync(ReadOnlyMemory<byte> first, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        if (!first.IsEmpty && !await ForwardAsync(first, linked.Token).ConfigureAwait(false))
        {
            Reset(upstream);
            return false;
        }
        var up = PumpAsync(client, upstream, ForwardAsync, null, linked);
        var down = PumpAsync(upstream, client, async (bytes, token) =>
        {
            await client.SendAsync(bytes, SocketFlags.None, token).ConfigureAwait(false);
            Interlocked.Add(ref _bytesIn, bytes.Length);
            return true;
        }, SpliceDownAsync, linked);
        var clean = await up.ConfigureAwait(false) & await down.ConfigureAwait(false);
        if (!clean)
        {
            if (Refusal is null)
            {
                Reset(client); // a refused client was told why and closed already
            }
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

    /// <summary>Sends the sandbox's bytes upstream once the check (if any) lets them; false when it refused them.</summary>
    private async ValueTask<bool> ForwardAsync(ReadOnlyMemory<byte> bytes, CancellationToken token)
    {
        if (check is not null && check.Observe(bytes.Span) is { Refused: { } why } verdict)
        {
            Refusal = why;
            // Tell the program why, then end: FIN after the reply so it is read before the close.
            await client.SendAsync(verdict.Reply ?? [], SocketFlags.None, token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
            return false;
        }
        await upstream.SendAsync(bytes, SocketFlags.None, token).ConfigureAwait(false);
        Interlocked.Add(ref _bytesOut, bytes.Length);
        return true;
    }

    /// <param name="bulk">Where a transfer goes once a read fills the whole buffer (a download): through a kernel pipe.</param>
    private static async Task<bool> PumpAsync(Socket from, Socket to, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<bool>> send,
        Func<CancellationToken, Task<bool>>? bulk, CancellationTokenSource both)
    {
        try
        {
            while (true)
            {
                // Idle: wait holding no buffer. Then read while reads fill the buffer (a bulk
                // transfer keeps its buffer and skips the wait), and give it back once drained.
                await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, both.Token).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                var full = false;
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
                        if (!await send(buffer.AsMemory(0, n), both.Token).ConfigureAwait(false))
                        {
                            await both.CancelAsync().ConfigureAwait(false);
                            return false;
                        }
                        full = n == buffer.Length;
                    }
                    while (full && bulk is null);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                if (full)
                {
                    // A read filled the buffer: a bulk transfer, whose rest goes through the pipe to its end.
                    return await bulk!(both.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // One side reset or the relay was aborted: the other direction must not wait on.
            await both.CancelAsync().ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>
    /// A download: the rest of the upstream's stream is moved to the sandbox through a kernel pipe
    /// (splice: no copy into the daemon). Each side's readiness is awaited with its own async
    /// operation: a zero-byte receive when the upstream has nothing, and, when the sandbox's socket is
    /// full, the pipe's bytes are taken out and sent with SendAsync, which waits for room.
    /// </summary>
    /// <returns>True at the upstream's end of stream (passed on as a half-close).</returns>
    private async Task<bool> SpliceDownAsync(CancellationToken token)
    {
        using var pipe = new SplicePipe();
        while (true)
        {
            token.ThrowIfCancellationRequested();
            var moved = pipe.FillFrom(upstream);
            if (moved < 0)
            {
                await upstream.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token).ConfigureAwait(false);
                continue;
            }
            while (pipe.Held > 0)
            {
                var sent = pipe.DrainTo(client);
                if (sent > 0)
                {
                    Interlocked.Add(ref _bytesIn, sent);
                    continue;
                }
                var room = ArrayPool<byte>.Shared.Rent(pipe.Held);
                try
                {
                    var taken = pipe.ReadInto(room);
                    await client.SendAsync(room.AsMemory(0, taken), SocketFlags.None, token).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesIn, taken);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(room);
                }
            }
            if (moved == 0)
            {
                client.Shutdown(SocketShutdown.Send);
                return true;
            }
        }
    }
}
