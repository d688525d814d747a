// Hutch.ShellBench: issue #4's PTY echo round trip, measured through the real API.
//
// One key is sent over a shell's attach WebSocket, and the clock stops when the terminal's echo of
// it comes back: client -> daemon (WebSocket) -> agent (ProcessInput) -> pty master -> the program
// or the line discipline echoes -> agent's pump -> the shell's log -> inotify wakes the daemon's
// follower -> WebSocket -> client. Two programs on the terminal:
//   bash  an interactive bash: readline reads the key and writes it back (what a user types into)
//   cat   `cat` in canonical mode: the kernel's line discipline echoes, no process in the loop
//
// usage: Hutch.ShellBench --cli PATH [--iterations N]
// The daemon is the real `hutch serve` in its own process, on a temp data dir. Prints p50/p90/p99.
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Hutch.Client;
using Hutch.Protocol.Api;
using static BenchDaemon;

var cli = Arg("--cli") ?? throw new ArgumentException("--cli PATH (artifacts/cli/hutch) is required");
var iterations = int.Parse(Arg("--iterations") ?? "1000", CultureInfo.InvariantCulture);

var dataDir = Directory.CreateTempSubdirectory("hutch-sbench-").FullName;
var port = 20000 + Random.Shared.Next(20000);
var serve = new ProcessStartInfo(cli, ["serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}"]) { RedirectStandardOutput = true };
serve.Environment["HUTCH_WARM_POOL"] = "0";
serve.Environment["Logging__LogLevel__Default"] = "Warning";
using var daemon = Process.Start(serve)!;
_ = daemon.StandardOutput.ReadToEndAsync();
using var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), await ApiKeyAsync(dataDir));
await WaitForHealthAsync(client);
var sandbox = await client.CreateSandboxAsync();
try
{
    Console.WriteLine($"| {"PTY echo round trip, one key",-44} | {"p50",8} | {"p90",8} | {"p99",8} | n");
    foreach (var (label, request) in new[]
    {
        ("bash (readline echoes)", new OpenShellRequest(Cols: 1000, Rows: 50)),
        ("cat (the line discipline echoes)", new OpenShellRequest(Argv: ["cat"], Cols: 1000, Rows: 50)),
    })
    {
        var shell = await client.OpenShellAsync(sandbox.Id, request);
        await using var terminal = await client.AttachShellAsync(sandbox.Id, shell.Id);
        // One reader for the whole run: cancelling a WebSocket read would abort the connection, so
        // waits with a timeout read from this channel instead.
        var events = Channel.CreateUnbounded<ShellEvent>();
        var reader = Task.Run(async () =>
        {
            while (await terminal.ReadAsync() is { } e)
            {
                events.Writer.TryWrite(e);
            }
            events.Writer.TryComplete();
        });
        await Task.Delay(300); // the program is up and waiting for a key
        await DrainAsync(events.Reader);
        var samples = new List<double>(iterations);
        for (var i = -50; i < iterations; i++)
        {
            if (i % 100 == 0)
            {
                // A fresh line now and then: Ctrl-U erases the line typed so far (bash and cat alike).
                await terminal.SendInputAsync("\u0015");
                await Task.Delay(20);
                await DrainAsync(events.Reader);
            }
            var key = (byte)('a' + ((i + 50) % 26));
            var started = Stopwatch.GetTimestamp();
            await terminal.SendInputAsync(new[] { key });
            await WaitForEchoAsync(events.Reader, key);
            if (i >= 0) // the first 50 warm up JIT and connections
            {
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        samples.Sort();
        Console.WriteLine($"| {label,-44} | {P(samples, 50),5:F2} ms | {P(samples, 90),5:F2} ms | {P(samples, 99),5:F2} ms | {samples.Count}");
        await client.CloseShellAsync(sandbox.Id, shell.Id);
        await reader;
    }
}
finally
{
    await client.DeleteSandboxAsync(sandbox.Id);
    daemon.Kill();
    await daemon.WaitForExitAsync();
    BenchDataDir.Remove(dataDir);
}
return 0;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static double P(List<double> sorted, int percentile) => sorted[Math.Min(sorted.Count - 1, sorted.Count * percentile / 100)];

// Until the key comes back (cursor messages and the like are skipped).
static async Task WaitForEchoAsync(ChannelReader<ShellEvent> events, byte key)
{
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
    while (true)
    {
        var e = await events.ReadAsync(timeout.Token);
        if (e is ShellOutputEvent o && o.Data.Span.Contains(key))
        {
            return;
        }
    }
}

// Drops whatever output is pending (a prompt, the erased line) until 100 ms pass without any.
static async Task DrainAsync(ChannelReader<ShellEvent> events)
{
    while (true)
    {
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        try
        {
            await events.ReadAsync(quiet.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
    }
}
