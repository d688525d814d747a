using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

[Collection(DaemonCollection.Name)]
public class ExecTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task Exec_SeparatesStdoutStderrAndExitCode()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("echo out; echo err >&2; exit 3");

        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);
        Assert.Equal(3, result.ExitCode);
        Assert.Null(result.Signal);
        Assert.False(result.TimedOut);
        Assert.False(result.Truncated);
    }

    [Fact]
    public async Task Exec_Argv_RunsWithoutShellAndWithEnvAndRelativeCwd()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir -p sub/dir");

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(
            Argv: ["sh", "-c", "pwd; echo \"$X\"", "ignored"], Cwd: "/sub/dir", Env: new() { ["X"] = "a b; $(not run)" }));

        Assert.Equal("/workspace/sub/dir\na b; $(not run)\n", result.Stdout);
    }

    [Fact]
    public async Task Exec_WhenKilledBySignal_ReportsTheSignal()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("kill -TERM $$");

        Assert.Null(result.ExitCode);
        Assert.Equal("SIGTERM", result.Signal);
    }

    [Fact]
    public async Task Exec_UnknownProgram_Returns127LikeAShell()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await Client.ExecAsync(sandbox.Id, "no-such-program-xyz");

        Assert.Equal(127, result.ExitCode);
        Assert.Contains("no-such-program-xyz", result.Stderr);
    }

    [Fact]
    public async Task Exec_BinaryStdin_RoundTripsByteForByte()
    {
        await using var sandbox = await fixture.CreateAsync();
        var bytes = new byte[300_000];
        new Random(7).NextBytes(bytes);

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["cat"], StdinBase64: Convert.ToBase64String(bytes), Encoding: "base64"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(bytes, Convert.FromBase64String(result.Stdout));
    }

    [Fact]
    public async Task Exec_WhenTimeoutExpires_KillsWholeTreeAndSandboxStaysUsable()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("sleep 1001 & (sleep 1002 &); sleep 1003", timeoutMs: 500);

        Assert.True(result.TimedOut);
        Assert.Equal("SIGKILL", result.Signal);
        Assert.True(result.DurationMs < 5000, $"took {result.DurationMs} ms");
        var after = await sandbox.ShAsync("ps -eo args | grep -c '^sleep 100' || true");
        Assert.Equal("0\n", after.Stdout);
        // Exactly these sleeps: agent tests in other collections run `sleep 1000` at the same time.
        Assert.All(new[] { "1001", "1002", "1003" }, seconds => Assert.Empty(HostInspector.ProcessesWithCommandLine("sleep\0" + seconds + "\0")));
    }

    [Fact]
    public async Task Exec_OutputBeyondCap_IsTruncatedAndFlagged()
    {
        await using var sandbox = await fixture.CreateAsync();

        // 1 GB of output: capped at 1 MiB, the rest drained, and the command still ends normally.
        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "head -c 1000000000 /dev/zero | tr '\\0' x", MaxOutputBytes: 1 << 20, TimeoutMs: 120_000));

        Assert.True(result.Truncated);
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(1 << 20, result.Stdout.Length);
    }

    [Fact]
    public async Task ExecStream_YieldsStartOutputAndExit_BinarySafe()
    {
        await using var sandbox = await fixture.CreateAsync();
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var events = new List<ExecEvent>();

        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Argv: ["cat"], StdinBase64: Convert.ToBase64String(all))))
        {
            events.Add(e);
        }

        Assert.Equal(ExecEventTypes.Start, events[0].Type);
        Assert.True(Assert.IsType<ExecStartEvent>(events[0]).Pid > 1);
        Assert.Equal(ExecEventTypes.Exit, events[^1].Type);
        Assert.Equal(0, Assert.IsType<ExecExitEvent>(events[^1]).ExitCode);
        var stdout = events.OfType<ExecStdoutEvent>().SelectMany(e => e.Data.ToArray()).ToArray();
        Assert.Equal(all, stdout);
    }

    [Fact]
    public async Task ExecStream_WhenClientDisconnects_CommandRunsOn()
    {
        await using var sandbox = await fixture.CreateAsync();

        await DisconnectAfterStartAsync(sandbox.Id, new ExecRequest(Command: "sleep 2; echo done > marker"));

        await Task.Delay(4000);
        Assert.Equal("done\n", (await sandbox.ShAsync("cat marker")).Stdout);
    }

    [Fact]
    public async Task ExecStream_WhenClientDisconnectsWithKillOnDisconnect_CommandIsKilled()
    {
        await using var sandbox = await fixture.CreateAsync();

        await DisconnectAfterStartAsync(sandbox.Id, new ExecRequest(Command: "sleep 2; echo done > marker", KillOnDisconnect: true));

        await Task.Delay(4000);
        Assert.Equal(1, (await sandbox.ShAsync("test -e marker")).ExitCode);
    }

    [Fact]
    public async Task Exec_WhenSandboxDiesMidCommand_FailsClearlyWithoutHanging()
    {
        var sandbox = await Client.CreateSandboxAsync();
        var stream = Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: "sleep 60")).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(ExecEventTypes.Start, stream.Current.Type);

        var delete = Client.DeleteSandboxAsync(sandbox.Id);
        var next = stream.MoveNextAsync().AsTask();
        var finished = await Task.WhenAny(next, Task.Delay(10_000));

        // The SDK turns the stream's error event into an exception with the event's code.
        Assert.Same(next, finished);
        var error = await Assert.ThrowsAsync<HutchApiException>(() => next);
        Assert.Equal(ErrorCodes.SandboxDied, error.Code);
        await delete;
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task ExecStream_WhoseReaderStalls_DoesNotHoldBackOtherCommandsOfTheSandbox()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Daemon.Url) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        var body = System.Text.Json.JsonSerializer.Serialize(
            new ExecRequest(Command: "yes", MaxOutputBytes: 1L << 30, KillOnDisconnect: true), ApiJsonContext.Default.ExecRequest);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/sandboxes/{sandbox.Id}/exec/stream")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        // Read the headers and one chunk, then stop reading while keeping the connection open:
        // every buffer between `yes` and this client fills up.
        using var stalled = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await stalled.Content.ReadAsStreamAsync();
        await stream.ReadExactlyAsync(new byte[1024]);
        await Task.Delay(1500);

        var other = sandbox.ShAsync("echo still-served");
        var finished = await Task.WhenAny(other, Task.Delay(10_000));

        Assert.Same(other, finished);
        Assert.Equal("still-served\n", (await other).Stdout);
        Assert.Equal("ok", (await Client.HealthAsync()).Status);
    }

    private async Task DisconnectAfterStartAsync(string id, ExecRequest request)
    {
        using var cts = new CancellationTokenSource();
        try
        {
            await foreach (var e in Client.ExecStreamAsync(id, request, cts.Token))
            {
                if (e.Type == ExecEventTypes.Start)
                {
                    await cts.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Expected: we hung up.
        }
    }

    [Fact]
    public async Task Exec_ConcurrentCommands_AllComplete()
    {
        await using var sandbox = await fixture.CreateAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => sandbox.ShAsync($"echo {i}")));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{i}\n"), results.Select(r => r.Stdout));
    }

    [Fact]
    public async Task Exec_Utf8Output_IsDecoded()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("printf 'h\\303\\251llo \\360\\237\\246\\224'");

        Assert.Equal("héllo 🦔", result.Stdout);
        Assert.Equal("héllo 🦔", Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(result.Stdout)));
    }
}
