using System.Diagnostics;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// Issue #10's exec edges as a harness meets them: bytes no program can receive, what a timeout
/// killed and how long a command ran, and a sandbox that dies under a command.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class ExecEdgeTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ANulByteInCommand_Is400InvalidCommand_NamingTheField()
    {
        await using var sandbox = await fixture.CreateAsync();

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo a\0b")));

        Assert.Equal((400, ErrorCodes.InvalidCommand), (e.Status, e.Code));
        Assert.StartsWith("command ", e.Detail);
    }

    [Fact]
    public async Task Stdin_UpToItsCap_ReachesTheCommandWhole_AndPastIt_Is400NeverCut()
    {
        await using var sandbox = await fixture.CreateAsync();
        var whole = new byte[ExecLimits.MaxStdinBytes];
        var over = new byte[ExecLimits.MaxStdinBytes + 1];

        // sleep first: the whole input waits for a command that has not started reading yet.
        var counted = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "sleep 0.5; wc -c", StdinBase64: Convert.ToBase64String(whole)));
        var e = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "sleep 0.5; wc -c", StdinBase64: Convert.ToBase64String(over))));

        Assert.Equal($"{ExecLimits.MaxStdinBytes}\n", counted.Stdout);
        Assert.Equal((400, ErrorCodes.StdinTooLarge), (e.Status, e.Code));
        Assert.Contains("files API", e.Detail);
    }

    [Fact]
    public async Task ANulByteInArgv_Is400InvalidArgv_NamingTheElement()
    {
        await using var sandbox = await fixture.CreateAsync();

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["echo", "ok", "a\0b"])));

        Assert.Equal((400, ErrorCodes.InvalidArgv), (e.Status, e.Code));
        Assert.Contains("argv[2]", e.Detail);
    }

    [Fact]
    public async Task ANulByteInEnvOrCwd_Is400NamingTheField_ForExecStreamAndProcesses()
    {
        await using var sandbox = await fixture.CreateAsync();

        var key = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Env: new() { ["A\0B"] = "v" })));
        var value = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Env: new() { ["A"] = "v\0w" })));
        var cwd = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Cwd: "sub\0dir")));
        var stream = await Assert.ThrowsAsync<HutchApiException>(async () =>
        {
            await foreach (var _ in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: "echo \0")))
            {
            }
        });
        var process = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sleep", "1\0"])));

        Assert.Equal((400, ErrorCodes.InvalidEnv), (key.Status, key.Code));
        Assert.Contains("in env", key.Detail);
        Assert.Equal((400, ErrorCodes.InvalidEnv), (value.Status, value.Code));
        Assert.Contains("env.A", value.Detail);
        Assert.Equal((400, ErrorCodes.InvalidCwd), (cwd.Status, cwd.Code));
        Assert.StartsWith("cwd ", cwd.Detail);
        Assert.Equal((400, ErrorCodes.InvalidCommand), (stream.Status, stream.Code));
        Assert.Equal((400, ErrorCodes.InvalidArgv), (process.Status, process.Code));
    }

    [Fact]
    public async Task ATimedOutExec_SaysWhichProcessGroupWasKilled_AndHowLongItRan()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "sleep 100 & sleep 100 & sleep 100", TimeoutMs: 500));

        Assert.True(result.TimedOut);
        Assert.InRange(result.DurationMs, 450, 5000);
        var killed = Assert.IsType<ExecKilled>(result.Killed);
        Assert.Equal((ExecKillReasons.Timeout, "SIGKILL"), (killed.Reason, killed.Signal));
        Assert.True(killed.ProcessGroup > 1, $"process group {killed.ProcessGroup}");
        Assert.Equal(4, killed.Processes); // the shell and its three sleeps

        var plain = await sandbox.ShAsync("true");
        Assert.Null(plain.Killed);
    }

    [Fact]
    public async Task ATimedOutStream_SaysInItsExitEventThatTheStartedGroupWasKilled()
    {
        await using var sandbox = await fixture.CreateAsync();

        var events = new List<ExecEvent>();
        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Argv: ["sleep", "100"], TimeoutMs: 300)))
        {
            events.Add(e);
        }

        var pid = Assert.IsType<ExecStartEvent>(events[0]).Pid;
        var exit = Assert.IsType<ExecExitEvent>(events[^1]);
        Assert.True(exit.TimedOut);
        Assert.InRange(exit.DurationMs, 250, 5000);
        Assert.Equal(new ExecKilled(ExecKillReasons.Timeout, "SIGKILL", pid, 1), exit.Killed);
    }

    [Fact]
    public async Task TheResultsJson_HasKilledOnlyOnTimeout()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = fixture.RawHttp();

        var timedOut = await PostExecAsync(http, sandbox.Id, """{"command":"sleep 10","timeoutMs":200}""");
        var normal = await PostExecAsync(http, sandbox.Id, """{"command":"true"}""");

        var killed = timedOut.GetProperty("killed");
        Assert.Equal("timeout", killed.GetProperty("reason").GetString());
        Assert.Equal("SIGKILL", killed.GetProperty("signal").GetString());
        Assert.True(killed.GetProperty("processGroup").GetInt32() > 1);
        Assert.True(timedOut.GetProperty("durationMs").GetInt64() >= 150);
        Assert.False(normal.TryGetProperty("killed", out _)); // there only when something was killed
        Assert.False(normal.TryGetProperty("fullOutput", out _));
    }

    [Fact]
    public async Task ASandboxKilledUnderAStreamedAndASyncExec_EndsBothWithSandboxDied_WithinASecond()
    {
        var sandbox = await fixture.CreateAsync();
        try
        {
            await using var events = Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: "echo go; sleep 600")).GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync()); // start
            var sync = Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "sleep 600", TimeoutMs: 600_000));
            await Task.Delay(300); // both commands run

            var killedAt = Stopwatch.StartNew();
            KillSandboxInit(sandbox.Id);
            var streamEnd = Assert.ThrowsAsync<HutchApiException>(async () =>
            {
                while (await events.MoveNextAsync())
                {
                }
            });

            var streamError = await streamEnd.WaitAsync(TimeSpan.FromSeconds(10));
            var streamMs = killedAt.ElapsedMilliseconds;
            var syncError = await Assert.ThrowsAsync<HutchApiException>(() => sync.WaitAsync(TimeSpan.FromSeconds(10)));
            var syncMs = killedAt.ElapsedMilliseconds;

            Assert.Equal(ErrorCodes.SandboxDied, streamError.Code);
            Assert.Equal((409, ErrorCodes.SandboxDied), (syncError.Status, syncError.Code));
            Assert.True(streamMs < 1000, $"the stream ended {streamMs} ms after the sandbox's init was killed");
            Assert.True(syncMs < 1000, $"the sync exec answered {syncMs} ms after the sandbox's init was killed");
        }
        finally
        {
            await Client.DeleteSandboxAsync(sandbox.Id);
        }
    }

    private void KillSandboxInit(string id)
    {
        var state = File.ReadAllText(Path.Join(fixture.DataDir, "runc", id, "state.json"));
        var pid = JsonDocument.Parse(state).RootElement.GetProperty("init_process_pid").GetInt32();
        Process.GetProcessById(pid).Kill();
    }

    private static async Task<JsonElement> PostExecAsync(HttpClient http, string id, string body)
    {
        using var response = await http.PostAsync($"/v1/sandboxes/{id}/exec", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
