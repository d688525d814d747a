using System.Globalization;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>The fields of /proc/&lt;pid&gt;/stat that tell who belongs to a process tree (proc_pid_stat(5)).</summary>
/// <param name="State">R, S, D, T, Z (zombie), X (dead), …</param>
public readonly record struct ProcStat(int Pid, char State, int ParentPid, int ProcessGroup, int Session)
{
    /// <summary>A zombie or dead entry: it runs nothing any more, signalling it is pointless.</summary>
    public bool IsGone => State is 'Z' or 'X' or 'x';
}

/// <summary>
/// Finds and signals a command's whole process tree by scanning /proc. A command is started in
/// its own session (setsid), so its tree is every process whose session or process group is the
/// command's pid, plus every descendant by parent chain (which catches a child that called setsid
/// itself). Without a cgroup per command this is the best a process can do; killing repeats the
/// scan until nothing is left, so a process forked while we kill is caught by the next pass.
/// </summary>
public static class ProcTree
{
    /// <summary>
    /// Parses the text of /proc/&lt;pid&gt;/stat: "pid (comm) state ppid pgrp session …". comm may
    /// hold spaces and parentheses, so the fields after it are found from the last ')'.
    /// </summary>
    public static bool TryParseStat(ReadOnlySpan<byte> stat, out ProcStat result)
    {
        result = default;
        var open = stat.IndexOf((byte)'(');
        var close = stat.LastIndexOf((byte)')');
        if (open <= 0 || close < open || close + 2 >= stat.Length)
        {
            return false;
        }
        if (!int.TryParse(stat[..open].Trim((byte)' '), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }
        var rest = stat[(close + 2)..];
        var state = (char)rest[0];
        rest = rest[1..];
        Span<int> numbers = stackalloc int[3];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (rest.Length == 0 || rest[0] != (byte)' ')
            {
                return false;
            }
            rest = rest[1..];
            var end = rest.IndexOf((byte)' ');
            var field = end < 0 ? rest : rest[..end];
            if (!int.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
            rest = end < 0 ? [] : rest[end..];
        }
        result = new ProcStat(pid, state, numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>Every process visible in <paramref name="procRoot"/> (entries that vanish mid-scan are skipped).</summary>
    public static List<ProcStat> Snapshot(string procRoot = "/proc")
    {
        var result = new List<ProcStat>();
        Span<byte> buffer = stackalloc byte[1024];
        foreach (var dir in Directory.EnumerateDirectories(procRoot))
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }
            try
            {
                using var handle = File.OpenHandle(Path.Join(dir, "stat"));
                var read = RandomAccess.Read(handle, buffer, 0);
                if (TryParseStat(buffer[..read], out var stat))
                {
                    result.Add(stat);
                }
            }
            catch (IOException)
            {
                // the process exited between the listing and the read
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return result;
    }

    /// <summary>
    /// The live members of <paramref name="root"/>'s tree in a snapshot: session or process group
    /// equal to root, root itself (always first), and all their descendants. Zombies are walked through (their
    /// children are still theirs until reparented) but not returned. <paramref name="exclude"/> is
    /// never returned (the caller itself, and pid 1).
    /// </summary>
    public static List<int> FindTree(IReadOnlyList<ProcStat> processes, int root, int exclude = 0)
    {
        var children = new Dictionary<int, List<int>>();
        var byPid = new Dictionary<int, ProcStat>(processes.Count);
        var queue = new Queue<int>();
        var seen = new HashSet<int>();
        foreach (var p in processes)
        {
            byPid[p.Pid] = p;
            if (!children.TryGetValue(p.ParentPid, out var list))
            {
                children[p.ParentPid] = list = [];
            }
            list.Add(p.Pid);
            if (p.Pid == root || p.Session == root || p.ProcessGroup == root)
            {
                if (seen.Add(p.Pid))
                {
                    queue.Enqueue(p.Pid);
                }
            }
        }
        var result = new List<int>();
        while (queue.TryDequeue(out var pid))
        {
            if (pid != exclude && pid != 1 && byPid.TryGetValue(pid, out var stat) && !stat.IsGone)
            {
                result.Add(pid);
            }
            if (children.TryGetValue(pid, out var kids))
            {
                foreach (var kid in kids)
                {
                    if (seen.Add(kid))
                    {
                        queue.Enqueue(kid);
                    }
                }
            }
        }
        // The command itself first: once its SIGKILL is pending it can never run again, so it cannot
        // see a child die and exit with a status of its own (137) before its own signal lands. /proc
        // lists pids in numeric order, which after a pid wrap-around puts children before parents.
        var rootIndex = result.IndexOf(root);
        if (rootIndex > 0)
        {
            (result[0], result[rootIndex]) = (result[rootIndex], result[0]);
        }
        return result;
    }

    /// <summary>Sends <paramref name="signal"/> once to every live member of root's tree; returns how many members were found.</summary>
    /// <param name="spareRoot">Leave root itself alone: signal only the rest of its tree (a session shell's commands).</param>
    public static int Signal(int root, int signal, bool spareRoot = false) => SignalTree(root, signal, spareRoot).Count;

    private static List<int> SignalTree(int root, int signal, bool spareRoot)
    {
        var members = FindTree(Snapshot(), root, Processes.CurrentPid);
        if (spareRoot)
        {
            members.Remove(root);
        }
        foreach (var pid in members)
        {
            try
            {
                Processes.Signal(pid, signal);
            }
            catch (LinuxException)
            {
                // EPERM: not ours to signal (a different uid); nothing more we can do about it.
            }
        }
        return members;
    }

    /// <summary>
    /// SIGKILLs root's tree, scanning again after each pass until no live member is left (or
    /// <paramref name="maxPasses"/> is reached: a process stuck in uninterruptible sleep dies late).
    /// Returns true when the tree is gone.
    /// </summary>
    public static bool Kill(int root, int maxPasses = 20, bool spareRoot = false) => Kill(root, out _, maxPasses, spareRoot);

    /// <inheritdoc cref="Kill(int, int, bool)"/>
    /// <param name="killed">How many distinct processes were signalled over all passes.</param>
    public static bool Kill(int root, out int killed, int maxPasses = 20, bool spareRoot = false)
    {
        var signalled = new HashSet<int>();
        killed = 0;
        for (var pass = 0; pass < maxPasses; pass++)
        {
            var members = SignalTree(root, Processes.SIGKILL, spareRoot);
            signalled.UnionWith(members);
            killed = signalled.Count;
            if (members.Count == 0)
            {
                return true;
            }
            // Let SIGKILL land (the task has to be scheduled to die) before looking again.
            Thread.Sleep(pass < 5 ? 1 : 10);
        }
        return FindTree(Snapshot(), root, Processes.CurrentPid).Count == (spareRoot && Processes.Exists(root) ? 1 : 0);
    }

    /// <summary>
    /// Makes the caller a child subreaper (PR_SET_CHILD_SUBREAPER): orphans of its descendants are
    /// re-parented to it instead of to pid 1, so a process that is not pid 1 (the agent in tests)
    /// still sees and reaps its whole tree, as init does inside a sandbox.
    /// </summary>
    public static void BecomeSubreaper() =>
        LinuxException.ThrowIfFailed(Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)");
}
