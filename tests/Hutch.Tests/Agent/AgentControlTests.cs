using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;

namespace Hutch.Tests.Agent;

/// <summary>The agent as a server: handshake, bad input, signals aimed at it, who may connect.</summary>
[Collection(AgentCollection.Name)]
public sealed class AgentControlTests(AgentFixture agent)
{
    [Fact]
    public async Task Ping_RepliesWithVersionPidAndUptime()
    {
        await using var connection = await agent.ConnectAsync();

        var hello = await connection.PingAsync();

        Assert.False(string.IsNullOrEmpty(hello.Version));
        Assert.Equal(agent.Pid, hello.Pid);
        Assert.True(hello.UptimeMs >= 0);
    }

    [Fact]
    public async Task UnknownFrameKind_RepliesUnknownFrame()
    {
        await using var connection = await agent.ConnectAsync();
        var channel = connection.NewChannel();

        await connection.SendAsync((FrameKind)0x7E, channel, new byte[] { 1, 2, 3 });

        Assert.Equal("unknown_frame", await ErrorCodeAsync(connection, channel));
        Assert.NotNull(await connection.PingAsync());
    }

    [Theory]
    [InlineData(FrameKind.ExecStart, "{not json")]
    [InlineData(FrameKind.ExecStart, "[1,2]")]
    [InlineData(FrameKind.ExecStart, "{\"argv\": 5}")]
    [InlineData(FrameKind.ExecStart, "{\"argv\": []}")]
    [InlineData(FrameKind.ProcessStart, "{\"id\": \"p-1\", \"argv\": [\"true\"], \"terminal\": 5}")]
    [InlineData(FrameKind.ProcessStart, "{\"id\": 7}")]
    [InlineData(FrameKind.Kill, "{\"signal\": \"nine\"}")]
    [InlineData(FrameKind.Kill, "{\"signal\": 0}")]
    public async Task MalformedPayload_RepliesBadRequest(FrameKind kind, string payload)
    {
        await using var connection = await agent.ConnectAsync();
        var channel = connection.NewChannel();

        await connection.SendAsync(kind, channel, Encoding.UTF8.GetBytes(payload));

        Assert.Equal("bad_request", await ErrorCodeAsync(connection, channel));
        Assert.NotNull(await connection.PingAsync());
    }

    [Fact]
    public async Task OversizedFrame_ClosesOnlyThatConnection()
    {
        await using var bystander = await agent.ConnectAsync();
        await using var offender = await agent.ConnectAsync();
        var header = new byte[FrameCodec.HeaderSize];
        BitConverter.TryWriteBytes(header, (uint)FrameCodec.MaxPayload + 1);

        await offender.SendAsync(FrameKind.Stdin, 1, new byte[1]); // a valid frame first
        using (var raw = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            await raw.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(agent.SocketPath));
            await raw.SendAsync(header);
            var read = await raw.ReceiveAsync(new byte[16].AsMemory()).AsTask().WaitAsync(AgentConnection.FrameTimeout);
            Assert.Equal(0, read); // the agent hung up on it
        }

