using System.Diagnostics;
using Hutch.Linux;

namespace Hutch.Runtime.Cgroups;

/// <summary>
/// Makes sure a deleted sandbox's cgroup is gone under every hierarchy the host mounts (each v1
/// controller, systemd's, the unified one). After its init is killed, a fork bomb's last children
/// can still be dying, or forking, while the runtime removes the cgroups: the kernel refuses to
/// remove a cgroup that holds a task, and the runtime does not report it, so the directories stayed
/// behind. This freezes what is left, kills it, and removes the directories, deepest first.
/// </summary>
public static class CgroupRemover
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(20);

    /// <summary>Removes <paramref name="cgroupPath"/> everywhere, or throws what still holds it once <paramref name="patience"/> is spent.</summary>
    /// <exception cref="IOException">A directory could not be removed in time (the caller retries later).</exception>
    public static async Task RemoveAsync(string cgroupPath, TimeSpan patience, CancellationToken cancellationToken, string root = "/sys/fs/cgroup")
    {
        var directories = Hierarchies(root).Select(h => Path.Join(h, cgroupPath)).ToList();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = directories.Where(Directory.Exists).ToList();
            if (left.Count == 0)
            {
                return;
            }
            KillEverything(root, cgroupPath, left);
            foreach (var directory in left)
            {
                TryRemoveTree(directory);
            }
            if (directories.All(d => !Directory.Exists(d)))
            {
                return;
            }
            if (clock.Elapsed > patience)
            {
                throw new IOException($"the sandbox's cgroups still hold processes after {patience.TotalSeconds:0} s: {string.Join(", ", directories.Where(Directory.Exists))}");
            }
            await Task.Delay(Pause, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every mounted hierarchy: the subdirectories of a v1 root (real ones, not cpu → cpu,cpuacct links), or the v2 root itself.</summary>
    private static IEnumerable<string> Hierarchies(string root) =>
        File.Exists(Path.Join(root, "cgroup.controllers"))
            ? [root]
            : Directory.EnumerateDirectories(root).Where(d => !new DirectoryInfo(d).Attributes.HasFlag(FileAttributes.ReparsePoint));

    /// <summary>
    /// Freezes the cgroup (so nothing forks or exits meanwhile, and a pid read cannot be reused by a
    /// host process before it is signalled), SIGKILLs every task it holds, and thaws it so they die.
    /// </summary>
    private static void KillEverything(string root, string cgroupPath, List<string> directories)
    {
        var freezer = Path.Join(root, "freezer", cgroupPath, "freezer.state");
        var unifiedFreeze = directories.Select(d => Path.Join(d, "cgroup.freeze")).FirstOrDefault(File.Exists);
        TryWrite(freezer, "FROZEN");
        if (unifiedFreeze is not null)
        {
            TryWrite(unifiedFreeze, "1");
        }
        foreach (var directory in directories)
        {
            foreach (var pid in Tasks(directory))
            {
                Processes.Signal(pid, Processes.SIGKILL);
            }
        }
        TryWrite(freezer, "THAWED");
        if (unifiedFreeze is not null)
        {
            TryWrite(unifiedFreeze, "0");
        }
    }

    private static IEnumerable<int> Tasks(string directory)
    {
        var pids = new List<int>();
        foreach (var procs in Directory.EnumerateFiles(directory, "cgroup.procs", SearchOption.AllDirectories))
        {
            try
            {
                pids.AddRange(File.ReadAllLines(procs).Where(l => l.Length > 0).Select(int.Parse));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Removed meanwhile.
            }
        }
        return pids;
    }

    /// <summary>rmdir of the directory and every cgroup below it, deepest first; one still busy stays for the next round.</summary>
    private static void TryRemoveTree(string directory)
    {
        try
        {
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                TryRemoveTree(child);
            }
            Directory.Delete(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Busy (a task still dying) or gone already.
        }
    }

    private static void TryWrite(string file, string value)
    {
        try
        {
            if (File.Exists(file))
            {
                File.WriteAllText(file, value);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cgroup went away meanwhile.
        }
    }
}
