// Hutch.ProcessBench: issue #4's performance targets for long-running work, through the real HTTP API.
//
//   1. process start (POST …/processes) of `sleep 60` and of `true`, next to the plain exec round
//      trip of `true` and GET /v1/health in the same sandbox, interleaved; the sleeps are killed in
//      batches of 50 so the sandbox's pids limit is never near
//   2. log follow latency, two ways:
//      a. input + output: a `while read l; do echo "$l"; done` process started with stdin; the time
//         from the start of WriteProcessStdinAsync to its line arriving on an already open
//         StreamProcessLogsAsync (stdin request + shell + log + follow)
//      b. output only: a process printing `date +%s%N` every 50 ms; latency = the client's
//         CLOCK_REALTIME when the event arrives − the timestamp in the line (the sandbox shares the
//         host kernel's clock). The same stream read with a plain HttpClient line splitter, the same
//         loop through exec/stream (SDK and plain), and as a host child process (a pipe, no sandbox)
//         tell the daemon's share from the SDK's and give the floor.
//   3. 100 concurrent background processes (`sleep 30`) started at once in one sandbox: wall time,
//      per-start latency, all running (pgrep in the sandbox, the API's list), memory after, kill
//   4. session exec round trip of `true` vs plain exec of `true` (argv, and `sh -c true`)
//   5. the session / exec / start round trips again once the sandbox keeps 1000 ended process
//      records (the daemon reads records from disk per request; it keeps at most 1024 per sandbox,
//      then each start prunes the oldest ended one)
//
// usage: Hutch.ProcessBench --cli PATH [--n 200] [--concurrent 100] [--records 1000] [--out DIR]
// The daemon is the real `hutch serve` in its own process (as deployed), warm pool off, so the
// bench's own work never shares its GC or thread pool. Prints markdown tables; with --out also
// every sample (samples.tsv, ms). Everything it creates is deleted.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Hutch.Client;
using Hutch.Protocol.Api;
using static BenchDaemon;

var cli = Arg("--cli") ?? throw new ArgumentException("--cli PATH (artifacts/cli/hutch) is required");
var n = int.Parse(Arg("--n") ?? "200", CultureInfo.InvariantCulture);
var concurrent = int.Parse(Arg("--concurrent") ?? "100", CultureInfo.InvariantCulture);
var recordsN = int.Parse(Arg("--records") ?? "1000", CultureInfo.InvariantCulture);
var outDir = Arg("--out");
const int Batch = 50;

