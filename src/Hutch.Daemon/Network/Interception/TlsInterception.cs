using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hutch.Daemon.Network.Inspect;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// A sandbox's TLS connection to one of its secrets' hosts, terminated by the daemon so placeholders
/// can become values: the sandbox's side is answered with a certificate from its own CA (ALPN
/// http/1.1 only: the framer reads HTTP/1), the upstream's side is TLS the daemon opens and checks
/// (<see cref="UpstreamTrust"/>). What the sandbox sends goes through a <see cref="RequestRewriter"/>
/// (Host and fronting checks as for plain HTTP, placeholders replaced in heads, and in bodies for
/// secrets that say so); what comes back has the values masked (<see cref="ResponseMasker"/>).
/// Nothing is buffered beyond one head or one read, but a body held for substitution (1 MiB at most).
/// </summary>
/// <param name="note">Told what the connection's event alone would not say, as it happens (a request body sent unchanged): a code and a message.</param>
internal sealed class TlsInterception(Socket client, Socket upstream, string host, SubstitutionTable table, X509Certificate2 certificate, UpstreamTrust trust,
    Action<string, string> note)
{
    private static readonly byte[] Continue = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];
    private const int BufferBytes = 64 * 1024;

    /// <summary>How long a response's held last bytes wait for more before they go out as they are.</summary>
    private const int HeldPauseMs = 20;
    private readonly CancellationTokenSource _abort = new();
    private readonly SemaphoreSlim _toClient = new(1, 1);
    private long _bytesOut, _bytesIn;

    public long BytesOut => Interlocked.Read(ref _bytesOut);
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    /// <summary>Why the connection was ended by the daemon (an error code and a message); null when it was not.</summary>
    public (string Code, string Message)? Refusal { get; private set; }

    /// <summary>Placeholders replaced in requests, values masked in responses.</summary>
    public (int Substituted, int Masked) Counts => (table.Substituted, _masked);

    private int _masked;

    public void Abort() => _abort.Cancel();

    /// <summary>Runs the connection until both sides end. True when both ended cleanly.</summary>
    /// <param name="hello">The sandbox's first bytes: a complete ClientHello (and anything after it).</param>
    public async Task<bool> RunAsync(ReadOnlyMemory<byte> hello, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        await using var clientTls = new SslStream(new Hutch.Files.Archives.PrefixedStream(hello, new NetworkStream(client, ownsSocket: false)));
        await using var upstreamTls = new SslStream(new NetworkStream(upstream, ownsSocket: false), false, trust.Validate);
        using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(linked.Token))
        {
            handshake.CancelAfter(TimeSpan.FromSeconds(10));
            // The upstream's handshake runs while the sandbox's does: it is what the program would have waited for anyway.
            var toUpstream = upstreamTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ApplicationProtocols = Http11,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, handshake.Token);
            try
            {
                await clientTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true),
                    ApplicationProtocols = Http11,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                }, handshake.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
            {
                _ = toUpstream.ContinueWith(t => t.Exception, TaskScheduler.Default);
                Refusal = (EgressCodes.SecretTls, $"the sandbox's TLS handshake with the daemon for {host} failed ({e.Message}); a client that offers only h2 cannot be intercepted");
                return false;
            }
            try
            {
                await toUpstream.ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
            {
                var why = $"{host}'s TLS certificate could not be verified, or its handshake failed ({e.Message}): no secret was sent";
                Refusal = (EgressCodes.UpstreamTls, why);
                await TryWriteAsync(clientTls, ProxyReplies.Failed(EgressCodes.UpstreamTls, why)).ConfigureAwait(false);
                return false;
            }
        }
        var up = PumpUpAsync(clientTls, upstreamTls, linked);
        var down = PumpDownAsync(upstreamTls, clientTls, linked);
        return await up.ConfigureAwait(false) & await down.ConfigureAwait(false);
    }

    /// <summary>Sandbox to upstream: framed, checked and rewritten request by request; after an Upgrade, passed on as it is.</summary>
    private async Task<bool> PumpUpAsync(SslStream from, SslStream to, CancellationTokenSource linked)
    {
        var check = new RequestRewriter(host, table);
        var framing = true;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        var output = new ArrayBufferWriter<byte>(BufferBytes);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer.AsMemory(0, BufferBytes), linked.Token).ConfigureAwait(false)) > 0)
            {
                Interlocked.Add(ref _bytesOut, n);
                if (!framing)
                {
                    await to.WriteAsync(buffer.AsMemory(0, n), linked.Token).ConfigureAwait(false);
                    continue;
                }
                output.ResetWrittenCount();
                var verdict = check.Push(buffer.AsSpan(0, n), output);
                foreach (var (code, message) in check.TakeNotes())
                {
                    note(code, message);
                }
                if (verdict.Refused is { } why)
                {
                    Refusal = (EgressCodes.Fronting, why);
                    await TryWriteAsync(from, verdict.Reply!).ConfigureAwait(false);
                    await linked.CancelAsync().ConfigureAwait(false);
                    return false;
                }
                if (check.TakeContinue())
                {
                    // The client waits for it before sending the body the daemon holds the head for.
                    // Written before the request goes on, so it comes before the upstream's answer.
                    await WriteAsync(from, Continue, linked.Token).ConfigureAwait(false);
                }
                framing = !verdict.Done;
                await to.WriteAsync(output.WrittenMemory, linked.Token).ConfigureAwait(false);
                if (output.Capacity > 2 * BufferBytes)
                {
                    output = new ArrayBufferWriter<byte>(BufferBytes); // a held body went out: a kept-alive connection does not keep its megabyte
                }
            }
            await to.ShutdownAsync().ConfigureAwait(false);
            upstream.Shutdown(SocketShutdown.Send);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            await linked.CancelAsync().ConfigureAwait(false);
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Upstream to sandbox, with the values masked.</summary>
    private async Task<bool> PumpDownAsync(SslStream from, SslStream to, CancellationTokenSource linked)
    {
        var masker = new ResponseMasker(table);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        var output = new ArrayBufferWriter<byte>(BufferBytes);
        try
        {
            while (true)
            {
                var read = from.ReadAsync(buffer.AsMemory(0, BufferBytes), linked.Token).AsTask();
                if (masker.Held > 0 && await Task.WhenAny(read, Task.Delay(HeldPauseMs, linked.Token)).ConfigureAwait(false) != read)
                {
                    // The upstream paused after what could start a value: it was the end of an answer.
                    output.ResetWrittenCount();
                    masker.Release(output);
                    await WriteAsync(to, output.WrittenMemory, linked.Token).ConfigureAwait(false);
                }
                var n = await read.ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                Interlocked.Add(ref _bytesIn, n);
                output.ResetWrittenCount();
                masker.Push(buffer.AsSpan(0, n), output);
                await WriteAsync(to, output.WrittenMemory, linked.Token).ConfigureAwait(false);
            }
            output.ResetWrittenCount();
            masker.Release(output);
            await WriteAsync(to, output.WrittenMemory, linked.Token).ConfigureAwait(false);
            _masked = masker.Masked;
            await to.ShutdownAsync().ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _masked = masker.Masked;
            await linked.CancelAsync().ConfigureAwait(false);
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One writer at a time on the sandbox's side: the response pump, or a refusal.</summary>
    private async Task WriteAsync(SslStream to, ReadOnlyMemory<byte> bytes, CancellationToken token)
    {
        await _toClient.WaitAsync(token).ConfigureAwait(false);
        try
        {
            await to.WriteAsync(bytes, token).ConfigureAwait(false);
        }
        finally
        {
            _toClient.Release();
        }
    }

    /// <summary>An answer the daemon gives inside the sandbox's TLS (a 403, a 502) before it closes; best effort.</summary>
    private async Task TryWriteAsync(SslStream to, byte[] reply)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await WriteAsync(to, reply, timeout.Token).ConfigureAwait(false);
            await to.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The program is gone: the event says what happened.
        }
    }

    /// <summary>
    /// Reads the sandbox's first bytes until a ClientHello is whole (10 s, 64 KiB at most), after
    /// <paramref name="early"/> (what a proxy request already read). Returns everything read, and
    /// the server name when it is a complete hello; <c>IsTls</c> false for anything else.
    /// </summary>
    public static async Task<(byte[] Bytes, bool IsTls, string? ServerName)> ReadHelloAsync(Socket client, ReadOnlyMemory<byte> early, CancellationToken stopping)
    {
        var seen = new List<byte>(early.ToArray());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seen);
            if (span.Length > 0)
            {
                if (!TlsClientHello.LooksLikeTls(span))
                {
                    return ([.. seen], false, null);
                }
                var state = TlsClientHello.Read(span, out var name);
                if (state != HelloState.NeedMore)
                {
                    return ([.. seen], state == HelloState.Complete, name);
                }
            }
            int n;
            try
            {
                n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                n = 0;
            }
            if (n == 0)
            {
                return ([.. seen], false, null);
            }
            seen.AddRange(buffer.AsSpan(0, n));
        }
    }
}
