// Hutch.Bench: measures issue #2's performance targets through the real HTTP API.
//
//   1. create -> first exec ready (POST /v1/sandboxes, then POST .../exec of `true`), and delete
//   2. exec round trip of `true` on a warm sandbox over a keep-alive connection
//   3. host memory per idle sandbox (system-wide MemTotal-MemAvailable delta / N, agent RSS/PSS, cgroup memory)
//   4. density: 100, then more, idle sandboxes, each answering an exec; stop at the first error
//
// The daemon runs in this process (DaemonHost.StartAsync on 127.0.0.1:0 with a temp data dir) and is
// driven with Hutch.Client over real loopback HTTP. Splits that explain where time goes (engine calls
// without HTTP, GET /v1/health as the HTTP floor, runc's own share through a timing wrapper) are
// measured in separate phases so they never disturb the headline numbers.
// Results: a text table on stdout and JSON in --out. Everything created is deleted, even on failure.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;

var opt = BenchOptions.Parse(args);
var results = new JsonObject
{
    ["date"] = DateTimeOffset.Now.ToString("O", CultureInfo.InvariantCulture),
    ["host"] = $"{Environment.MachineName}, {Environment.ProcessorCount} cpu, kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}",
    ["options"] = JsonSerializer.SerializeToNode(opt, BenchJson.Default.BenchOptions),
};
var report = new StringBuilder();
var dataDir = Directory.CreateTempSubdirectory("hutch-bench-").FullName;
// The daemon logs every create and delete at Information: keep the console for the results.
Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
Environment.SetEnvironmentVariable("Logging__LogLevel__Hutch", "Warning");
Console.Error.WriteLine($"bench: data dir {dataDir}, agent {opt.Agent}");