        Assert.NotNull(await bystander.PingAsync());
        Assert.NotNull(await offender.PingAsync());
    }

    [Fact]
    public async Task ExecStart_AcceptsWhatTheDaemonSerializes()
    {
        await using var connection = await agent.ConnectAsync();
        // Names matched case-insensitively and unknown properties ignored, as with JsonSerializerDefaults.Web.
        var payload = """{"Argv":["sh","-c","echo $X"],"ENV":{"X":"y","PATH":"/usr/bin:/bin"},"cwd":"/","timeoutMs":"5000","maxOutputBytes":100,"hasStdin":false,"future":{"a":[1]}}""";
        var channel = connection.NewChannel();

        await connection.SendAsync(FrameKind.ExecStart, channel, Encoding.UTF8.GetBytes(payload));
        var started = await connection.NextAsync(channel);
        var outcome = await connection.CollectAsync(channel, 0);

        Assert.Equal(FrameKind.Started, started.Kind);
        Assert.Equal("y\n", outcome.StdoutText);
    }

    /// <summary>
    /// What kind of start a frame is comes from its kind, never from which fields are set: the fields
    /// of a durable or terminal start on an ExecStart are ignored, and it runs as a one-shot command.
    /// </summary>
    [Fact]
    public async Task AnExecStart_WithProcessFields_IsStillAOneShotCommand()
    {
        await using var connection = await agent.ConnectAsync();
        var payload = """{"argv":["sh","-c","echo one-shot; tty || true"],"env":{"PATH":"/usr/bin:/bin"},"cwd":"/","processId":"p-x","ptyCols":80,"ptyRows":24,"terminal":{"cols":80,"rows":24}}""";
        var channel = connection.NewChannel();

        await connection.SendAsync(FrameKind.ExecStart, channel, Encoding.UTF8.GetBytes(payload));
        var started = await connection.NextAsync(channel);
        var outcome = await connection.CollectAsync(channel, 0);

        Assert.Equal(FrameKind.Started, started.Kind);
        Assert.Equal("one-shot\nnot a tty\n", outcome.StdoutText);
    }

    [Fact]
    public async Task StdinAndKill_ForUnknownChannel_AreIgnored()
    {
        await using var connection = await agent.ConnectAsync();

        await connection.SendAsync(FrameKind.Stdin, 999_999, new byte[] { 1 });
        await connection.SendAsync(FrameKind.StdinEof, 999_999);
        await connection.SendKillAsync(999_999, Processes.SIGKILL);

        Assert.NotNull(await connection.PingAsync());
    }

    [Fact]
    public async Task ExecStart_OnBusyChannel_IsRefused()
    {
        await using var connection = await agent.ConnectAsync();
        var channel = connection.NewChannel();
        var pid = await connection.StartAsync(channel, AgentConnection.Command("sleep", "1000"));

        await connection.SendExecAsync(channel, AgentConnection.Command("true"));

        Assert.Equal("bad_request", await ErrorCodeAsync(connection, channel));
        await connection.SendKillAsync(channel, Processes.SIGKILL);
        var outcome = await connection.CollectAsync(channel, pid);
        Assert.Equal(Processes.SIGKILL, outcome.Exited!.Signal);
    }

    [Fact]
    public async Task Agent_IgnoresTerminationSignals()
    {
        foreach (var signal in new[] { Processes.SIGTERM, Processes.SIGINT, Processes.SIGHUP, Processes.SIGQUIT })
        {
            Processes.Signal(agent.Pid, signal);
        }
        await Task.Delay(100);

        await using var connection = await agent.ConnectAsync();
        Assert.NotNull(await connection.PingAsync());
        Assert.True(agent.IsRunning);
    }

    [Fact]
    public async Task Agent_AsPid1_RefusesPeersInsideItsPidNamespace()
    {
        await using var pid1 = await Pid1Agent.StartAsync();
        if (pid1 is null)
        {
            return; // needs root (CLONE_NEWPID) and python3 as the in-namespace client
        }
        await using var outside = await AgentConnection.ConnectAsync(pid1.SocketPath);

        var hello = await outside.PingAsync();
        // A peer inside the namespace connects, pings and reads until the agent hangs up.
        // It prints how many bytes of a Pong it got: 0 when the agent hung up on it.
        var probe = $"""
            import socket
            s = socket.socket(socket.AF_UNIX)
            s.connect('{pid1.SocketPath}')
            try:
                s.sendall(bytes([0, 0, 0, 0, 1, 0, 0, 0, 1]))
                print(len(s.recv(100)))
            except OSError:
                print(0)
            """;
        var inside = await outside.RunAsync(AgentConnection.Command("/usr/bin/python3", "-c", probe));

        Assert.Equal(1, hello.Pid);
        Assert.True(inside.StdoutText == "0\n", $"a peer inside the namespace was answered: {inside.StdoutText}{inside.StderrText}");
        Assert.Contains("refused connection", pid1.Log);
    }

    [Fact]
    public async Task Agent_AsPid1_SurvivesEverySignalSentFromInside()
    {
        await using var pid1 = await Pid1Agent.StartAsync();
        if (pid1 is null)
        {
            return;
        }
        await using var connection = await AgentConnection.ConnectAsync(pid1.SocketPath);
        const string signals = "TERM INT HUP QUIT USR1 USR2 SEGV BUS FPE ILL ABRT PIPE ALRM TSTP TTIN TTOU STOP 34 35 64";

        var sent = await connection.RunAsync(AgentConnection.Sh($"for s in {signals}; do kill -$s 1 || exit 1; done; sleep 0.2; kill -CONT 1"));
        var after = await connection.RunAsync(AgentConnection.Sh("echo alive"));

        Assert.Equal(0, sent.Exited!.ExitCode);
        Assert.Equal("alive\n", after.StdoutText);
        Assert.Equal(1, (await connection.PingAsync()).Pid);
    }

    /// <summary>
    /// The agent as pid 1 of a fresh PID namespace (what runc gives it), without a container:
    /// `unshare --pid --fork --mount-proc`. Null when this host cannot (not root, no python3).
    /// </summary>
    private sealed class Pid1Agent : IAsyncDisposable
    {
        private readonly StringBuilder _log = new();
        private readonly string _dir = Hutch.Tests.Infrastructure.TestPaths.NewTempDir("hutch-pid1");
        private Process? _process;

        public string SocketPath => Path.Join(_dir, "agent.sock");

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static async Task<Pid1Agent?> StartAsync()
        {
            if (Environment.UserName != "root" || !File.Exists("/usr/bin/unshare") || !File.Exists("/usr/bin/python3"))
            {
                return null;
            }
            var agent = new Pid1Agent();
            var binary = await AgentBinary.EnsureAsync();
            agent._process = AgentFixture.StartAgent("/usr/bin/unshare", ["--pid", "--fork", "--kill-child", "--mount-proc", binary, "--listen", agent.SocketPath], agent._log);
            await AgentFixture.WaitForSocketAsync(agent.SocketPath, agent._process);
            return agent;
        }

        public async ValueTask DisposeAsync()
        {
            if (_process is not null)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
                _process.Dispose();
            }
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static async Task<string> ErrorCodeAsync(AgentConnection connection, uint channel)
    {
        var frame = await connection.NextAsync(channel);
        Assert.Equal(FrameKind.Error, frame.Kind);
        var error = JsonSerializer.Deserialize(frame.Payload.Span, AgentJsonContext.Default.AgentError)!;
        Assert.False(string.IsNullOrEmpty(error.Message));
        return error.Code;
    }
}
