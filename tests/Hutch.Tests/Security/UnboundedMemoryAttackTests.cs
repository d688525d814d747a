using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hutch.Tests.Security;

/// <summary>
/// Security invariant 5 (limits) attacked through the daemon's own memory: output of any size, from
/// a gibibyte a caller asked to keep to a line that never ends, must never become memory the daemon
/// holds. The daemon runs in a process of its own and its resident set is sampled during each attack.
/// </summary>
public sealed class UnboundedMemoryAttackTests(UnboundedMemoryAttackTests.Daemon daemon, ITestOutputHelper output)
    : IClassFixture<UnboundedMemoryAttackTests.Daemon>
{
    /// <summary>How far the daemon's resident set may rise during one attack.</summary>
    private const long BudgetMiB = 256;
    private const long WindowsBudgetMiB = 448;

    private const long GiB = 1L << 30;

    public sealed class Daemon : IAsyncLifetime
    {
        public DaemonProcess Process { get; private set; } = null!;
        public string SandboxId { get; private set; } = "";

        public async Task InitializeAsync()
        {
            Process = await DaemonProcess.StartAsync();
            SandboxId = (await Process.Client.CreateSandboxAsync(new CreateSandboxRequest())).Id;
            // Warm up the paths the attacks use, so the baseline holds what any daemon holds.
            await Process.Client.ExecAsync(SandboxId, new ExecRequest(Command: "yes | head -c 3M", MaxOutputBytes: 4 << 20));
        }

        public Task DisposeAsync() => Process.DisposeAsync().AsTask();
    }

    [Fact]
    public async Task ASyncExecKeepingAGibibyte_ReturnsAllOfIt_WithinTheMemoryBudget()
    {
        using var rss = new RssPeak(daemon.Process.Process.Id);

        var (result, stdout) = await ExecHugeAsync("exec", new { command = "yes | head -c 1G", maxOutputBytes = GiB }, "y\n", rss);

        Report(rss, "sync exec, 1 GiB kept");
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
        Assert.False(result.GetProperty("truncated").GetBoolean());
        Assert.Equal(GiB, stdout);
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
        // Spilled into the sandbox's own staging directory (its quota pays), unlinked: nothing is left.
        var staging = Path.Join(daemon.Process.DataDir, "workspaces", daemon.SandboxId, "staging");
        Assert.True(Directory.Exists(staging), "the output did not spill where the sandbox's quota counts it");
        Assert.Empty(Directory.GetFiles(staging));
    }

    [Fact]
    public async Task ASyncExecOfOneGigabyteLine_InBase64_ReturnsAllOfIt_WithinTheMemoryBudget()
    {
        using var rss = new RssPeak(daemon.Process.Process.Id);

        var (result, stdout) = await ExecHugeAsync("exec",
            new { command = "head -c 1000000000 /dev/zero | tr '\\0' a", maxOutputBytes = GiB, encoding = "base64" }, null, rss);

        Report(rss, "sync exec, one 1 GB line, base64");
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
        Assert.Equal((1_000_000_000 + 2) / 3 * 4, stdout);
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    [Fact]
    public async Task AnEndlessYes_InASyncExec_IsCutAtItsCap_WithinTheMemoryBudget()
    {
        using var rss = new RssPeak(daemon.Process.Process.Id);

        var result = await daemon.Process.Client.ExecAsync(daemon.SandboxId, new ExecRequest(Command: "yes", TimeoutMs: 3000));

        Report(rss, "sync exec, endless yes, default cap");
        Assert.True(result.Truncated);
        Assert.True(result.TimedOut);
        Assert.Equal(Hutch.Daemon.Commands.RequestValidator.DefaultMaxOutputBytes, Encoding.UTF8.GetByteCount(result.Stdout));
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    [Fact]
    public async Task AGigabyteLine_InASession_ReturnsWhatItsLogKept_WithinTheMemoryBudget()
    {
        await daemon.Process.Client.CreateSessionAsync(daemon.SandboxId, new CreateSessionRequest("long"));
        using var rss = new RssPeak(daemon.Process.Process.Id);

        var (result, stdout) = await ExecHugeAsync("sessions/long/exec",
            new { command = "head -c 1000000000 /dev/zero | tr '\\0' a", maxOutputBytes = GiB }, "a", rss);

        Report(rss, $"session exec, one 1 GB line ({stdout} bytes returned, truncated: {result.GetProperty("truncated").GetBoolean()})");
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
        Assert.True(stdout > 0);
        // The shell's log keeps 16 MiB: what it dropped before the daemon read it is missing, and said so.
        Assert.True(stdout == 1_000_000_000 || result.GetProperty("truncated").GetBoolean(), $"{stdout} bytes and not truncated");
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    [Fact]
    public async Task AServiceLoggingAHalfGigabyteLine_HasItsTailRead_WithinTheMemoryBudget()
    {
        var client = daemon.Process.Client;
        await client.CreateServiceAsync(daemon.SandboxId, new CreateServiceRequest("liner",
            Command: "head -c 500000000 /dev/zero | tr '\\0' a; echo; echo done; touch /workspace/liner.done; sleep 600", MaxLogBytes: GiB));
        for (var i = 0; i < 600 && (await client.ExecAsync(daemon.SandboxId, new ExecRequest(Command: "test -f liner.done"))).ExitCode != 0; i++)
        {
            await Task.Delay(100);
        }
        using var rss = new RssPeak(daemon.Process.Process.Id);

        var logs = await client.ServiceLogsAsync(daemon.SandboxId, "liner", tail: 100_000);

        Report(rss, "service logs, tail of a 500 MB line");
        Assert.EndsWith("aaaa\ndone\n", logs.Stdout);
        Assert.True(logs.Stdout.Length <= 1 << 20, $"{logs.Stdout.Length} characters of tail");
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
        await client.DeleteServiceAsync(daemon.SandboxId, "liner");
    }

    [Fact]
    public async Task AnEndlessYes_StreamedToASlowReader_IsHeldBack_WithinTheMemoryBudget()
    {
        using var rss = new RssPeak(daemon.Process.Process.Id);
        using var http = Http();
        using var request = Post("exec/stream", new { command = "yes", killOnDisconnect = true });

        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(5);)
            {
                Assert.True(await body.ReadAsync(buffer) > 0, "the stream ended");
                await Task.Delay(5);
            }
        }

        Report(rss, "stream exec, endless yes, slow reader");
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    [Fact]
    public async Task ManyEndlessYes_StreamedToReadersThatStopReading_AreHeldBack_WithinTheMemoryBudget()
    {
        const int streams = 24;
        using var rss = new RssPeak(daemon.Process.Process.Id);
        using var http = Http();
        var responses = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < streams; i++)
            {
                using var request = Post("exec/stream", new { command = "yes", killOnDisconnect = true });
                var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                responses.Add(response);
                // Not disposed here: that would hang up. The response's disposal below does.
                var body = await response.Content.ReadAsStreamAsync();
                Assert.True(await body.ReadAsync(new byte[4096]) > 0, "the stream ended");
            }
            // Nobody reads on: every command must be held back by its full pipe, not by the daemon's memory.
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        finally
        {
            responses.ForEach(r => r.Dispose());
        }

        Report(rss, $"stream exec, {streams} endless yes, readers that stopped");
        Assert.True(rss.GrowthMiB < BudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    [Fact]
    public async Task AnEndlessYes_InTheBackground_FollowedByReadersThatStopAndReadInBigWindows_StaysWithinTheMemoryBudget()
    {
        var client = daemon.Process.Client;
        var process = await client.StartProcessAsync(daemon.SandboxId, new StartProcessRequest(Command: "yes", MaxLogBytes: GiB));
        using var rss = new RssPeak(daemon.Process.Process.Id);
        using var http = Http();
        var followers = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var response = await http.GetAsync($"/v1/sandboxes/{daemon.SandboxId}/processes/{process.Id}/logs/stream?cursor=0", HttpCompletionOption.ResponseHeadersRead);
                followers.Add(response);
                var body = await response.Content.ReadAsStreamAsync(); // disposed with the response: reading stops here
                Assert.True(await body.ReadAsync(new byte[4096]) > 0, "the stream ended");
            }
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(5);)
            {
                using var window = await http.GetAsync($"/v1/sandboxes/{daemon.SandboxId}/processes/{process.Id}/logs?maxBytes={16 << 20}", HttpCompletionOption.ResponseHeadersRead);
                Assert.True(window.IsSuccessStatusCode, $"{(int)window.StatusCode}");
                await (await window.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
            }
        }
        finally
        {
            followers.ForEach(r => r.Dispose());
            await client.KillProcessAsync(daemon.SandboxId, process.Id);
        }

        Report(rss, "background yes, 8 stopped followers and 16 MiB log windows");
        // This attack allocates fastest (16 MiB windows back to back, each read through 64 KiB frames),
        // and how far RSS climbs before the GC catches up depends on the load around it: measured
        // +41 to +107 MiB alone, +64 to +202 beside other tests, +274 once in a loaded run. Unbounded
        // (before the fix) it was +1041 MiB in 5 s, so a budget of its own still tells the two apart
        // without failing on the GC's timing. Where the rest goes under load is not pinned yet.
        Assert.True(rss.GrowthMiB < WindowsBudgetMiB, $"the daemon grew by {rss.GrowthMiB} MiB");
    }

    private void Report(RssPeak rss, string attack) =>
        output.WriteLine($"{attack}: daemon RSS {rss.Baseline >> 20} MiB before, peak {rss.Peak >> 20} MiB (+{rss.GrowthMiB} MiB)");

    /// <summary>
    /// Posts an exec and reads its result without holding stdout: a gibibyte does not fit in a .NET
    /// string. Stdout's JSON string is counted as it streams by (decoded characters, each checked
    /// against <paramref name="pattern"/> repeated, when given); the rest of the object is parsed.
    /// </summary>
    private async Task<(JsonElement Result, long StdoutChars)> ExecHugeAsync(string path, object body, string? pattern, RssPeak rss)
    {
        using var http = Http();
        using var request = Post(path, body);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"{(int)response.StatusCode} after the daemon grew by {rss.GrowthMiB} MiB: {await response.Content.ReadAsStringAsync()}");
        }
        await using var stream = await response.Content.ReadAsStreamAsync();
        var marker = "\"stdout\":\""u8.ToArray();
        var rest = new MemoryStream();
        var matched = 0;
        long chars = 0;
        var state = 0; // 0: before stdout, 1: in it, 2: after an escape, 3: after it
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                var b = buffer[i];
                switch (state)
                {
                    case 0:
                        rest.WriteByte(b);
                        matched = b == marker[matched] ? matched + 1 : b == marker[0] ? 1 : 0;
                        Assert.True(rest.Length < 4096, "no stdout in the first 4 KiB");
                        if (matched == marker.Length)
                        {
                            state = 1;
                        }
                        break;
                    case 1 when b == '"':
                        rest.WriteByte(b);
                        state = 3;
                        break;
                    case 1 when b == '\\':
                        state = 2;
                        break;
                    case 1 or 2:
                        var c = state == 2 ? b switch { (byte)'n' => '\n', (byte)'"' => '"', (byte)'\\' => '\\', _ => throw new InvalidDataException($"unexpected escape \\{(char)b}") } : (char)b;
                        if (pattern is not null && c != pattern[(int)(chars % pattern.Length)])
                        {
                            Assert.Fail($"stdout character {chars} is {c}, not {pattern[(int)(chars % pattern.Length)]}");
                        }
                        chars++;
                        state = 1;
                        break;
                    default:
                        rest.WriteByte(b);
                        break;
                }
            }
        }
        return (JsonDocument.Parse(rest.ToArray()).RootElement.Clone(), chars);
    }

    private HttpClient Http()
    {
        var http = new HttpClient { BaseAddress = new Uri(daemon.Process.Url), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", daemon.Process.ApiKey);
        return http;
    }

    private HttpRequestMessage Post(string path, object body) =>
        new(HttpMethod.Post, $"/v1/sandboxes/{daemon.SandboxId}/{path}")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
}
