using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Background;

[Collection(DaemonCollection.Name)]
public class BackgroundProcessTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task Start_RunsInTheBackground_ThenWaitGivesTheRealExitAndLogsKeepBothStreams()
    {
        await using var sandbox = await fixture.CreateAsync();

        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "echo out; echo err >&2; sleep 0.3; exit 7", Name: "job"));
        Assert.Equal(ProcessStates.Running, started.State);
        Assert.StartsWith("p-", started.Id);
        Assert.True(started.Pid > 1);

        var ended = await Client.WaitProcessAsync(sandbox.Id, "job", TimeSpan.FromSeconds(20));
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id);

        Assert.Equal(ProcessStates.Exited, ended.State);
        Assert.Equal(7, ended.ExitCode);
        Assert.NotNull(ended.EndedAt);
        Assert.Equal("out\n", logs.Stdout);
        Assert.Equal("err\n", logs.Stderr);
        Assert.Equal(ended.LogBytes, logs.Cursor);
        Assert.False(logs.More);
    }

    [Fact]
    public async Task Logs_ReplayFromAnyCursorTheyGave_AndAFollowSeesOutputAsItIsWritten()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "for i in 1 2 3; do echo line$i; sleep 0.2; done", Name: "counter"));

        var seen = new List<LogEvent>();
        await foreach (var e in Client.StreamProcessLogsAsync(sandbox.Id, started.Id))
        {
            seen.Add(e);
        }
        var text = string.Concat(seen.OfType<LogStdoutEvent>().Select(e => Encoding.UTF8.GetString(e.Data.Span)));
        var afterFirst = seen.First(e => e.Type == LogEventTypes.Stdout).Cursor;
        var replay = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id, cursor: afterFirst);

        Assert.Equal("line1\nline2\nline3\n", text);
        Assert.Equal(LogEventTypes.Exit, seen[^1].Type);
        Assert.Equal(0, Assert.IsType<LogExitEvent>(seen[^1]).Process.ExitCode);
        Assert.Equal("line2\nline3\n", replay.Stdout);
    }

    [Fact]
    public async Task Logs_ACursorThatIsNotAFrame_IsRefusedWithInvalidCursor()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "echo hello world"));
        await Client.WaitProcessAsync(sandbox.Id, started.Id);

        var inside = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadProcessLogsAsync(sandbox.Id, started.Id, cursor: 3));
        var beyond = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadProcessLogsAsync(sandbox.Id, started.Id, cursor: 1_000_000));

        Assert.Equal(ErrorCodes.InvalidCursor, inside.Code);
        Assert.Equal(ErrorCodes.InvalidCursor, beyond.Code);
    }

    [Fact]
    public async Task Stdin_IsWrittenAndClosed_AndTheProcessSeesEndOfFile()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sh", "-c", "cat; echo done"], Stdin: true));

        await Client.WriteProcessStdinAsync(sandbox.Id, started.Id, "first\n");
        await Client.WriteProcessStdinAsync(sandbox.Id, started.Id, "second\n", close: true);
        var ended = await Client.WaitProcessAsync(sandbox.Id, started.Id, TimeSpan.FromSeconds(20));
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id);

        Assert.Equal(0, ended.ExitCode);
        Assert.Equal("first\nsecond\ndone\n", logs.Stdout);
    }

    [Fact]
    public async Task Stdin_ToAProcessStartedWithout_IsRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "sleep 30"));

        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.WriteProcessStdinAsync(sandbox.Id, started.Id, "x"));

        Assert.Equal(ErrorCodes.NoStdin, error.Code);
        Assert.Equal(409, error.Status);
    }

    [Fact]
    public async Task Kill_TermsTheWholeTree_ThenKillsWhatIgnoresItAfterTheGrace()
    {
        await using var sandbox = await fixture.CreateAsync();
        // The shell ignores SIGTERM, and so does its child: only the SIGKILL after the grace ends them.
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "trap '' TERM; sh -c \"trap '' TERM; sleep 1000\" & wait"));
        await Task.Delay(200);

        var killed = await Client.KillProcessAsync(sandbox.Id, started.Id, new KillRequest(GraceMs: 300));
        var left = await sandbox.ShAsync("pgrep -c sleep || true");

        Assert.Equal(ProcessStates.Killed, killed.State);
        Assert.Equal("SIGKILL", killed.Signal);
        Assert.Equal("0\n", left.Stdout);
    }

    [Fact]
    public async Task Kill_WhenTermIsHonoured_ReportsSigterm()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sleep", "1000"]));

        var killed = await Client.KillProcessAsync(sandbox.Id, started.Id);

        Assert.Equal(ProcessStates.Killed, killed.State);
        Assert.Equal("SIGTERM", killed.Signal);
        Assert.True(killed.DurationMs < 5000);
    }

    [Fact]
    public async Task Signal_OutsideTheAllowedSet_IsRefused_AndAllowedOnesArrive()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "trap 'echo got-usr1' USR1; while true; do sleep 0.05; done"));
        await Task.Delay(200);

        var refused = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalProcessAsync(sandbox.Id, started.Id, "SIGSEGV"));
        var unknown = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalProcessAsync(sandbox.Id, started.Id, "99"));
        await Client.SignalProcessAsync(sandbox.Id, started.Id, "USR1");
        // The shell runs its trap once its current sleep has ended (USR1 kills the sleep).
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id);
        for (var i = 0; i < 100 && !logs.Stdout.Contains("got-usr1", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
            logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id);
        }
        await Client.SignalProcessAsync(sandbox.Id, started.Id, "SIGKILL");
        var ended = await Client.WaitProcessAsync(sandbox.Id, started.Id, TimeSpan.FromSeconds(10));

        Assert.Equal(ErrorCodes.InvalidSignal, refused.Code);
        Assert.Equal(ErrorCodes.InvalidSignal, unknown.Code);
        Assert.Contains("got-usr1", logs.Stdout);
        Assert.Equal("SIGKILL", ended.Signal);
    }

    [Fact]
    public async Task UnknownProcess_Is404_AndAnEndedOneCannotBeSignalledButCanBeDeleted()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true"));
        await Client.WaitProcessAsync(sandbox.Id, started.Id);

        var missing = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetProcessAsync(sandbox.Id, "p-nosuchthing"));
        var notRunning = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalProcessAsync(sandbox.Id, started.Id, "INT"));
        await Client.DeleteProcessAsync(sandbox.Id, started.Id);
        var deleted = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetProcessAsync(sandbox.Id, started.Id));

        Assert.Equal((ErrorCodes.ProcessNotFound, 404), (missing.Code, missing.Status));
        Assert.Equal((ErrorCodes.ProcessNotRunning, 409), (notRunning.Code, notRunning.Status));
        Assert.Equal(ErrorCodes.ProcessNotFound, deleted.Code);
    }

    [Fact]
    public async Task DeletingARunningProcess_IsRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sleep", "1000"]));

        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteProcessAsync(sandbox.Id, started.Id));

        Assert.Equal(ErrorCodes.ProcessRunning, error.Code);
    }

    [Fact]
    public async Task Start_BadInput_GetsClearCodes()
    {
        await using var sandbox = await fixture.CreateAsync();

        var notFound = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["no-such-program-xyz"])));
        var empty = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest()));
        var badName = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true", Name: "Bad Name")));
        var badLog = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true", MaxLogBytes: 10)));
        var noSandbox = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync("sb-nosuch", new StartProcessRequest(Command: "true")));

        Assert.Equal(ErrorCodes.CommandNotFound, notFound.Code);
        Assert.Equal(ErrorCodes.EmptyCommand, empty.Code);
        Assert.Equal(ErrorCodes.InvalidName, badName.Code);
        Assert.Equal(ErrorCodes.LimitOutOfRange, badLog.Code);
        Assert.Equal(404, noSandbox.Status);
        Assert.Empty(await Client.ListProcessesAsync(sandbox.Id));
    }

    [Fact]
    public async Task OutputThatNeverEnds_IsCappedOnDisk_AndAReaderFromZeroIsToldWhatWasDropped()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "yes 0123456789abcdef", MaxLogBytes: 256 * 1024));
        await Task.Delay(1000);

        var info = await Client.KillProcessAsync(sandbox.Id, started.Id, new KillRequest(GraceMs: 0));
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id, maxBytes: 16 << 20);
        var onDisk = Directory.EnumerateFiles(Path.Join(fixture.DataDir, "sandboxes", sandbox.Id, "records", started.Id)).Sum(f => new FileInfo(f).Length);

        Assert.True(info.LogBytes > 10L << 20, $"yes wrote only {info.LogBytes} bytes in a second");
        Assert.Equal(info.LogBytes, logs.Cursor);
        Assert.True(onDisk <= 256 * 1024 + 70 * 1024, $"{onDisk} bytes of log on disk for a 256 KiB cap");
        Assert.True(logs.Dropped > 0);
        Assert.True(logs.Stdout.Length <= 256 * 1024);
        Assert.StartsWith("0123456789abcdef\n", logs.Stdout[logs.Stdout.IndexOf('0')..]);
    }

    [Fact]
    public async Task AHundredBackgroundProcesses_RunAtOnceInOneSandbox()
    {
        await using var sandbox = await fixture.CreateAsync();

        var started = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: $"echo n{i}; sleep 120; true"))));
        // A start answers once its shell runs; each shell forks its sleep a moment later (under load,
        // after a first count here saw 90). The sleeps outlive any number of slow starts (a 2 s sleep
        // once ended before the hundredth start under CI load, and the count saw 0): count until all
        // are there, then end them; each shell goes on to `true` and exits 0.
        var running = await sandbox.ShAsync("for i in $(seq 3000); do [ $(pgrep -cx sleep) -ge 100 ] && break; sleep 0.01; done; pgrep -cx sleep; pkill -x sleep", timeoutMs: 60_000);
        var ended = await Task.WhenAll(started.Select(p => Client.WaitProcessAsync(sandbox.Id, p.Id, TimeSpan.FromSeconds(60))));
        var logs = await Task.WhenAll(started.Select(p => Client.ReadProcessLogsAsync(sandbox.Id, p.Id)));

        Assert.Equal("100\n", running.Stdout);
        Assert.All(ended, p => Assert.Equal(0, p.ExitCode));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"n{i}\n"), logs.Select(l => l.Stdout));
        Assert.Equal(100, (await Client.ListProcessesAsync(sandbox.Id)).Count);
    }

    [Fact]
    public async Task OrphansOfABackgroundProcess_AreReaped_NoZombieStays()
    {
        await using var sandbox = await fixture.CreateAsync();
        // Each subshell forks a child and exits at once: the children are re-parented to the agent (pid 1).
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "for i in 1 2 3 4 5 6 7 8 9 10; do (sleep 0.1 &); done; sleep 0.5"));
        await Client.WaitProcessAsync(sandbox.Id, started.Id, TimeSpan.FromSeconds(20));

        var zombies = await sandbox.ShAsync("ps -eo stat= | grep -c '^Z' || true");

        Assert.Equal("0\n", zombies.Stdout);
    }

    [Fact]
    public async Task ProcessesOfADeletedSandbox_LeaveNothingOnTheHost()
    {
        var sandbox = await fixture.CreateAsync();
        // A duration no other test uses: the host's process table is searched for it afterwards.
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "sleep 4242.5 & sleep 4242.5"));
        await Task.Delay(100);
        Assert.NotEmpty(HostInspector.ProcessesWithCommandLine("sleep\04242.5\0"));

        await sandbox.DisposeAsync();

        Assert.Empty(HostInspector.ProcessesWithCommandLine("sleep\04242.5\0"));
        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "sandboxes", sandbox.Id)));
        Assert.Empty(HostInspector.CgroupDirsOf(sandbox.Id));
    }
}