var dataDir = Directory.CreateTempSubdirectory("hutch-pbench-").FullName;
var port = 20000 + Random.Shared.Next(20000);
var serve = new ProcessStartInfo(cli, ["serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}"])
{
    RedirectStandardOutput = true,
    RedirectStandardError = true,
};
serve.Environment["HUTCH_WARM_POOL"] = "0";
serve.Environment["Logging__LogLevel__Default"] = "Warning";
using var daemon = Process.Start(serve)!;
_ = daemon.StandardOutput.ReadToEndAsync();
_ = daemon.StandardError.ReadToEndAsync();
var apiKey = await ApiKeyAsync(dataDir);
using var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), apiKey);
await WaitForHealthAsync(client);
var samples = new List<(string Name, List<double> Ms)>();
var section = "";
var sb = (await client.CreateSandboxAsync()).Id;
Console.WriteLine($"sandbox {sb}: default limits (pids 512, memory 512 MiB, 1 cpu); daemon pid {daemon.Id}, warm pool off");
try
{
    // ---- 1. process start vs exec
    for (var i = 0; i < 20; i++)
    {
        var w = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sleep", "60"]));
        await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["true"]));
        await client.ExecAsync(sb, new ExecRequest(Argv: ["true"]));
        await client.KillProcessAsync(sb, w.Id, new KillRequest("SIGKILL", 0));
    }
    await CleanAsync();
    List<double> startSleep = [], startTrue = [], execTrue = [], kill = [], health = [];
    for (var done = 0; done < n;)
    {
        List<string> sleeping = [];
        for (var i = 0; i < Batch && done < n; i++, done++)
        {
            var t = Stopwatch.GetTimestamp();
            var p = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sleep", "60"]));
            startSleep.Add(Ms(t));
            Check(p.State == ProcessStates.Running && p.Pid > 0, $"sleep is running with a pid ({p.State}, {p.Pid})");
            sleeping.Add(p.Id);

            t = Stopwatch.GetTimestamp();
            await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["true"]));
            startTrue.Add(Ms(t));

            t = Stopwatch.GetTimestamp();
            var r = await client.ExecAsync(sb, new ExecRequest(Argv: ["true"]));
            execTrue.Add(Ms(t));
            Check(r.ExitCode == 0, "exec true exited 0");

            t = Stopwatch.GetTimestamp();
            await client.HealthAsync();
            health.Add(Ms(t));
        }
        foreach (var id in sleeping)
        {
            var t = Stopwatch.GetTimestamp();
            var k = await client.KillProcessAsync(sb, id, new KillRequest("SIGKILL", 0));
            kill.Add(Ms(t));
            Check(k.State == ProcessStates.Killed, $"killed ({k.State})");
        }
        await CleanAsync();
    }
    Header("1. Process start through the API (one sandbox, sequential, interleaved with the exec)");
    Row("start `sleep 60` (StartProcessAsync → running)", startSleep);
    Row("start `true` (StartProcessAsync)", startTrue);
    Row("exec round trip of `true` (ExecAsync)", execTrue);
    Row("kill with SIGKILL, returns once ended", kill);
    Row("GET /v1/health (the HTTP round trip alone, floor)", health);

    // ---- 2a. input + output: stdin write → echoed line on an open follow stream
    var echo = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sh", "-c", "while read l; do echo \"$l\"; done"], Stdin: true));
    var lines = Channel.CreateUnbounded<(long At, string Text)>();
    using (var follow = new CancellationTokenSource())
    {
        var reader = FollowAsync(client, sb, echo.Id, lines.Writer, follow.Token);
        List<double> echoMs = [], stdinMs = [];
        for (var i = -20; i < n; i++)
        {
            var text = $"line-{i}";
            var t = Stopwatch.GetTimestamp();
            await client.WriteProcessStdinAsync(sb, echo.Id, text + "\n");
            var written = Ms(t);
            var (at, got) = await lines.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Check(got == text, $"echoed {text} (got {got})");
            if (i >= 0)
            {
                stdinMs.Add(written);
                echoMs.Add(Stopwatch.GetElapsedTime(t, at).TotalMilliseconds);
            }
        }
        await follow.CancelAsync();
        await reader;
        Header("2. Log follow latency");
        Row("a. input+output: stdin write → echoed line on the follow stream", echoMs);
        Row("   of which the WriteProcessStdinAsync call", stdinMs);
    }
    await client.KillProcessAsync(sb, echo.Id, new KillRequest("SIGKILL", 0));

    // ---- 2b. output only: timestamps written in the sandbox, read on the follow stream
    const string Ticker = "while :; do date +%s%N; sleep 0.05; done";
    var ticker = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sh", "-c", Ticker]));
    var followed = await TimestampLatencyAsync(n, async (sink, ct) =>
    {
        await foreach (var e in client.StreamProcessLogsAsync(sb, ticker.Id, 0, follow: true, ct))
        {
            if (e is LogStdoutEvent stdout)
            {
                sink(RealtimeNs(), stdout.Data.ToArray());
            }
        }
    });
    await client.KillProcessAsync(sb, ticker.Id, new KillRequest("SIGKILL", 0));
    Row("b. output only: line written in the sandbox → client (SDK follow stream)", followed);

    // The same two streams read without the SDK: HttpClient and a plain line splitter, to tell the
    // daemon's latency from the SDK's NDJSON reader's.
    using var raw = new HttpClient();
    raw.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
    var baseUrl = $"http://127.0.0.1:{port}/v1/sandboxes/{sb}";
    ticker = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sh", "-c", Ticker]));
    var followedRaw = await TimestampLatencyAsync(n, (sink, ct) =>
        RawNdjsonAsync(raw, new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/processes/{ticker.Id}/logs/stream?cursor=0&follow=true"), sink, ct));
    await client.KillProcessAsync(sb, ticker.Id, new KillRequest("SIGKILL", 0));
    Row("   the same follow stream read with HttpClient + own line splitter", followedRaw);

    var streamed = await TimestampLatencyAsync(n, async (sink, ct) =>
    {
        await foreach (var e in client.ExecStreamAsync(sb, new ExecRequest(Argv: ["sh", "-c", Ticker], KillOnDisconnect: true), ct))
        {
            if (e is ExecStdoutEvent stdout)
            {
                sink(RealtimeNs(), stdout.Data.ToArray());
            }
        }
    });
    Row("   same loop through exec/stream (no durable log), SDK", streamed);
    var streamedRaw = await TimestampLatencyAsync(n, (sink, ct) => RawNdjsonAsync(raw,
        new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/exec/stream")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { argv = new[] { "sh", "-c", Ticker }, killOnDisconnect = true }), Encoding.UTF8, "application/json"),
        }, sink, ct));
    Row("   same loop through exec/stream, HttpClient + own line splitter", streamedRaw);

    var local = await TimestampLatencyAsync(n, async (sink, ct) =>
    {
        using var child = Process.Start(new ProcessStartInfo("sh", ["-c", Ticker]) { RedirectStandardOutput = true })!;
        try
        {
            var stdout = child.StandardOutput.BaseStream;
            var buffer = new byte[4096];
            int read;
            while ((read = await stdout.ReadAsync(buffer, ct)) > 0)
            {
                sink(RealtimeNs(), buffer[..read]);
            }
        }
        finally
        {
            child.Kill();
            await child.WaitForExitAsync(CancellationToken.None);
        }
    });
    Row("   same loop as a host child process, read from a pipe (floor)", local);
    await CleanAsync();

    // ---- 3. N concurrent background processes
    await Task.Delay(1000);
    var before = await MemoryAsync();
    var wall = Stopwatch.GetTimestamp();
    var startMs = new double[concurrent];
    var started = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(async i =>
    {
        var t = Stopwatch.GetTimestamp();
        var p = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sleep", "30"]));
        startMs[i] = Ms(t);
        return p;
    }));
    var wallMs = Ms(wall);
    var pgrep = await client.ExecAsync(sb, new ExecRequest(Argv: ["pgrep", "-c", "-x", "sleep"]));
    var listed = (await client.ListProcessesAsync(sb)).Count(p => p.State == ProcessStates.Running);
    await Task.Delay(1000);
    var after = await MemoryAsync();
    Header($"3. {concurrent} concurrent background processes (`sleep 30`) in one sandbox");
    Row($"start, all {concurrent} requests in flight at once (per request)", [.. startMs]);
    Console.WriteLine($"wall time to start all {concurrent}: {wallMs:F1} ms; running: pgrep -c -x sleep in the sandbox = {pgrep.Stdout.Trim()}, "
        + $"API list running = {listed}, distinct pids = {started.Select(p => p.Pid).Distinct().Count()}");
    Console.WriteLine("| memory | before | after | delta |");
    Console.WriteLine("| --- | --- | --- | --- |");
    Mem("daemon RSS (`hutch serve`, /proc/PID/status VmRSS)", before.DaemonRss, after.DaemonRss);
    Mem("agent RSS (sandbox init, hutch-agent)", before.AgentRss, after.AgentRss);
    Mem("sandbox cgroup memory.current (GetSandboxAsync usage)", before.Cgroup, after.Cgroup);
    Console.WriteLine($"| sandbox pids (cgroup) | {before.Pids} | {after.Pids} | {after.Pids - before.Pids} |");
    Check(pgrep.Stdout.Trim() == concurrent.ToString(CultureInfo.InvariantCulture), $"pgrep counted {concurrent} sleeps (got {pgrep.Stdout.Trim()})");
    wall = Stopwatch.GetTimestamp();
    await Task.WhenAll(started.Select(p => client.KillProcessAsync(sb, p.Id, new KillRequest("SIGKILL", 0))));
    Console.WriteLine($"kill of all {concurrent} (SIGKILL, all requests in flight): {Ms(wall):F1} ms wall");
    await CleanAsync();

    // ---- 4. session exec vs plain exec
    await client.CreateSessionAsync(sb, new CreateSessionRequest(Name: "bench"));
    await SessionVsExecAsync(n, "4. Session exec vs plain exec (interleaved)");

    // ---- 5. the same with many ended process records kept (the daemon keeps up to 1024 per
    // sandbox, then each start prunes the oldest ended one)
    for (var i = 0; i < recordsN; i++)
    {
        await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["true"]));
    }
    await Task.Delay(500);
    var listAt = Stopwatch.GetTimestamp();
    var kept = (await client.ListProcessesAsync(sb)).Count;
    var listMs = Ms(listAt);
    Header($"5. With {kept} process records kept in the sandbox ({recordsN} ended `true` + the session shell)");
    await SessionVsExecAsync(Math.Min(n, 100), null);
    List<double> startBelow = [], startAtCap = [];
    List<string> toKill = [];
    for (var i = 0; i < Math.Min(n, Batch * 2); i++)
    {
        var atCap = kept + i >= 1024;
        var t = Stopwatch.GetTimestamp();
        var p = await client.StartProcessAsync(sb, new StartProcessRequest(Argv: ["sleep", "60"]));
        (atCap ? startAtCap : startBelow).Add(Ms(t));
        toKill.Add(p.Id);
        if (toKill.Count == Batch)
        {
            foreach (var id in toKill)
            {
                await client.KillProcessAsync(sb, id, new KillRequest("SIGKILL", 0));
            }
            toKill.Clear();
        }
    }
    if (startBelow.Count > 0)
    {
        Row($"start `sleep 60`, {kept}-{kept + startBelow.Count - 1} records", startBelow);
    }
    if (startAtCap.Count > 0)
    {
        Row("start `sleep 60`, at the cap of 1024 records (prunes one per start)", startAtCap);
    }
    Console.WriteLine($"one GET …/processes listing {kept} processes: {listMs:F1} ms");

    if (outDir is not null)
    {
        Directory.CreateDirectory(outDir);
        await File.WriteAllLinesAsync(Path.Join(outDir, "samples.tsv"),
            samples.SelectMany(s => s.Ms.Select(v => $"{s.Name}\t{v.ToString("F4", CultureInfo.InvariantCulture)}")));
    }
}
finally
{
    try
    {
        await client.DeleteSandboxAsync(sb);
    }
    finally
    {
        daemon.Kill();
        await daemon.WaitForExitAsync();
        BenchDataDir.Remove(dataDir);
    }
}
return 0;

