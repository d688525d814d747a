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
}