var created = new HashSet<string>();
RunningDaemon? daemon = null;
HutchClient? client = null;
var exit = 0;
try
{
    // The main daemon has no warm pool: every create pays for the runtime (the pool is measured on its own below).
    daemon = await DaemonHost.StartAsync(new HutchOptions { DataDir = dataDir, Url = "http://127.0.0.1:0", AgentPath = opt.Agent, Runtime = opt.Runtime, WarmPool = 0 });
    var key = File.ReadAllText(Path.Join(dataDir, "api-key")).Trim();
    client = new HutchClient(new Uri(daemon.Url), key);
    Console.Error.WriteLine($"bench: daemon at {daemon.Url}");
    var exec = new ExecRequest(Argv: ["true"]);

    // ---- warm-up: JIT the daemon and client paths, first runc run (page cache)
    for (var i = 0; i < opt.Warmup; i++)
    {
        var s = await client.CreateSandboxAsync();
        created.Add(s.Id);
        for (var j = 0; j < 20; j++)
        {
            Check(await client.ExecAsync(s.Id, exec));
        }
        await client.DeleteSandboxAsync(s.Id);
        created.Remove(s.Id);
    }

    // ---- 1. create -> first exec ready, and delete
    Console.Error.WriteLine($"bench: create/exec/delete x{opt.CreateRuns}");
    var tCreate = new List<double>();
    var tFirst = new List<double>();
    var tSum = new List<double>();
    var tDelete = new List<double>();
    for (var i = 0; i < opt.CreateRuns; i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        var s = await client.CreateSandboxAsync();
        var t1 = Stopwatch.GetTimestamp();
        created.Add(s.Id);
        Check(await client.ExecAsync(s.Id, exec));
        var t2 = Stopwatch.GetTimestamp();
        await client.DeleteSandboxAsync(s.Id);
        var t3 = Stopwatch.GetTimestamp();
        created.Remove(s.Id);
        tCreate.Add(Ms(t0, t1));
        tFirst.Add(Ms(t1, t2));
        tSum.Add(Ms(t0, t2));
        tDelete.Add(Ms(t2, t3));
    }

    // the same through the engine, no HTTP (what HTTP adds to create)
    var eCreate = new List<double>();
    var eFirst = new List<double>();
    for (var i = 0; i < Math.Min(opt.CreateRuns, 20); i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        var s = await daemon.Engine.CreateAsync(new CreateSandboxRequest());
        var t1 = Stopwatch.GetTimestamp();
        created.Add(s.Id);
        Check(await daemon.Engine.ExecAsync(s.Id, exec));
        var t2 = Stopwatch.GetTimestamp();
        await daemon.Engine.DeleteAsync(s.Id);
        created.Remove(s.Id);
        eCreate.Add(Ms(t0, t1));
        eFirst.Add(Ms(t1, t2));
    }

    // ---- 1b. the same with the daemon's warm pool (a second daemon, pool of opt.WarmPool)
    var (pCreate, pFirst, pSum, pDelete, pHits) = await PoolPhase(opt, exec);

    // ---- 2. exec round trip on a warm sandbox
    Console.Error.WriteLine($"bench: exec round trip x{opt.ExecRuns}");
    var warm = await client.CreateSandboxAsync();
    created.Add(warm.Id);
    for (var i = 0; i < 100; i++)
    {
        Check(await client.ExecAsync(warm.Id, exec));
    }
    var tExec = new List<double>(opt.ExecRuns);
    for (var i = 0; i < opt.ExecRuns; i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        Check(await client.ExecAsync(warm.Id, exec));
        tExec.Add(Ms(t0, Stopwatch.GetTimestamp()));
    }
    // floors: the HTTP API alone (GET /v1/health), GET of the sandbox, and the engine's exec without HTTP
    var tHealth = await Repeat(opt.ExecRuns, () => client.HealthAsync());
    var tEngineExec = await Repeat(opt.ExecRuns, async () => Check(await daemon.Engine.ExecAsync(warm.Id, exec)));
    var tShell = await Repeat(Math.Min(opt.ExecRuns, 200), async () => Check(await client.ExecAsync(warm.Id, new ExecRequest(Command: "echo hi"))));
    await client.DeleteSandboxAsync(warm.Id);
    created.Remove(warm.Id);

    // ---- 3. memory per idle sandbox
    Console.Error.WriteLine($"bench: idle memory, {opt.IdleN} sandboxes");
    await Settle();
    var mem0 = MemUsedKiB();
    var self0 = SelfRssKiB();
    var idle = new List<string>();
    for (var i = 0; i < opt.IdleN; i++)
    {
        var s = await client.CreateSandboxAsync();
        created.Add(s.Id);
        idle.Add(s.Id);
    }
    await Settle();
    var mem1 = MemUsedKiB();
    var self1 = SelfRssKiB();
    var (rssSum, pssSum, agents) = AgentMemory(dataDir, idle);
    long cgSum = 0;
    foreach (var id in idle)
    {
        cgSum += (await client.GetSandboxAsync(id)).Usage?.MemoryBytes ?? 0;
    }
    await DeleteAll(client, idle, created, opt.Parallel);
    await Settle();
    var mem2 = MemUsedKiB();

    // ---- 4. density: 100 idle sandboxes, then push on; each level must answer an exec in every sandbox
    var fill = new JsonArray();
    var fillText = new StringBuilder();
    var pool = new List<string>();
    string? fillError = null;
    var fillMem0 = MemUsedKiB();
    var fillSelf0 = SelfRssKiB();
    var fillWatch = Stopwatch.StartNew();
    foreach (var level in opt.FillLevels)
    {
        if (MemAvailableKiB() < opt.MinFreeMiB * 1024L)
        {
            fillError = $"stopped before {level}: MemAvailable below {opt.MinFreeMiB} MiB";
            break;
        }
        Console.Error.WriteLine($"bench: fill to {level}");
        var t0 = Stopwatch.GetTimestamp();
        var createdNow = new List<double>();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(pool.Count, level - pool.Count),
                new ParallelOptions { MaxDegreeOfParallelism = opt.Parallel },
                async (_, ct) =>
                {
                    var c0 = Stopwatch.GetTimestamp();
                    var s = await client.CreateSandboxAsync(cancellationToken: ct);
                    var ms = Ms(c0, Stopwatch.GetTimestamp());
                    lock (pool)
                    {
                        created.Add(s.Id);
                        pool.Add(s.Id);
                        createdNow.Add(ms);
                    }
                });
            // every sandbox of the pool answers
            await Parallel.ForEachAsync(pool.ToList(), new ParallelOptions { MaxDegreeOfParallelism = opt.Parallel },
                async (id, ct) => Check(await client.ExecAsync(id, exec, ct)));
        }
        catch (Exception e)
        {
            fillError = $"error while filling to {level} (had {pool.Count} up): {e.GetType().Name}: {e.Message}";
            Console.Error.WriteLine("bench: " + fillError);
            break;
        }
        var fillS = Ms(t0, Stopwatch.GetTimestamp()) / 1000;
        await Settle();
        var used = MemUsedKiB();
        var live = (await client.ListSandboxesAsync()).Count(s => s.State == "running");
        var (fr, fp, fa) = AgentMemory(dataDir, pool);
        var perSbx = (used - fillMem0) / 1024.0 / pool.Count;
        var daemonDelta = (SelfRssKiB() - fillSelf0) / 1024.0;
        fill.Add(new JsonObject
        {
            ["level"] = level, ["up"] = pool.Count, ["running"] = live, ["seconds"] = Math.Round(fillS, 2),
            ["create_p50_ms"] = Pct(createdNow, 50), ["create_p99_ms"] = Pct(createdNow, 99),
            ["mib_per_sandbox_system"] = Math.Round(perSbx, 2), ["agent_rss_mib_per_sandbox"] = Math.Round(fr / 1024.0 / Math.Max(1, fa), 2),
            ["agent_pss_mib_per_sandbox"] = Math.Round(fp / 1024.0 / Math.Max(1, fa), 2), ["daemon_rss_delta_mib"] = Math.Round(daemonDelta, 1),
            ["mem_available_mib"] = MemAvailableKiB() / 1024,
        });
        fillText.AppendLine(CultureInfo.InvariantCulture,
            $"  {level,4} | {pool.Count,4} up, {live,4} running, all answered exec | {fillS,6:F1} s (create p50 {Pct(createdNow, 50):F0} ms, p99 {Pct(createdNow, 99):F0} ms with {opt.Parallel} in flight) | system {perSbx:F2} MiB/sbx | agent RSS {fr / 1024.0 / Math.Max(1, fa):F2} PSS {fp / 1024.0 / Math.Max(1, fa):F2} MiB/sbx | daemon RSS +{daemonDelta:F0} MiB");
    }
    var maxUp = pool.Count;
    var tDel = Stopwatch.GetTimestamp();
    await DeleteAll(client, pool, created, opt.Parallel);
    var delAllS = Ms(tDel, Stopwatch.GetTimestamp()) / 1000;
    var leftRunc = Directory.Exists(Path.Join(dataDir, "runc")) ? Directory.GetDirectories(Path.Join(dataDir, "runc")).Length : 0;

    // ---- create breakdown: runc's own time, through a wrapper that timestamps each runc call
    JsonObject? breakdown = null;
    string breakdownText = "";
    if (opt.Breakdown && File.Exists(opt.TimedRuntime))
    {
        Console.Error.WriteLine("bench: create breakdown with the runc timing wrapper");
        (breakdown, breakdownText) = await Breakdown(opt, exec);
    }

    // ---- report
    results["create"] = Stats(tCreate);
    results["first_exec"] = Stats(tFirst);
    results["create_plus_first_exec"] = Stats(tSum);
    results["delete"] = Stats(tDelete);
    results["engine_create_no_http"] = Stats(eCreate);
    results["pool_size"] = opt.WarmPool;
    results["pool_create"] = Stats(pCreate);
    results["pool_first_exec"] = Stats(pFirst);
    results["pool_create_plus_first_exec"] = Stats(pSum);
    results["pool_delete"] = Stats(pDelete);
    results["pool_hits"] = pHits;
    results["engine_first_exec_no_http"] = Stats(eFirst);
    results["exec_rtt"] = Stats(tExec);
    results["health_rtt"] = Stats(tHealth);
    results["engine_exec_no_http"] = Stats(tEngineExec);
    results["exec_sh_echo_rtt"] = Stats(tShell);
    var perSystem = (mem1 - mem0) / 1024.0 / opt.IdleN;
    var perRelease = (mem1 - mem2) / 1024.0 / opt.IdleN;
    results["idle"] = new JsonObject
    {
        ["n"] = opt.IdleN, ["agents_found"] = agents,
        ["mib_per_sandbox_system_delta"] = Math.Round(perSystem, 2),
        ["mib_per_sandbox_released_on_delete"] = Math.Round(perRelease, 2),
        ["agent_rss_mib_per_sandbox"] = Math.Round(rssSum / 1024.0 / Math.Max(1, agents), 2),
        ["agent_pss_mib_per_sandbox"] = Math.Round(pssSum / 1024.0 / Math.Max(1, agents), 2),
        ["cgroup_memory_current_mib_per_sandbox"] = Math.Round(cgSum / 1048576.0 / opt.IdleN, 2),
        ["daemon_rss_delta_mib"] = Math.Round((self1 - self0) / 1024.0, 1),
    };
    results["fill"] = fill;
    results["fill_max_up"] = maxUp;
    results["fill_error"] = fillError;
    results["fill_delete_all_seconds"] = Math.Round(delAllS, 2);
    results["runc_state_dirs_left"] = leftRunc;
    results["daemon_rss_mib_end"] = Math.Round(SelfRssKiB() / 1024.0, 1);
    if (breakdown is not null)
    {
        results["breakdown"] = breakdown;
    }

    report.AppendLine("### Hutch through its HTTP API (Hutch.Bench; in-process daemon on 127.0.0.1, Hutch.Client, keep-alive)");
    report.AppendLine("ms: p50 / p90 / p99 (min, n)");
    Row(report, "1. create (POST /v1/sandboxes)", tCreate);
    Row(report, "1. first exec `true` after create", tFirst);
    Row(report, "1. create + first exec (target p50 <= 50)", tSum);
    Row(report, "1. delete (DELETE /v1/sandboxes/{id})", tDelete);
    Row(report, "   engine create, no HTTP", eCreate);
    Row(report, "   engine first exec, no HTTP", eFirst);
    Row(report, $"1p. create, warm pool {opt.WarmPool} ({pHits}/{pCreate.Count} hit)", pCreate);
    Row(report, "1p. first exec `true`, warm pool", pFirst);
    Row(report, "1p. create + first exec, warm pool", pSum);
    Row(report, "1p. delete, warm pool", pDelete);
    Row(report, "2. exec `true`, warm (target p50 <= 3)", tExec);
    Row(report, "   GET /v1/health (HTTP floor)", tHealth);
    Row(report, "   engine exec `true`, no HTTP", tEngineExec);
    Row(report, "   exec `sh -c 'echo hi'`, warm", tShell);
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture, $"3. idle memory, {opt.IdleN} idle sandboxes (target <= 8 MiB/sbx):");
    report.AppendLine(CultureInfo.InvariantCulture, $"   system (MemTotal-MemAvailable) delta: {perSystem:F2} MiB/sbx; released on delete: {perRelease:F2} MiB/sbx");
    report.AppendLine(CultureInfo.InvariantCulture, $"   agent RSS {rssSum / 1024.0 / Math.Max(1, agents):F2} MiB/sbx, PSS {pssSum / 1024.0 / Math.Max(1, agents):F2} MiB/sbx ({agents} agents found); cgroup memory.current {cgSum / 1048576.0 / opt.IdleN:F2} MiB/sbx; daemon RSS +{(self1 - self0) / 1024.0:F1} MiB");
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture, $"4. density (levels {string.Join(",", opt.FillLevels)}, {opt.Parallel} creates in flight): reached {maxUp} idle sandboxes{(fillError is null ? " without error" : "; " + fillError)}");
    report.Append(fillText);
    report.AppendLine(CultureInfo.InvariantCulture, $"   deleted all {maxUp} in {delAllS:F1} s ({opt.Parallel} in flight); runc state dirs left: {leftRunc}");
    report.Append(breakdownText);
}
catch (Exception e)
{
    Console.Error.WriteLine($"bench: FAILED: {e}");
    results["failure"] = e.ToString();
    exit = 1;
}
finally
{
    if (client is not null && created.Count > 0)
    {
        Console.Error.WriteLine($"bench: cleaning up {created.Count} sandboxes");
        await DeleteAll(client, created.ToList(), created, opt.Parallel);
    }
    client?.Dispose();
    if (daemon is not null)
    {
        await daemon.DisposeAsync();
    }
    BenchDataDir.Remove(dataDir);
}