// Session exec of `true` vs plain exec of `true` (argv and sh -c), interleaved.
async Task SessionVsExecAsync(int count, string? title)
{
    for (var i = 0; i < 20; i++)
    {
        await client.SessionExecAsync(sb, "bench", "true");
        await client.ExecAsync(sb, new ExecRequest(Argv: ["true"]));
    }
    List<double> inSession = [], argv = [], shell = [];
    for (var i = 0; i < count; i++)
    {
        var t = Stopwatch.GetTimestamp();
        var r = await client.SessionExecAsync(sb, "bench", "true");
        inSession.Add(Ms(t));
        Check(r.ExitCode == 0, "session true exited 0");
        t = Stopwatch.GetTimestamp();
        await client.ExecAsync(sb, new ExecRequest(Argv: ["true"]));
        argv.Add(Ms(t));
        t = Stopwatch.GetTimestamp();
        await client.ExecAsync(sb, new ExecRequest(Command: "true"));
        shell.Add(Ms(t));
    }
    if (title is not null)
    {
        Header(title);
    }
    Row("session exec of `true` (SessionExecAsync)", inSession);
    Row("exec of `true` (argv)", argv);
    Row("exec of `sh -c true` (Command)", shell);
}

// Runs a source of `date +%s%N` lines until n lines (after 10 skipped: a follow from cursor 0 first
// replays what was written before it connected) and returns receive time − timestamp, in ms.
async Task<List<double>> TimestampLatencyAsync(int count, Func<Action<long, byte[]>, CancellationToken, Task> source)
{
    const int Skip = 10;
    var result = new List<double>();
    var pending = new StringBuilder();
    var seen = 0;
    using var stop = new CancellationTokenSource();
    var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    void Sink(long nowNs, byte[] data)
    {
        pending.Append(Encoding.ASCII.GetString(data));
        var text = pending.ToString();
        var end = text.LastIndexOf('\n');
        if (end < 0)
        {
            return;
        }
        pending.Clear().Append(text[(end + 1)..]);
        foreach (var line in text[..end].Split('\n'))
        {
            if (++seen > Skip && result.Count < count && long.TryParse(line, CultureInfo.InvariantCulture, out var stamp))
            {
                result.Add((nowNs - stamp) / 1e6);
            }
        }
        if (result.Count >= count)
        {
            enough.TrySetResult();
        }
    }
    var run = Task.Run(() => source(Sink, stop.Token));
    await Task.WhenAny(enough.Task, run).WaitAsync(TimeSpan.FromSeconds(count * 0.2 + 60));
    await stop.CancelAsync();
    try
    {
        await run;
    }
    catch (OperationCanceledException)
    {
    }
    Check(result.Count >= count, $"got {count} timestamp lines (got {result.Count})");
    return result;
}

