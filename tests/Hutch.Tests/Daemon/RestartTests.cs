using System.Diagnostics;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>Sandboxes outlive their daemon: a daemon killed with SIGKILL and started again re-adopts them.</summary>
public class RestartTests
{
    [Fact]
    public async Task DaemonKilledWith9_AndRestarted_ReadoptsRunningSandboxes_AndMarksLostOnes()
    {
        var dataDir = TestPaths.NewTempDir("hutch-r");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            using var client = await ConnectAsync(dataDir, port);
            var survivor = await client.CreateSandboxAsync(new CreateSandboxRequest(Name: "survivor"));
            var victim = await client.CreateSandboxAsync();
            await client.ExecAsync(survivor.Id, new ExecRequest(Command: "echo before > state; (sleep 300 &)"));

            daemon.Kill(); // SIGKILL: no shutdown code runs
            await WaitForExitAsync(daemon);
            // While no daemon runs, one sandbox loses its init (as if the host killed it).
            KillSandboxInit(dataDir, victim.Id);

            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);
            var result = await again.ExecAsync("survivor", new ExecRequest(Command: "cat state; pgrep -c sleep"));
            var lost = await again.GetSandboxAsync(victim.Id);

            Assert.Equal("before\n1\n", result.Stdout);
            Assert.Equal(SandboxStates.Running, (await again.GetSandboxAsync("survivor")).State);
            Assert.Equal(SandboxStates.Lost, lost.State);
            var error = await Assert.ThrowsAsync<HutchApiException>(() => again.ExecAsync(victim.Id, "true"));
            Assert.Equal(ErrorCodes.SandboxNotRunning, error.Code);

