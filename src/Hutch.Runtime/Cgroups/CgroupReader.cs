using System.Globalization;

namespace Hutch.Runtime.Cgroups;

/// <summary>Resource use of one sandbox as its cgroups count it.</summary>
public sealed record CgroupUsage(long MemoryBytes, long MemoryPeakBytes, int Pids, long CpuTimeMs, long OomKills);

/// <summary>
/// Reads a sandbox's cgroup counters, on cgroup v1 (one hierarchy per controller, as on this
/// project's hybrid hosts where runc uses the v1 controllers) or a pure cgroup v2 host.
/// </summary>
public sealed class CgroupReader(string cgroupRoot = "/sys/fs/cgroup")
{
    private readonly bool _unified = File.Exists(Path.Join(cgroupRoot, "cgroup.controllers"));

    /// <summary>The counters, or null when the cgroup does not exist (sandbox gone).</summary>
    public CgroupUsage? Read(string cgroupPath)
    {
        try
        {
            return _unified ? ReadV2(cgroupPath) : ReadV1(cgroupPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>How many times the kernel's OOM killer fired in this cgroup (0 when unknown).</summary>
    public long OomKills(string cgroupPath)
    {
        try
        {
            return _unified
                ? KeyedValue(Path.Join(cgroupRoot, cgroupPath, "memory.events"), "oom_kill")
                : KeyedValue(Path.Join(cgroupRoot, "memory", cgroupPath, "memory.oom_control"), "oom_kill");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>Every directory the runtime should have removed for this cgroup path (for leak checks).</summary>
    public IEnumerable<string> Directories(string cgroupPath) => _unified
        ? new[] { Path.Join(cgroupRoot, cgroupPath) }
        : new[] {"memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "systemd" }.Select(c => Path.Join(cgroupRoot, c, cgroupPath));

    private CgroupUsage ReadV1(string path)
    {
        var memory = Path.Join(cgroupRoot, "memory", path);
        return new CgroupUsage(
            Number(Path.Join(memory, "memory.usage_in_bytes")),
            Number(Path.Join(memory, "memory.max_usage_in_bytes")),
            (int)Number(Path.Join(cgroupRoot, "pids", path, "pids.current")),
            Number(Path.Join(cgroupRoot, "cpuacct", path, "cpuacct.usage")) / 1_000_000,
            KeyedValue(Path.Join(memory, "memory.oom_control"), "oom_kill"));
    }

    private CgroupUsage ReadV2(string path)
    {
        var dir = Path.Join(cgroupRoot, path);
        var peak = Path.Join(dir, "memory.peak");
        return new CgroupUsage(
            Number(Path.Join(dir, "memory.current")),
            File.Exists(peak) ? Number(peak) : 0,
            (int)Number(Path.Join(dir, "pids.current")),
            KeyedValue(Path.Join(dir, "cpu.stat"), "usage_usec") / 1000,
            KeyedValue(Path.Join(dir, "memory.events"), "oom_kill"));
    }

    private static long Number(string file) => long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);

    private static long KeyedValue(string file, string key)
    {
        foreach (var line in File.ReadLines(file))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key))
            {
                return long.Parse(line.AsSpan(space + 1).Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