// Kills what runs (except the session shell) and deletes every ended process's records.
async Task CleanAsync()
{
    foreach (var p in await client.ListProcessesAsync(sb))
    {
        if (p.Name?.StartsWith("session-", StringComparison.Ordinal) == true)
        {
            continue;
        }
        if (p.State is ProcessStates.Running or ProcessStates.Starting)
        {
            await client.KillProcessAsync(sb, p.Id, new KillRequest("SIGKILL", 0));
        }
        await client.DeleteProcessAsync(sb, p.Id);
    }
}

async Task<(long DaemonRss, long AgentRss, long Cgroup, int Pids)> MemoryAsync()
{
    var info = await client.GetSandboxAsync(sb);
    long agent = 0;
    using (var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Join(dataDir, "runc", sb, "state.json"))))
    {
        agent = StatusKiB($"/proc/{doc.RootElement.GetProperty("init_process_pid").GetInt32()}/status", "VmRSS") << 10;
    }
    return (StatusKiB($"/proc/{daemon.Id}/status", "VmRSS") << 10, agent, info.Usage?.MemoryBytes ?? -1, info.Usage?.Pids ?? -1);
}

void Row(string what, List<double> ms)
{
    samples.Add(($"{section}. {what.Trim()}", ms));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {what,-66} | {ms.Count,4} | {Percentile(ms, 0.5),8:F2} | {Percentile(ms, 0.9),8:F2} | {Percentile(ms, 0.99),8:F2} | {ms.Min(),8:F2} | {ms.Max(),8:F2} |"));
}

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

