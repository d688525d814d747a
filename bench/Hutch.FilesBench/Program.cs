// Hutch.FilesBench: issue #3's performance targets, measured through the real HTTP API.
//
//   1. a 1 GiB file: local `cp` of it, upload (PUT .../files/content) and download (GET ...) of the
//      same file, interleaved run by run so page cache and disk state are alike for all three
//   2. recursive listing of 100,000 files (GET .../files/list?recursive=true)
//   3. checkpoint of a 1 GiB workspace (POST .../checkpoints), then diff and reset after a change
//
// usage: Hutch.FilesBench --cli PATH [--runs N] [--size-mib N] [--files N]
// The daemon is the real `hutch serve` in its own process (as deployed), on a temp data dir, so the
// benchmark's own work never shares its GC or thread pool. Dirty pages are flushed (`sync`) before
// every timed operation and the page cache is dropped and refilled with just that operation's source:
// on a VM, memory the guest has not touched yet costs a host fault per page, so an operation that
// happens to get such pages runs several times slower than one that reuses freed ones (seen here:
// the same upload 0.45 s or 1.9 s). Prints a table; everything is deleted.
using System.Diagnostics;
using System.Globalization;
using Hutch.Client;
using Hutch.Protocol.Api;
using static BenchDaemon;

var cli = Arg("--cli") ?? throw new ArgumentException("--cli PATH (artifacts/cli/hutch) is required");
var runs = int.Parse(Arg("--runs") ?? "7", CultureInfo.InvariantCulture);
var sizeMiB = long.Parse(Arg("--size-mib") ?? "1024", CultureInfo.InvariantCulture);
var fileCount = int.Parse(Arg("--files") ?? "100000", CultureInfo.InvariantCulture);
Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");

