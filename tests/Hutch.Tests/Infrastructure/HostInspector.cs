namespace Hutch.Tests.Infrastructure;

/// <summary>Looks at the host from outside the sandboxes: the leftovers a delete must not leave.</summary>
public static class HostInspector
{
    /// <summary>cgroup directories (any v1 controller, or v2) that still exist for this sandbox.</summary>
    public static IEnumerable<string> CgroupDirsOf(string sandboxId) =>
        Directory.EnumerateDirectories("/sys/fs/cgroup")
            .SelectMany(controller => new[] { Path.Join(controller, "hutch", sandboxId), Path.Join("/sys/fs/cgroup", "hutch", sandboxId) })
            .Distinct()
            .Where(Directory.Exists)
            .ToList();

    /// <summary>What a data dir still holds of any sandbox: bundles, workspaces and runtime state.</summary>
    public static IReadOnlyList<string> SandboxLeftovers(string dataDir) =>
        new[] { "sandboxes", "workspaces", "workspaces/.checkpoints", "runc" }
            .Select(folder => Path.Join(dataDir, folder))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFileSystemEntries)
            .Where(entry => Path.GetFileName(entry) != ".checkpoints")   // the store's folder; its entries are checked
            .ToList();

    /// <summary>
    /// Everything of one sandbox a delete must have removed, described: its cgroup directories, host
    /// processes still in its cgroup, mounts naming it, and its bundle, workspace volume, checkpoints and
    /// runtime state in the data dir. Empty when nothing is left.
    /// </summary>
    public static IReadOnlyList<string> LeftoversOf(string dataDir, string sandboxId)
    {
        var left = CgroupDirsOf(sandboxId).Select(d => $"cgroup {d}").ToList();
        left.AddRange(ProcessesInCgroupOf(sandboxId).Select(pid => $"process {pid}"));
        left.AddRange(File.ReadAllLines("/proc/self/mountinfo").Where(m => m.Contains(sandboxId, StringComparison.Ordinal)).Select(m => $"mount {m}"));
        left.AddRange(new[] { Path.Join("sandboxes", sandboxId), Path.Join("workspaces", sandboxId), Path.Join("workspaces", ".checkpoints", sandboxId), Path.Join("runc", sandboxId) }
            .Where(entry => Path.Exists(Path.Join(dataDir, entry))).Select(entry => $"data dir {entry}"));
        return left;
    }

    /// <summary>
    /// Host pids in the sandbox's cgroup (under any hierarchy), zombies left out: the sandbox's init is
    /// an orphan of the host's pid 1 (runc detaches it), and a zombie holds nothing but its pid until
    /// that init reaps it, which some hosts' init does only now and then.
    /// </summary>
    public static IReadOnlyList<int> ProcessesInCgroupOf(string sandboxId)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && File.ReadAllText(Path.Join(dir, "cgroup")).Contains($"/hutch/{sandboxId}", StringComparison.Ordinal)
                    && !File.ReadAllText(Path.Join(dir, "stat")).Split(") ")[^1].StartsWith('Z'))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Process ended while we looked.
            }
        }
        return found;
    }

    /// <summary>Host pids whose command line (NUL-separated argv) contains the given text.</summary>
    public static IReadOnlyList<int> ProcessesWithCommandLine(string fragment)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                if (File.ReadAllText(Path.Join(dir, "cmdline")).Contains(fragment, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>
    /// Files under a data dir that hold <paramref name="text"/> (UTF-8 bytes), its workspaces left
    /// out: what a sandbox's own programs write there is theirs. Symbolic links are not followed.
    /// </summary>
    public static IReadOnlyList<string> FilesHolding(string dataDir, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        var skipped = new[] { "workspaces", "workspaces.img" }.Select(name => Path.Join(dataDir, name)).ToHashSet();
        var found = new List<string>();
        var pending = new Stack<string>([dataDir]);
        while (pending.TryPop(out var dir))
        {
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (skipped.Contains(entry.FullName) || entry.LinkTarget is not null)
                {
                    continue;
                }
                if (entry is DirectoryInfo)
                {
                    pending.Push(entry.FullName);
                }
                // runc's exec.fifo is the only FIFO a data dir can hold, and opening it would block.
                else if (entry is FileInfo { Length: < 512 << 20, Name: not "exec.fifo" } file && Holds(file.FullName, needle))
                {
                    found.Add(file.FullName);
                }
            }
        }
        return found;
    }

    /// <summary>The host pid of a sandbox's init (its agent), from runc's state in the data dir.</summary>
    public static int InitPidOf(string dataDir, string sandboxId)
    {
        var state = File.ReadAllText(Path.Join(dataDir, "runc", sandboxId, "state.json"));
        return System.Text.Json.JsonDocument.Parse(state).RootElement.GetProperty("init_process_pid").GetInt32();
    }

    private static bool Holds(string path, byte[] needle)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
        }
        catch (IOException)
        {
            return false; // a socket, a FIFO, or gone while we looked
        }
    }
}