void Header(string title)
{
    section = title.Split('.')[0];
    Console.WriteLine();
    Console.WriteLine($"### {title}");
    Console.WriteLine($"| {"what (ms)",-66} | {"N",4} | {"p50",8} | {"p90",8} | {"p99",8} | {"min",8} | {"max",8} |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
}

static void Mem(string what, long before, long after) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {what} | {before / 1048576.0:F1} MiB | {after / 1048576.0:F1} MiB | {(after - before) / 1048576.0:+0.0;-0.0} MiB |"));

// Nearest rank.
static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static double Ms(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

// CLOCK_REALTIME in ns (DateTime.UtcNow reads it on Linux, at 100 ns resolution): the clock `date` reads in the sandbox.
static long RealtimeNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

// Follows a process's log and hands over each stdout line with the Stopwatch time its event arrived.
static async Task FollowAsync(HutchClient client, string sandbox, string process, ChannelWriter<(long, string)> lines, CancellationToken cancellationToken)
{
    var pending = "";
    try
    {
        await foreach (var e in client.StreamProcessLogsAsync(sandbox, process, 0, follow: true, cancellationToken))
        {
            var at = Stopwatch.GetTimestamp();
            if (e is not LogStdoutEvent stdout)
            {
                continue;
            }
            pending += Encoding.UTF8.GetString(stdout.Data.Span);
            int end;
            while ((end = pending.IndexOf('\n', StringComparison.Ordinal)) >= 0)
            {
                lines.TryWrite((at, pending[..end]));
                pending = pending[(end + 1)..];
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}

// Reads an NDJSON response as it arrives and hands over the bytes of each stdout event with the
// CLOCK_REALTIME of the read that brought it.
static async Task RawNdjsonAsync(HttpClient http, HttpRequestMessage request, Action<long, byte[]> sink, CancellationToken cancellationToken)
{
    try
    {
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[64 * 1024];
        var pending = new List<byte>();
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var now = RealtimeNs();
            pending.AddRange(buffer.AsSpan(0, read));
            int end;
            while ((end = pending.IndexOf((byte)'\n')) >= 0)
            {
                using var doc = JsonDocument.Parse(pending.GetRange(0, end).ToArray());
                pending.RemoveRange(0, end + 1);
                if (doc.RootElement.GetProperty("type").GetString() == "stdout")
                {
                    sink(now, Convert.FromBase64String(doc.RootElement.GetProperty("data").GetString()!));
                }
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}

static long StatusKiB(string path, string key)
{
    try
    {
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(key.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
    }
    catch (IOException)
    {
    }
    return 0;
}

static void Check(bool ok, string what)
{
    if (!ok)
    {
        throw new InvalidOperationException($"bench check failed: {what}");
    }
}