var dataDir = Directory.CreateTempSubdirectory("hutch-fbench-").FullName;
var scratch = Directory.CreateTempSubdirectory("hutch-fbench-local-").FullName;
var port = 20000 + Random.Shared.Next(20000);
var serve = new ProcessStartInfo(cli, ["serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}"]) { RedirectStandardOutput = true };
serve.Environment["HUTCH_WARM_POOL"] = "0";
using var daemon = Process.Start(serve)!;
_ = daemon.StandardOutput.ReadToEndAsync();
using var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), await ApiKeyAsync(dataDir));
await WaitForHealthAsync(client);
var sandbox = await client.CreateSandboxAsync();
try
{
    // ---- 1. 1 GiB: cp vs upload vs download
    var source = Path.Join(scratch, "source.bin");
    await using (var f = File.Create(source))
    {
        var block = new byte[1 << 20];
        for (var i = 0; i < sizeMiB; i++)
        {
            Random.Shared.NextBytes(block);
            f.Write(block);
        }
    }
    var bytes = sizeMiB << 20;
    List<double> cp = [], up = [], down = [], socat = [];
    for (var r = 0; r < runs; r++)
    {
        var copy = Path.Join(scratch, "copy.bin");
        Prepare(source);
        var t = Stopwatch.GetTimestamp();
        Run("cp", source, copy);
        cp.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        File.Delete(copy);

        // The floor of any network path on this host: socat, 1 MiB buffers, loopback TCP into a file.
        var socatPort = 40000 + Random.Shared.Next(10000);
        using (var sink = Process.Start("socat", ["-b", "1048576", "-u", $"TCP-LISTEN:{socatPort},reuseaddr", $"CREATE:{copy}"]))
        {
            await Task.Delay(200);
            Prepare(source);
            t = Stopwatch.GetTimestamp();
            Run("socat", "-b", "1048576", "-u", $"OPEN:{source}", $"TCP:127.0.0.1:{socatPort}");
            await sink.WaitForExitAsync();
            socat.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        }
        File.Delete(copy);

        // Like cp's target, the upload's is gone before it starts (a file replaced in place keeps the
        // old copy's pages until the rename).
        if (r > 0)
        {
            await client.DeleteFileAsync(sandbox.Id, "big.bin");
        }
        Prepare(source);
        t = Stopwatch.GetTimestamp();
        await client.UploadFileAsync(sandbox.Id, source, "big.bin");
        up.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);

        Prepare(Path.Join(dataDir, "workspaces", sandbox.Id, "workspace", "big.bin"));
        t = Stopwatch.GetTimestamp();
        await client.DownloadToFileAsync(sandbox.Id, "big.bin", copy);
        down.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        File.Delete(copy);
    }
    var cpRate = bytes / Median(cp) / (1 << 20);
    Row($"local cp of {sizeMiB} MiB", Median(cp), $"{cpRate:F0} MiB/s  (runs: {Spread(cp)})");
    Row("socat loopback TCP into a file (floor)", Median(socat), $"{bytes / Median(socat) / (1 << 20):F0} MiB/s = {Median(cp) / Median(socat) * 100:F0} % of cp  (runs: {Spread(socat)})");
    Row("upload through the API", Median(up), $"{bytes / Median(up) / (1 << 20):F0} MiB/s = {Median(cp) / Median(up) * 100:F0} % of cp  (runs: {Spread(up)})");
    Row("download through the API", Median(down), $"{bytes / Median(down) / (1 << 20):F0} MiB/s = {Median(cp) / Median(down) * 100:F0} % of cp  (runs: {Spread(down)})");

    // ---- 3. checkpoint of the 1 GiB workspace, diff and reset after a change
    List<double> checkpoint = [], diff = [], reset = [];
    for (var r = 0; r < runs; r++)
    {
        var t = Stopwatch.GetTimestamp();
        await client.CreateCheckpointAsync(sandbox.Id, $"c{r}");
        checkpoint.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        await client.WriteTextAsync(sandbox.Id, "changed.txt", "x");
        t = Stopwatch.GetTimestamp();
        var changes = await client.DiffAsync(sandbox.Id, $"c{r}");
        diff.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        Check(changes.Added.SequenceEqual(["changed.txt"]), "diff found the change");
        t = Stopwatch.GetTimestamp();
        await client.ResetAsync(sandbox.Id, $"c{r}");
        reset.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        await client.DeleteCheckpointAsync(sandbox.Id, $"c{r}");
    }
    Row($"checkpoint of a {sizeMiB} MiB workspace", Median(checkpoint), "");
    Row("diff since it after one change", Median(diff), "");
    Row("reset to it", Median(reset), "");
    await client.DeleteFileAsync(sandbox.Id, "big.bin");

    // ---- 2. list 100k files recursively
    var per = Math.Max(1, fileCount / 100);
    var made = await client.ExecAsync(sandbox.Id, new ExecRequest(Command:
        $"mkdir many && cd many && for d in $(seq 1 100); do mkdir $d; (cd $d && seq -f f%g 1 {per} | xargs touch); done", TimeoutMs: 600_000));
    Check(made.ExitCode == 0, "made the files");
    List<double> list = [];
    var count = 0;
    for (var r = 0; r < runs; r++)
    {
        var t = Stopwatch.GetTimestamp();
        var listing = await client.ListFilesAsync(sandbox.Id, "many", recursive: true);
        list.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        count = listing.Entries.Count;
    }
    Row($"list {count} entries recursively", Median(list), "");
}
finally
{
    await client.DeleteSandboxAsync(sandbox.Id);
    daemon.Kill();
    await daemon.WaitForExitAsync();
    Directory.Delete(scratch, recursive: true);
    BenchDataDir.Remove(dataDir);
}
return 0;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

static string Spread(List<double> seconds) => string.Join(" ", seconds.Select(x => (x * 1000).ToString("F0", CultureInfo.InvariantCulture))) + " ms";

static void Row(string what, double seconds, string note) =>
    Console.WriteLine($"| {what,-40} | {seconds * 1000,9:F1} ms | {note}");

static void Check(bool ok, string what)
{
    if (!ok)
    {
        throw new InvalidOperationException($"bench check failed: {what}");
    }
}

// Flushes dirty pages, empties the page cache, and reads the operation's source back into it.
static void Prepare(string source)
{
    Run("sync");
    File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    Run("sh", "-c", $"cat '{source}' > /dev/null");
}

static void Run(params string[] argv)
{
    using var process = Process.Start(argv[0], argv[1..]);
    process.WaitForExit();
}
