using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Hutch.Tests.Infrastructure;

/// <summary>Which of the test upstream servers a connection reached.</summary>
public enum UpstreamServer
{
    Http,
    Tcp,
    Https,
}

/// <summary>A connection an upstream server accepted: recorded at accept, before a byte is read, so a refused attempt that got through still shows.</summary>
public sealed record UpstreamConnection(UpstreamServer Server, IPEndPoint Peer, IPEndPoint Local);

/// <summary>
/// An HTTP(S) request an upstream server read: what the client (or a proxy) sent as Host and
/// Authorization, its body's framing fields, and the body as those framed it (null when it did not
/// arrive whole).
/// </summary>
public sealed record UpstreamHttpRequest(UpstreamServer Server, IPEndPoint Peer, string Method, string Target, string? Host, string? Authorization = null,
    string? ContentLength = null, string? TransferEncoding = null, byte[]? Body = null);

/// <summary>
/// The test upstream servers on sockets a caller created (in the upstream namespace), in this
/// process: plain accept loops, no hosting stack, so they start in microseconds. HTTP answers one
/// request per connection (<c>Connection: close</c>) so every request is one entry of
/// <see cref="Connections"/>; the TCP server speaks first (a banner), then echoes.
/// </summary>
internal sealed class UpstreamServers : IAsyncDisposable
{
    private const int MaxHead = 16 * 1024;
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource stop = new();
    private readonly List<Socket> listeners = [];
    private readonly List<Task> loops = [];
    private readonly ConcurrentDictionary<Socket, Task> open = new();
    private readonly ConcurrentQueue<UpstreamConnection> connections = new();
    private readonly ConcurrentQueue<UpstreamHttpRequest> requests = new();
    private readonly SslStreamCertificateContext certificate;
    private readonly ConcurrentDictionary<string, byte[]> files = new();
    private readonly ConcurrentDictionary<string, byte> published = new();

    public UpstreamServers(SslStreamCertificateContext certificate) => this.certificate = certificate;

    public IReadOnlyList<UpstreamConnection> Connections => [.. connections];

    public IReadOnlyList<UpstreamHttpRequest> Requests => [.. requests];

    /// <summary>
    /// Serves <paramref name="content"/> (path → bytes) under <paramref name="prefix"/> (<c>/simple/</c>, <c>/repo.git/</c>)
    /// on the HTTP and HTTPS ports: a package index or a git repository (dumb HTTP) as static files;
    /// any other path under the prefix is a 404.
    /// </summary>
    public void Publish(string prefix, IReadOnlyDictionary<string, byte[]> content)
    {
        published[prefix] = 0;
        foreach (var (path, bytes) in content)
        {
            files[prefix + path.TrimStart('/')] = bytes;
        }
    }

    public void Forget()
    {
        connections.Clear();
        requests.Clear();
    }