Console.Write(report.ToString());
if (opt.Out is not null)
{
    File.WriteAllText(opt.Out, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
return exit;

// ---------------------------------------------------------------- helpers

static async Task<(JsonObject, string)> Breakdown(BenchOptions opt, ExecRequest exec)
{
    var dir = Directory.CreateTempSubdirectory("hutch-bench-bd-").FullName;
    var log = Path.Join(dir, "runc-times.log"); // written by the wrapper: <--root>/../runc-times.log
    var created = new List<string>();
    await using var daemon = await DaemonHost.StartAsync(new HutchOptions { DataDir = dir, Url = "http://127.0.0.1:0", AgentPath = opt.Agent, Runtime = opt.TimedRuntime, WarmPool = 0 });
    using var client = new HutchClient(new Uri(daemon.Url), File.ReadAllText(Path.Join(dir, "api-key")).Trim());
    var create = new List<double>();
    var del = new List<double>();
    try
    {
        for (var i = 0; i < 3; i++)
        {
            var s = await client.CreateSandboxAsync();
            await client.DeleteSandboxAsync(s.Id);
        }
        File.WriteAllText(log, "");
        var n = Math.Min(opt.CreateRuns, 30);
        for (var i = 0; i < n; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var s = await client.CreateSandboxAsync();
            create.Add(Ms(t0, Stopwatch.GetTimestamp()));
            created.Add(s.Id);
            Check(await client.ExecAsync(s.Id, exec));
            var t1 = Stopwatch.GetTimestamp();
            await client.DeleteSandboxAsync(s.Id);
            del.Add(Ms(t1, Stopwatch.GetTimestamp()));
            created.Remove(s.Id);
        }
    }
    finally
    {
        foreach (var id in created)
        {
            await client.DeleteSandboxAsync(id);
        }
    }
    // the wrapper logs: "<verb> <ms inside runc> <ms the wrapper itself took to start runc>"
    var runcRun = new List<double>();
    var runcDelete = new List<double>();
    foreach (var line in File.ReadAllLines(log))
    {
        var p = line.Split(' ');
        if (p.Length >= 2 && double.TryParse(p[1], CultureInfo.InvariantCulture, out var ms))
        {
            (p[0] == "run" ? runcRun : p[0] == "delete" ? runcDelete : new List<double>()).Add(ms);
        }
    }
    BenchDataDir.Remove(dir);
    var sb = new StringBuilder();
    sb.AppendLine();
    sb.AppendLine("create breakdown (separate daemon whose runtime is bench/runc-timed.sh: runc wrapped, each call timed around the real runc):");
    Row(sb, "   create (HTTP), with wrapper", create);
    Row(sb, "   `runc run --detach` inside it", runcRun);
    sb.AppendLine(CultureInfo.InvariantCulture, $"   => Hutch's own share of create (p50 create - p50 runc run, wrapper's ~1-2 ms fork+exec of bash included): {Pct(create, 50) - Pct(runcRun, 50):F1} ms");
    Row(sb, "   delete (HTTP), with wrapper", del);
    Row(sb, "   `runc delete --force` inside it", runcDelete);
    return (new JsonObject
    {
        ["create_with_wrapper"] = Stats(create), ["runc_run_detach"] = Stats(runcRun),
        ["delete_with_wrapper"] = Stats(del), ["runc_delete"] = Stats(runcDelete),
    }, sb.ToString());
}

// create -> first exec -> delete through a daemon with a warm pool, back to back (the pool refills while
// the previous sandbox is deleted); a hit = the pool had a ready sandbox just before the create.
static async Task<(List<double>, List<double>, List<double>, List<double>, int)> PoolPhase(BenchOptions opt, ExecRequest exec)
{
    var dir = Directory.CreateTempSubdirectory("hutch-bench-pool-").FullName;
    List<double> create = [], first = [], sum = [], del = [];
    var hits = 0;
    Console.Error.WriteLine($"bench: create/exec/delete with a warm pool of {opt.WarmPool} x{opt.CreateRuns}");
    await using (var daemon = await DaemonHost.StartAsync(new HutchOptions { DataDir = dir, Url = "http://127.0.0.1:0", AgentPath = opt.Agent, Runtime = opt.Runtime, WarmPool = opt.WarmPool }))
    {
        using var client = new HutchClient(new Uri(daemon.Url), File.ReadAllText(Path.Join(dir, "api-key")).Trim());
        for (var i = 0; i < 200 && daemon.Engine.WarmPoolReady < opt.WarmPool; i++)
        {
            await Task.Delay(50);
        }
        for (var i = 0; i < opt.CreateRuns + opt.Warmup; i++)
        {
            var ready = daemon.Engine.WarmPoolReady > 0;
            var t0 = Stopwatch.GetTimestamp();
            var s = await client.CreateSandboxAsync();
            var t1 = Stopwatch.GetTimestamp();
            try
            {
                Check(await client.ExecAsync(s.Id, exec));
            }
            finally
            {
                var t2 = Stopwatch.GetTimestamp();
                await client.DeleteSandboxAsync(s.Id);
                var t3 = Stopwatch.GetTimestamp();
                if (i >= opt.Warmup)
                {
                    hits += ready ? 1 : 0;
                    create.Add(Ms(t0, t1));
                    first.Add(Ms(t1, t2));
                    sum.Add(Ms(t0, t2));
                    del.Add(Ms(t2, t3));
                }
            }
        }
    }
    BenchDataDir.Remove(dir);
    return (create, first, sum, del, hits);
}

static async Task DeleteAll(HutchClient client, List<string> ids, HashSet<string> created, int parallel)
{
    await Parallel.ForEachAsync(ids.ToList(), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (id, ct) =>
    {
        try
        {
            await client.DeleteSandboxAsync(id, cancellationToken: ct);
            lock (created)
            {
                created.Remove(id);
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"bench: delete {id} failed: {e.Message}");
        }
    });
    ids.Clear();
}

static void Check(ExecResult r)
{
    if (r.ExitCode != 0)
    {
        throw new InvalidOperationException($"exec failed: exit {r.ExitCode} {r.Signal} {r.Stderr}");
    }
}

static async Task<List<double>> Repeat(int n, Func<Task> action)
{
    for (var i = 0; i < Math.Min(n, 50); i++)
    {
        await action();
    }
    var list = new List<double>(n);
    for (var i = 0; i < n; i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        await action();
        list.Add(Ms(t0, Stopwatch.GetTimestamp()));
    }
    return list;
}

static double Ms(long a, long b) => (b - a) * 1000.0 / Stopwatch.Frequency;

static double Pct(List<double> v, double p)
{
    if (v.Count == 0)
    {
        return double.NaN;
    }
    var s = v.OrderBy(x => x).ToList();
    var i = (int)Math.Ceiling(p / 100 * s.Count) - 1;
    return s[Math.Clamp(i, 0, s.Count - 1)];
}

static JsonObject Stats(List<double> v) => v.Count == 0 ? new JsonObject { ["n"] = 0 } : new()
{
    ["n"] = v.Count,
    ["min"] = Math.Round(v.Count > 0 ? v.Min() : double.NaN, 3),
    ["p50"] = Math.Round(Pct(v, 50), 3),
    ["p90"] = Math.Round(Pct(v, 90), 3),
    ["p99"] = Math.Round(Pct(v, 99), 3),
    ["mean"] = Math.Round(v.Count > 0 ? v.Average() : double.NaN, 3),
};

static void Row(StringBuilder sb, string name, List<double> v) =>
    sb.AppendLine(CultureInfo.InvariantCulture, $"{name,-44} | {Pct(v, 50),7:F2} / {Pct(v, 90),7:F2} / {Pct(v, 99),7:F2}  ({(v.Count > 0 ? v.Min() : 0):F2}, n={v.Count})");

static long MeminfoKiB(string key)
{
    foreach (var line in File.ReadLines("/proc/meminfo"))
    {
        if (line.StartsWith(key + ":", StringComparison.Ordinal))
        {
            return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
    }
    return 0;
}

static long MemUsedKiB() => MeminfoKiB("MemTotal") - MeminfoKiB("MemAvailable");

static long MemAvailableKiB() => MeminfoKiB("MemAvailable");

static long StatusKiB(string file, string key)
{
    try
    {
        foreach (var line in File.ReadLines(file))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
    }
    catch (IOException)
    {
    }
    return 0;
}

static long SelfRssKiB() => StatusKiB("/proc/self/status", "VmRSS");

// The agent's host pid from runc's state (runc --root <data>/runc keeps <id>/state.json with init_process_pid).
static (long Rss, long Pss, int Found) AgentMemory(string dataDir, List<string> ids)
{
    long rss = 0, pss = 0;
    var found = 0;
    foreach (var id in ids)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Join(dataDir, "runc", id, "state.json")));
            var pid = doc.RootElement.GetProperty("init_process_pid").GetInt32();
            var r = StatusKiB($"/proc/{pid}/status", "VmRSS");
            if (r > 0)
            {
                rss += r;
                pss += StatusKiB($"/proc/{pid}/smaps_rollup", "Pss");
                found++;
            }
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
        {
        }
    }
    return (rss, pss, found);
}

