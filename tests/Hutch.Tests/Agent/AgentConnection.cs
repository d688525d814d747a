using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Channels;
using Hutch.Protocol.Agent;

namespace Hutch.Tests.Agent;

/// <summary>How one exec ended, as seen on its channel.</summary>
public sealed record ExecOutcome(AgentError? Error, int Pid, byte[] Stdout, byte[] Stderr, ExecExited? Exited, TimeSpan Elapsed)
{
    public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    public string StderrText => System.Text.Encoding.UTF8.GetString(Stderr);
}

/// <summary>
/// The daemon's side of the control channel, for tests: frames are written with the shared
/// FrameWriter and JSON with the source-generated AgentJsonContext (so these tests also prove the
/// agent's hand-written JSON matches the daemon's), and a reader task sorts incoming frames by channel.
/// </summary>
public sealed class AgentConnection : IAsyncDisposable
{
    public static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(20);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameWriter _writer;
    private readonly ConcurrentDictionary<uint, Channel<Frame>> _channels = new();
    private readonly Task _reader;
    private int _nextChannel;

    private AgentConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _writer = new FrameWriter(_stream);
        _reader = Task.Run(ReadLoopAsync);
    }

    public static async Task<AgentConnection> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new AgentConnection(socket);
    }

    /// <summary>Completes when the agent closes the connection.</summary>
    public Task Closed => _reader;

    public uint NewChannel() => (uint)Interlocked.Increment(ref _nextChannel);

    public static ExecStart Command(params string[] argv) =>
        new(argv, new Dictionary<string, string> { ["PATH"] = "/usr/local/bin:/usr/bin:/bin", ["LC_ALL"] = "C" }, "/tmp", TimeoutMs: 30_000, MaxOutputBytes: 16 << 20, HasStdin: false);

    public static ExecStart Sh(string script) => Command("sh", "-c", script);

    public ValueTask SendAsync(FrameKind kind, uint channel, ReadOnlyMemory<byte> payload = default) =>
        _writer.WriteAsync(kind, channel, payload);

    public ValueTask SendExecAsync(uint channel, ExecStart request) =>
        _writer.WriteJsonAsync(FrameKind.ExecStart, channel, request, AgentJsonContext.Default.ExecStart);

    public ValueTask SendKillAsync(uint channel, int signal) =>
        _writer.WriteJsonAsync(FrameKind.Kill, channel, new ExecKill(signal), AgentJsonContext.Default.ExecKill);

    /// <summary>The next frame on a channel; fails the test after <see cref="FrameTimeout"/>.</summary>
    public async Task<Frame> NextAsync(uint channel, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? FrameTimeout);
        try
        {
            return await Frames(channel).ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no frame on channel {channel} within {timeout ?? FrameTimeout}");
        }
    }

    public async Task<AgentHello> PingAsync()
    {
        var channel = NewChannel();
        await SendAsync(FrameKind.Ping, channel);
        var frame = await NextAsync(channel);
        Assert.Equal(FrameKind.Pong, frame.Kind);
        return JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentHello)!;
    }

    /// <summary>Starts a command and returns its pid (or throws with the agent's error).</summary>
    public async Task<int> StartAsync(uint channel, ExecStart request)
    {
        await SendExecAsync(channel, request);
        var frame = await NextAsync(channel);
        if (frame.Kind == FrameKind.Error)
        {
            var error = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!;
            throw new InvalidOperationException($"agent refused the exec: {error.Code}: {error.Message}");
        }
        Assert.Equal(FrameKind.Started, frame.Kind);
        return JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecStarted)!.Pid;
    }

    /// <summary>Runs a command to the end: optional stdin (sent in 64 KiB frames, then StdinEof), all output, the exit.</summary>
    public async Task<ExecOutcome> RunAsync(ExecStart request, byte[]? stdin = null)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var channel = NewChannel();
        await SendExecAsync(channel, stdin is null ? request : request with { HasStdin = true });
        var first = await NextAsync(channel);
        if (first.Kind == FrameKind.Error)
        {
            return new ExecOutcome(JsonSerializer.Deserialize(first.Payload.Span, AgentJsonContext.Default.AgentError), 0, [], [], null, started.Elapsed);
        }
        Assert.Equal(FrameKind.Started, first.Kind);
        var pid = JsonSerializer.Deserialize(first.Payload.Span, AgentJsonContext.Default.ExecStarted)!.Pid;
        var feeding = stdin is null ? Task.CompletedTask : FeedAsync(channel, stdin);
        var outcome = await CollectAsync(channel, pid, started);
        await feeding;
        return outcome;
    }

    /// <summary>Reads a started exec's output until Exited.</summary>
    public async Task<ExecOutcome> CollectAsync(uint channel, int pid, System.Diagnostics.Stopwatch? started = null)
    {
        started ??= System.Diagnostics.Stopwatch.StartNew();
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        while (true)
        {
            var frame = await NextAsync(channel);
            switch (frame.Kind)
            {
                case FrameKind.Stdout:
                    Assert.InRange(frame.Payload.Length, 1, 64 * 1024);
                    stdout.Write(frame.Payload.Span);
                    break;
                case FrameKind.Stderr:
                    Assert.InRange(frame.Payload.Length, 1, 64 * 1024);
                    stderr.Write(frame.Payload.Span);
                    break;
                case FrameKind.Exited:
                    var exited = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.ExecExited);
                    return new ExecOutcome(null, pid, stdout.ToArray(), stderr.ToArray(), exited, started.Elapsed);
                default:
                    throw new InvalidOperationException($"unexpected frame {frame.Kind} on exec channel {channel}: {System.Text.Encoding.UTF8.GetString(frame.Payload.Span)}");
            }
        }
    }

    private async Task FeedAsync(uint channel, byte[] data)
    {
        for (var offset = 0; offset < data.Length; offset += 64 * 1024)
        {
            await SendAsync(FrameKind.Stdin, channel, data.AsMemory(offset, Math.Min(64 * 1024, data.Length - offset)));
        }
        await SendAsync(FrameKind.StdinEof, channel);
    }

    private ChannelReader<Frame> Frames(uint channel) =>
        _channels.GetOrAdd(channel, _ => Channel.CreateUnbounded<Frame>()).Reader;

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await FrameCodec.ReadAsync(_stream) is { } frame)
            {
                _channels.GetOrAdd(frame.Channel, _ => Channel.CreateUnbounded<Frame>()).Writer.TryWrite(frame);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        foreach (var channel in _channels.Values)
        {
            channel.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
        await _writer.DisposeAsync();
    }
}
