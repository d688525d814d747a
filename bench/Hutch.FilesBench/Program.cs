// Hutch.FilesBench: issue #3's performance targets, measured through the real HTTP API.
//
//   1. a 1 GiB file: local `cp` of it, upload (PUT .../files/content) and download (GET ...) of the
//      same file, interleaved run by run so page cache and disk state are alike for all three
//   2. recursive listing of 100,000 files (GET .../files/list?recursive=true)
//   3. checkpoint of a 1 GiB workspace (POST .../checkpoints), then diff and reset after a change
//
// usage: Hutch.FilesBench --agent PATH [--runs N] [--size-mib N] [--files N]
// Prints a table; every sandbox is deleted at the end, and the temp data dir with it.
using System.Diagnostics;
using System.Globalization;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;

var agent = Arg("--agent") ?? throw new ArgumentException("--agent PATH is required");
var runs = int.Parse(Arg("--runs") ?? "5", CultureInfo.InvariantCulture);
var sizeMiB = long.Parse(Arg("--size-mib") ?? "1024", CultureInfo.InvariantCulture);
var fileCount = int.Parse(Arg("--files") ?? "100000", CultureInfo.InvariantCulture);
Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");

var dataDir = Directory.CreateTempSubdirectory("hutch-fbench-").FullName;
var scratch = Directory.CreateTempSubdirectory("hutch-fbench-local-").FullName;
var daemon = await DaemonHost.StartAsync(new HutchOptions { DataDir = dataDir, Url = "http://127.0.0.1:0", AgentPath = agent, WarmPool = 0 });
using var client = new HutchClient(new Uri(daemon.Url), File.ReadAllText(Path.Join(dataDir, "api-key")).Trim());
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
    List<double> cp = [], up = [], down = [];
    for (var r = 0; r < runs; r++)
    {
        var copy = Path.Join(scratch, "copy.bin");
        var t = Stopwatch.GetTimestamp();
        Run("cp", source, copy);
        cp.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        File.Delete(copy);

        t = Stopwatch.GetTimestamp();
        await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            await client.UploadAsync(sandbox.Id, "big.bin", input);
        }
        up.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);

        t = Stopwatch.GetTimestamp();
        await using (var download = await client.DownloadAsync(sandbox.Id, "big.bin"))
        await using (var output = new FileStream(copy, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            await download.CopyToAsync(output, 1 << 20);
        }
        down.Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
        File.Delete(copy);
    }
    var cpRate = bytes / Median(cp) / (1 << 20);
    Row($"local cp of {sizeMiB} MiB", Median(cp), $"{cpRate:F0} MiB/s");
    Row("upload through the API", Median(up), $"{bytes / Median(up) / (1 << 20):F0} MiB/s = {Median(cp) / Median(up) * 100:F0} % of cp");
    Row("download through the API", Median(down), $"{bytes / Median(down) / (1 << 20):F0} MiB/s = {Median(cp) / Median(down) * 100:F0} % of cp");

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
    await daemon.DisposeAsync();
    Directory.Delete(scratch, recursive: true);
    Run("sh", "-c", $"umount {dataDir}/workspaces 2>/dev/null; rm -rf {dataDir}");
}
return 0;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

static void Row(string what, double seconds, string note) =>
    Console.WriteLine($"| {what,-40} | {seconds * 1000,9:F1} ms | {note}");

static void Check(bool ok, string what)
{
    if (!ok)
    {
        throw new InvalidOperationException($"bench check failed: {what}");
    }
}

static void Run(params string[] argv)
{
    using var process = Process.Start(argv[0], argv[1..]);
    process.WaitForExit();
}