            await again.DeleteSandboxAsync(survivor.Id);
            await again.DeleteSandboxAsync(victim.Id);
            Assert.Empty(HostInspector.CgroupDirsOf(survivor.Id));
            Assert.Empty(HostInspector.CgroupDirsOf(victim.Id));
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task Secrets_KeepWorkingAcrossADaemonKilledWith9_AndWhatAServicePrintedMeanwhileIsRedacted()
    {
        var dataDir = TestPaths.NewTempDir("hutch-s");
        var port = FreePort();
        var daemonLog = new System.Text.StringBuilder();
        var daemon = StartDaemon(dataDir, port, daemonLog);
        var value = $"sk-restart-{Guid.NewGuid():N}";
        try
        {
            using var client = await ConnectAsync(dataDir, port);
            await client.CreateSecretAsync(new CreateSecretRequest("RESTART_KEY", value));
            var sandbox = await client.CreateSandboxAsync(new CreateSandboxRequest(Secrets: [new SecretUse("RESTART_KEY", Env: "KEY")]));
            // The service prints the value once the daemon is gone: the agent writes it to the log meanwhile.
            await client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("printer", Command: "sleep 1; echo \"svc=$KEY\"; sleep 300"));
            // So does an exec the agent carries on as a background process when its daemon dies.
            var orphan = client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo started; sleep 1.5; echo \"exec=$KEY\"; sleep 300"));
            while (HostInspector.ProcessesWithCommandLine("sleep\01.5").Count == 0)
            {
                await Task.Delay(20);
            }

            daemon.Kill();
            await WaitForExitAsync(daemon);
            await Task.Delay(1500); // the service prints while no daemon runs
            daemon = StartDaemon(dataDir, port, daemonLog);
            using var again = await ConnectAsync(dataDir, port);
            ServiceLogs logs;
            var waited = Stopwatch.StartNew();
            do
            {
                await Task.Delay(50);
                logs = await again.ServiceLogsAsync(sandbox.Id, "printer");
            }
            while (!logs.Stdout.Contains("svc=", StringComparison.Ordinal) && waited.Elapsed < TimeSpan.FromSeconds(20));
            var exec = await again.ExecAsync(sandbox.Id, new ExecRequest(Command: $"test \"$KEY\" = '{value}' && echo \"same $KEY\""));
            var adopted = (await again.ListProcessesAsync(sandbox.Id)).Single(p => p.Origin == Hutch.Protocol.Agent.ProcessOrigins.Exec);
            var adoptedLog = (await again.ReadProcessLogsAsync(sandbox.Id, adopted.Id)).Stdout;
            await Assert.ThrowsAnyAsync<Exception>(() => orphan);

            Assert.Equal("svc=[REDACTED:RESTART_KEY]\n", logs.Stdout);
            Assert.Equal("same [REDACTED:RESTART_KEY]\n", exec.Stdout);
            Assert.Equal("exec=[REDACTED:RESTART_KEY]\n", adoptedLog);
            // The agent redacted both logs before writing them: the value is nowhere in the data dir.
            Assert.Empty(HostInspector.FilesHolding(dataDir, value));
            lock (daemonLog)
            {
                Assert.DoesNotContain(value, daemonLog.ToString(), StringComparison.Ordinal);
            }
            await again.DeleteSandboxAsync(sandbox.Id);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task BackgroundProcesses_OutliveADaemonKilledWith9_WithTheirWholeLogAndRealExitCodes()
    {
        var dataDir = TestPaths.NewTempDir("hutch-p");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            string sandbox, spanning, during;
            using (var client = await ConnectAsync(dataDir, port))
            {
                sandbox = (await client.CreateSandboxAsync()).Id;
                // One runs across the restart, one ends while no daemon runs; the client that started them is gone too.
                spanning = (await client.StartProcessAsync(sandbox, new StartProcessRequest(Command: "echo before; sleep 2; echo after >&2; exit 42"))).Id;
                during = (await client.StartProcessAsync(sandbox, new StartProcessRequest(Command: "sleep 0.3; echo quick; exit 3", Name: "quick"))).Id;
            }

            daemon.Kill();
            await WaitForExitAsync(daemon);
            await Task.Delay(500);
            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);

            var first = await again.WaitProcessAsync(sandbox, spanning, TimeSpan.FromSeconds(30));
            var second = await again.GetProcessAsync(sandbox, "quick");
            var events = new List<LogEvent>();
            await foreach (var e in again.StreamProcessLogsAsync(sandbox, spanning, cursor: 0))
            {
                events.Add(e);
            }
            var quickLogs = await again.ReadProcessLogsAsync(sandbox, during);

            Assert.Equal((ProcessStates.Exited, 42), (first.State, first.ExitCode));
            Assert.Equal((ProcessStates.Exited, 3), (second.State, second.ExitCode));
            Assert.Equal(["stdout:before\n", "stderr:after\n", "exit:"],
                events.Select(e => $"{e.Type}:{e switch { LogStdoutEvent o => System.Text.Encoding.UTF8.GetString(o.Data.Span), LogStderrEvent o => System.Text.Encoding.UTF8.GetString(o.Data.Span), _ => "" }}"));
            Assert.Equal(42, Assert.IsType<LogExitEvent>(events[^1]).Process.ExitCode);
            Assert.Equal("quick\n", quickLogs.Stdout);

            await again.DeleteSandboxAsync(sandbox);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    /// <summary>
    /// The attack review's case: a sync exec's `sleep 601` kept running after the daemon restarted, with
    /// no API object to list or stop it. Now each exec cut off by its daemon carries on as a background
    /// process (origin "exec"), which the next daemon lists, reports in its log and the sandbox's
    /// events, and can kill.
    /// </summary>
    [Theory]
    [InlineData("KILL")]
    [InlineData("TERM")]
    public async Task ExecsCutOffByTheDaemonStopping_CarryOnAsBackgroundProcesses_ThatTheNextDaemonReportsAndCanKill(string signal)
    {
        var dataDir = TestPaths.NewTempDir("hutch-x");
        var port = FreePort();
        var log = new System.Text.StringBuilder();
        var daemon = StartDaemon(dataDir, port, log);
        try
        {
            string sandbox;
            Task syncExec, streamedExec;
            var client = await ConnectAsync(dataDir, port);
            sandbox = (await client.CreateSandboxAsync()).Id;
            syncExec = client.ExecAsync(sandbox, new ExecRequest(Command: "sleep 601", TimeoutMs: 600_000));
            streamedExec = Task.Run(async () =>
            {
                await foreach (var _ in client.ExecStreamAsync(sandbox, new ExecRequest(Command: "echo before; sleep 8; echo after; exit 7")))
                {
                }
            });
            await WaitUntilAsync(async () => (await client.ExecAsync(sandbox, new ExecRequest(Command: "pgrep -x sleep | wc -l"))).Stdout == "2\n");

            Hutch.Linux.Processes.Signal(daemon.Id, signal == "KILL" ? 9 : Hutch.Linux.Processes.SIGTERM);
            Assert.True(await WaitForExitAsync(daemon));
            await Assert.ThrowsAnyAsync<Exception>(() => syncExec);
            await Assert.ThrowsAnyAsync<Exception>(() => streamedExec);
            client.Dispose();
            daemon = StartDaemon(dataDir, port, log);
            using var again = await ConnectAsync(dataDir, port);

            var adopted = (await again.ListProcessesAsync(sandbox)).Where(p => p.Origin == "exec").ToList();
            Assert.Equal(2, adopted.Count);
            var sleeper = Assert.Single(adopted, p => p.Argv[^1] == "sleep 601");
            var short_ = Assert.Single(adopted, p => p.Argv[^1].StartsWith("echo before", StringComparison.Ordinal));
            Assert.Equal(ProcessStates.Running, sleeper.State);
            Assert.Equal($"exec-{sleeper.Pid}", sleeper.Name);
            var ended = await again.WaitProcessAsync(sandbox, short_.Id, TimeSpan.FromSeconds(30));
            Assert.Equal((ProcessStates.Exited, 7), (ended.State, ended.ExitCode));
            Assert.Equal("after\n", (await again.ReadProcessLogsAsync(sandbox, short_.Id)).Stdout);

            await again.KillProcessAsync(sandbox, sleeper.Id);
            Assert.Equal(ProcessStates.Killed, (await again.WaitProcessAsync(sandbox, sleeper.Id, TimeSpan.FromSeconds(10))).State);
            Assert.Equal("0\n", (await again.ExecAsync(sandbox, new ExecRequest(Command: "pgrep -x sleep | wc -l"))).Stdout);

            var events = await again.GetEventsAsync(sandbox);
            Assert.Contains(events, e => e.Type == SandboxEventTypes.Adopted);
            Assert.Equal([.. adopted.Select(p => p.Id).Order()],
                events.Where(e => e.Type == SandboxEventTypes.CommandAdopted).Select(e => e.ProcessId!).Order().ToList());
            Assert.Contains($"carries on as background process {sleeper.Id}", Logged(log));

            await again.DeleteSandboxAsync(sandbox);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private static string Logged(System.Text.StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 200; i++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail("the condition never held within 10 s");
    }

    [Fact]
    public async Task Services_AreSupervisedAgain_ByTheNextDaemon()
    {
        var dataDir = TestPaths.NewTempDir("hutch-s");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            string sandbox;
            using (var client = await ConnectAsync(dataDir, port))
            {
                sandbox = (await client.CreateSandboxAsync()).Id;
                await client.CreateServiceAsync(sandbox, new CreateServiceRequest("steady", Command: "exec sleep 1000"));
                // Becomes ready only after the daemon died: the next daemon must go on probing it.
                await client.CreateServiceAsync(sandbox, new CreateServiceRequest("late", Command: "sleep 1.5; touch /tmp/up; exec sleep 1000",
                    Probe: new ProbeSpec(ProbeTypes.File, Path: "/tmp/up", IntervalMs: 50)));
            }

            daemon.Kill();
            await WaitForExitAsync(daemon);
            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);

            var late = await again.WaitServiceAsync(sandbox, "late", TimeSpan.FromSeconds(30));
            var stopped = await again.StopServiceAsync(sandbox, "steady");

            Assert.Equal(ServiceStates.Ready, late.State);
            Assert.Equal((ServiceStates.Stopped, StopReasons.StoppedBySigterm), (stopped.State, stopped.StopReason));
            await again.DeleteSandboxAsync(sandbox);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task Shells_OutliveADaemonKilledWith9_AndAreAttachedAgainWithTheirStateSizeAndOutput()
    {
        var dataDir = TestPaths.NewTempDir("hutch-s");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            string sandbox, shell;
            using (var client = await ConnectAsync(dataDir, port))
            {
                sandbox = (await client.CreateSandboxAsync()).Id;
                shell = (await client.OpenShellAsync(sandbox, new OpenShellRequest(Name: "tab"))).Id;
                var screen = new Hutch.Tests.Shells.ShellScreen(client, sandbox, shell);
                await screen.TypeAsync("export KEPT=yes; echo typed-$((1+1))\r");
                await screen.WaitForAsync("typed-2");
                await client.ResizeShellAsync(sandbox, shell, 110, 35);
            }

            daemon.Kill();
            await WaitForExitAsync(daemon);
            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);

            var found = await again.GetShellAsync(sandbox, "tab");
            var seen = new System.Text.StringBuilder();
            await using (var terminal = await again.AttachShellAsync(sandbox, shell))
            {
                await terminal.SendInputAsync("echo $KEPT-after\r");
                await terminal.SendInputAsync("exit 4\r");
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while (await terminal.ReadAsync(patience.Token) is { } e)
                {
                    if (e is ShellOutputEvent o)
                    {
                        seen.Append(System.Text.Encoding.UTF8.GetString(o.Data.Span));
                    }
                }
                Assert.Equal(new ShellExitEvent(4, null), terminal.Exit);
            }

            Assert.Equal((ProcessStates.Running, new TerminalSize(110, 35)), (found.State, found.Terminal));
            Assert.Contains("typed-2", seen.ToString());
            Assert.Contains("yes-after", seen.ToString());
            await again.DeleteSandboxAsync(sandbox);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task InProcessRun_WithKeep_HandsTheSandboxToTheNextDaemon()
    {
        var dataDir = TestPaths.NewTempDir("hutch-k");
        var port = FreePort();
        var options = new Hutch.Daemon.HutchOptions { DataDir = dataDir, AgentPath = TestPaths.Agent };
        string id;
        await using (var engine = await Hutch.Daemon.SandboxEngine.OpenInProcessAsync(options))
        {
            id = (await engine.CreateAsync(new CreateSandboxRequest(Name: "kept"))).Id;
            await engine.ExecAsync(id, new ExecRequest(Command: "echo made-in-run > f"));
            await engine.KeepAsync(id);
        }
        var daemon = StartDaemon(dataDir, port);
        try
        {
            using var client = await ConnectAsync(dataDir, port);

            var result = await client.ExecAsync("kept", new ExecRequest(Command: "cat f"));
            // Kept while this daemon already runs: it adopts the sandbox at its first use.
            string later;
            await using (var engine = await Hutch.Daemon.SandboxEngine.OpenInProcessAsync(options))
            {
                later = (await engine.CreateAsync(new CreateSandboxRequest(Name: "kept-later"))).Id;
                await engine.KeepAsync(later);
            }
            var laterResult = await client.ExecAsync("kept-later", new ExecRequest(Command: "hostname"));

            Assert.Equal("made-in-run\n", result.Stdout);
            Assert.Equal(later + "\n", laterResult.Stdout);
            Assert.Equal(SandboxStates.Running, (await client.GetSandboxAsync("kept-later")).State);
            await client.DeleteSandboxAsync(id);
            await client.DeleteSandboxAsync(later);
            Assert.Empty(HostInspector.CgroupDirsOf(id));
            Assert.Empty(HostInspector.CgroupDirsOf(later));
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    /// <summary>
    /// Issue #8, item 14: an upload and an import in flight when the daemon is killed. Their temp file
    /// and staging directory are never in the workspace (the sandbox sees nothing of them while they
    /// run), and the next daemon removes them.
    /// </summary>
    [Fact]
    public async Task ADaemonKilledMidUploadAndMidImport_LeavesNothingInTheWorkspace_AndTheNextDaemonRemovesItsStaging()
    {
        var dataDir = TestPaths.NewTempDir("hutch-u");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            using var client = await ConnectAsync(dataDir, port);
            var sandbox = (await client.CreateSandboxAsync()).Id;
            var workspace = Path.Join(dataDir, "workspaces", sandbox, "workspace");
            var staging = Path.Join(dataDir, "workspaces", sandbox, "staging");
            _ = client.UploadAsync(sandbox, "up.bin", new StallingStream(new byte[4 << 20]));
            _ = client.ImportAsync(sandbox, "imp", new StallingStream(PartialTar()));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (InFlight(workspace, staging) < 2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.Equal(2, InFlight(workspace, staging));
            var seenInside = (await client.ExecAsync(sandbox, new ExecRequest(Command: "ls -A /workspace"))).Stdout;

            daemon.Kill();
            await WaitForExitAsync(daemon);
            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);

            Assert.Equal("", seenInside);
            Assert.Empty(Directory.GetFileSystemEntries(workspace));
            Assert.False(Directory.Exists(staging) && Directory.EnumerateFileSystemEntries(staging).Any(), "the next daemon left the staging of a killed one");
            await again.DeleteSandboxAsync(sandbox);
        }
        finally
        {
            await StopAsync(daemon);
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    /// <summary>Entries an upload or import in progress has made, wherever they are (beside the target, or staged outside).</summary>
    private static int InFlight(string workspace, string staging) =>
        Directory.GetFileSystemEntries(workspace, ".hutch-*").Length + (Directory.Exists(staging) ? Directory.GetFileSystemEntries(staging).Length : 0);

    /// <summary>A tar with one whole member and half of a second one (1 MiB announced).</summary>
    private static byte[] PartialTar()
    {
        using var tar = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(tar, leaveOpen: true))
        {
            writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "first.txt") { DataStream = new MemoryStream("x"u8.ToArray()) });
            writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "big.bin") { DataStream = new MemoryStream(new byte[1 << 20]) });
        }
        return tar.ToArray()[..(int)(tar.Length / 2)];
    }

    /// <summary>A request body that sends its bytes and then never ends, like a client that stalled.</summary>
    private sealed class StallingStream(byte[] head) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == head.Length)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            var n = Math.Min(buffer.Length, head.Length - _position);
            head.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A clean stop (SIGTERM): the daemon deletes its warm pool, so the test leaves nothing running.</summary>
    private static async Task StopAsync(Process daemon)
    {
        if (!daemon.HasExited)
        {
            Hutch.Linux.Processes.Signal(daemon.Id, Hutch.Linux.Processes.SIGTERM);
            if (!await WaitForExitAsync(daemon))
            {
                daemon.Kill();
                await WaitForExitAsync(daemon);
            }
        }
    }

    /// <summary>
    /// Waits (30 s at most) for the daemon process itself to end. Not Process.WaitForExitAsync: that
    /// also waits for end of file on the redirected output, which any process still holding the pipe
    /// delays without limit (a CI run once hung in this collection with nothing left running).
    /// </summary>
    private static Task<bool> WaitForExitAsync(Process daemon) => Task.Run(() => daemon.WaitForExit(TimeSpan.FromSeconds(30)));

    private static Process StartDaemon(string dataDir, int port, System.Text.StringBuilder? log = null)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        var process = Process.Start(psi)!;
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (log is not null && e.Data is not null)
            {
                lock (log)
                {
                    log.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<HutchClient> ConnectAsync(string dataDir, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var keyFile = Path.Join(dataDir, "api-key");
            if (File.Exists(keyFile))
            {
                var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), (await File.ReadAllTextAsync(keyFile)).Trim());
                try
                {
                    await client.HealthAsync();
                    return client;
                }
                catch (HutchApiException) when (DateTime.UtcNow < deadline)
                {
                    client.Dispose();
                }
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the daemon did not answer within 30 s");
            }
            await Task.Delay(100);
        }
    }

    private static void KillSandboxInit(string dataDir, string id)
    {
        var state = File.ReadAllText(Path.Join(dataDir, "runc", id, "state.json"));
        var pid = System.Text.Json.JsonDocument.Parse(state).RootElement.GetProperty("init_process_pid").GetInt32();
        Process.GetProcessById(pid).Kill();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