static async Task Settle()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    await Task.Delay(1500);
}

internal sealed record BenchOptions
{
    public string? Repo { get; init; }
    public string Agent { get; init; } = "";
    public string Runtime { get; init; } = "runc";
    public string TimedRuntime { get; init; } = "";
    public bool Breakdown { get; init; } = true;
    public int Warmup { get; init; } = 3;
    public int CreateRuns { get; init; } = 50;
    public int ExecRuns { get; init; } = 1000;
    public int IdleN { get; init; } = 50;
    public int[] FillLevels { get; init; } = [100, 250, 500, 1000];
    public int Parallel { get; init; } = 4;
    public int WarmPool { get; init; } = 2;
    public int MinFreeMiB { get; init; } = 4096;
    public string? Out { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--repo" => o with { Repo = Next() },
                "--agent" => o with { Agent = Next() },
                "--runtime" => o with { Runtime = Next() },
                "--timed-runtime" => o with { TimedRuntime = Next() },
                "--no-breakdown" => o with { Breakdown = false },
                "--create-runs" => o with { CreateRuns = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--exec-runs" => o with { ExecRuns = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--idle" => o with { IdleN = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--fill" => o with { FillLevels = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--warm-pool" => o with { WarmPool = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--parallel" => o with { Parallel = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--min-free-mib" => o with { MinFreeMiB = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--out" => o with { Out = Next() },
                "--quick" => o with { CreateRuns = 15, ExecRuns = 500, IdleN = 20, FillLevels = [100] },
                _ => throw new ArgumentException($"unknown option {args[i]}; see bench/run.sh"),
            };
        }
        var repo = o.Repo ?? Directory.GetCurrentDirectory();
        return o with
        {
            Repo = repo,
            Agent = o.Agent.Length > 0 ? o.Agent : Path.Join(repo, "artifacts/agent/hutch-agent"),
            TimedRuntime = o.TimedRuntime.Length > 0 ? o.TimedRuntime : Path.Join(repo, "bench/runc-timed.sh"),
        };
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(BenchOptions))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