    /// <summary>Binds <paramref name="socket"/> to <paramref name="endpoint"/>, listens, and serves it as <paramref name="server"/> until disposed.</summary>
    public void Serve(Socket socket, IPEndPoint endpoint, UpstreamServer server)
    {
        listeners.Add(socket);
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = false;
        }
        socket.Bind(endpoint);
        socket.Listen(64);
        loops.Add(AcceptLoopAsync(socket, server));
    }

    private async Task AcceptLoopAsync(Socket listener, UpstreamServer server)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // a client that reset before we took it (ECONNABORTED): nothing to serve
            }
            connections.Enqueue(new UpstreamConnection(server, (IPEndPoint)client.RemoteEndPoint!, (IPEndPoint)client.LocalEndPoint!));
            // It starts once registered, so its own removal always comes after this, and runs on the pool, off this loop.
            var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open[client] = ServeOneAsync(client, server, registered.Task);
            registered.SetResult();
        }
    }

    private async Task ServeOneAsync(Socket client, UpstreamServer server, Task registered)
    {
        await registered;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        idle.CancelAfter(IdleLimit);
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            switch (server)
            {
                case UpstreamServer.Tcp:
                    await EchoAsync(stream, idle.Token);
                    break;
                case UpstreamServer.Http:
                    await AnswerHttpAsync(stream, client, server, idle.Token);
                    break;
                case UpstreamServer.Https:
                    await using (var tls = new SslStream(stream, leaveInnerStreamOpen: true))
                    {
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = certificate }, idle.Token);
                        await AnswerHttpAsync(tls, client, server, idle.Token);
                        await tls.ShutdownAsync(); // close_notify, so strict clients see a clean end
                    }
                    break;
            }
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // The client went away, refused our certificate, or we are stopping: its side reports that.
        }
        finally
        {
            client.Dispose();
            open.TryRemove(client, out _);
        }
    }

    private static async Task EchoAsync(Stream stream, CancellationToken cancel)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes(EgressUpstreams.Banner), cancel);
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancel)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read), cancel);
        }
    }

    /// <summary>
    /// Reads one request (its body too, answering <c>Expect: 100-continue</c> as a server does) and
    /// answers it: <c>GET /whoami</c> with what reached us (Host and peer),
    /// <c>GET /echo-auth</c> with the Authorization header it got,
    /// anything else with <c>upstream-ok PORT</c>; both also in X-Upstream-* headers.
    /// </summary>
    private async Task AnswerHttpAsync(Stream stream, Socket client, UpstreamServer server, CancellationToken cancel)
    {
        if (await ReadHeadAsync(stream, cancel) is not var (head, rest))
        {
            return;
        }
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3)
        {
            return;
        }
        string? Field(string name) => lines.Skip(1).Select(line => line.Split(':', 2))
            .FirstOrDefault(field => field.Length == 2 && field[0].Equals(name, StringComparison.OrdinalIgnoreCase))?[1].Trim();
        var host = Field("Host");
        var authorization = Field("Authorization");
        var peer = (IPEndPoint)client.RemoteEndPoint!;
        var local = (IPEndPoint)client.LocalEndPoint!;
        var (length, encoding) = (Field("Content-Length"), Field("Transfer-Encoding"));
        if (Field("Expect") is { } expect && expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), cancel);
        }
        var content = await UpstreamBodies.ReadAsync(stream, rest, length, encoding, cancel);
        requests.Enqueue(new UpstreamHttpRequest(server, peer, requestLine[0], requestLine[1], host, authorization, length, encoding, content));

        // "/./" is "/", as web servers take it: apt asks a flat repository (`deb URI ./`) for URI/./Release.
        var path = requestLine[1].Split('?')[0].Replace("/./", "/", StringComparison.Ordinal);
        if (published.Keys.FirstOrDefault(p => path.StartsWith(p, StringComparison.Ordinal)) is not null)
        {
            await AnswerFileAsync(stream, path, requestLine[0] == "HEAD", cancel);
            return;
        }
        var body = requestLine[1] switch
        {
            "/whoami" => $"host={host}\npeer={peer.Address}\n",
            "/echo-auth" => $"authorization={authorization}\n", // an upstream that quotes the credential back
            _ => $"upstream-ok {local.Port}\n",
        };
        var response = "HTTP/1.1 200 OK\r\n"
            + "Content-Type: text/plain\r\n"
            + $"Content-Length: {Encoding.ASCII.GetByteCount(body)}\r\n"
            + $"X-Upstream-Host: {host}\r\n"
            + $"X-Upstream-Peer: {peer.Address}\r\n"
            + "Connection: close\r\n\r\n"
            + (requestLine[0] == "HEAD" ? "" : body);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), cancel);
        await stream.FlushAsync(cancel);
    }

    /// <summary>A published file (an index page for a path ending in '/'), or a 404.</summary>
    private async Task AnswerFileAsync(Stream stream, string path, bool headOnly, CancellationToken cancel)
    {
        var found = files.TryGetValue(path, out var body);
        body ??= "not found\n"u8.ToArray();
        var type = path.EndsWith('/') ? "text/html" : path.EndsWith(".whl", StringComparison.Ordinal) || path.EndsWith(".deb", StringComparison.Ordinal) ? "application/octet-stream" : "text/plain";
        var head = $"HTTP/1.1 {(found ? "200 OK" : "404 Not Found")}\r\nContent-Type: {type}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancel);
        if (!headOnly)
        {
            await stream.WriteAsync(body, cancel);
        }
        await stream.FlushAsync(cancel);
    }

    /// <summary>The request head up to its blank line and the bytes read after it, or null when the client ended or sent more than <see cref="MaxHead"/> first.</summary>
    private static async Task<(string Head, byte[] After)?> ReadHeadAsync(Stream stream, CancellationToken cancel)
    {
        var buffer = new byte[MaxHead];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancel);
            if (read == 0)
            {
                return null;
            }
            length += read;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (Encoding.Latin1.GetString(buffer, 0, end), buffer[(end + 4)..length]);
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listeners.ForEach(listener => listener.Dispose());
        foreach (var client in open.Keys)
        {
            client.Dispose();
        }
        await Task.WhenAll([.. loops, .. open.Values]).WaitAsync(TimeSpan.FromSeconds(10));
        stop.Dispose();
    }
}
