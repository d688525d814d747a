using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>How a child ended, decoded from a wait(2) status word.</summary>
public readonly record struct ExitStatus(int? ExitCode, int? Signal)
{
    public static ExitStatus FromWaitStatus(int status)
    {
        var termSignal = status & 0x7f;
        return termSignal == 0 ? new ExitStatus((status >> 8) & 0xff, null) : new ExitStatus(null, termSignal);
    }
}

/// <summary>Signals, waits and process attributes.</summary>
public static class Processes
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    /// <summary>Sends a signal; returns false when the process (or group, for a negative pid) is already gone.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (Libc.Kill(pid, signal) == 0)
        {
            return true;
        }
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == Errno.ESRCH)
        {
            return false;
        }
        throw new LinuxException("kill", errno, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Replaces this process with <paramref name="path"/> (execv: same pid, descriptors, environment
    /// and signal dispositions reset), so the parent, a terminal or a harness waiting on this pid sees
    /// the new program as if it had been started directly. Returns only by throwing.
    /// </summary>
    public static void ReplaceWith(string path, IReadOnlyList<string> argv)
    {
        var terminated = new string?[argv.Count + 1];
        for (var i = 0; i < argv.Count; i++)
        {
            terminated[i] = argv[i];
        }
        Libc.Execv(path, terminated);
        throw new LinuxException("execv", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), path);
    }

    /// <summary>True when a process with this pid exists (kill(pid, 0)).</summary>
    public static bool Exists(int pid) => Libc.Kill(pid, 0) == 0 || System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EPERM;

    /// <summary>
    /// Blocks until any child ends and returns it; null when there is no child at all (ECHILD).
    /// PID 1 calls this in a loop to reap orphans as well as its own children.
    /// </summary>
    public static (int Pid, ExitStatus Status)? WaitAny()
    {
        while (true)
        {
            var pid = Libc.WaitPid(-1, out var status, 0);
            if (pid > 0)
            {
                return (pid, ExitStatus.FromWaitStatus(status));
            }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }
            if (errno == Errno.ECHILD)
            {
                return null;
            }
            throw new LinuxException("waitpid", errno);
        }
    }

    /// <summary>Blocks until one specific child ends, and reaps it.</summary>
    public static ExitStatus WaitFor(int pid)
    {
        while (true)
        {
            if (Libc.WaitPid(pid, out var status, 0) == pid)
            {
                return ExitStatus.FromWaitStatus(status);
            }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                throw new LinuxException("waitpid", errno, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Reaps one specific child if it has ended (waitpid WNOHANG); null while it still runs.</summary>
    public static ExitStatus? TryReap(int pid)
    {
        while (true)
        {
            var rc = Libc.WaitPid(pid, out var status, Libc.WNOHANG);
            if (rc == pid)
            {
                return ExitStatus.FromWaitStatus(status);
            }
            if (rc == 0)
            {
                return null;
            }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                throw new LinuxException("waitpid", errno, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>
    /// Makes this process non-dumpable: no core dumps, /proc/self/* owned by root, and ptrace or
    /// pidfd_getfd from processes without CAP_SYS_PTRACE refused even at the same uid.
    /// </summary>
    public static void SetNotDumpable() =>
        LinuxException.ThrowIfFailed(Libc.Prctl(Libc.PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");

    /// <summary>
    /// Keeps this process's memory out of any core of it (coredump_filter in proc(5): ELF headers only,
    /// no anonymous, file-backed or huge pages): what the kernel writes on a crash and what gcore
    /// writes from outside both honour it. Children inherit the filter through fork and exec; a
    /// program that wants full cores writes 0x33 to its own /proc/self/coredump_filter.
    /// </summary>
    public static void ExcludeMemoryFromCores() => File.WriteAllText("/proc/self/coredump_filter", "0x10");

    public static int CurrentPid => Libc.GetPid();

    /// <summary>
    /// Writes a process's oom_score_adj (-1000 … 1000; proc(5)): how eagerly the OOM killer picks it.
    /// Anyone may raise a process of their own uid; lowering below the floor a privileged writer set
    /// takes CAP_SYS_RESOURCE. False when refused or the process is gone.
    /// </summary>
    public static bool SetOomScoreAdj(int pid, int value)
    {
        try
        {
            File.WriteAllText(pid == 0 ? "/proc/self/oom_score_adj" : $"/proc/{pid}/oom_score_adj", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static readonly Dictionary<int, string> SignalNames = new()
    {
        [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT",
        [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2",
        [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM", [17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP",
        [20] = "SIGTSTP", [21] = "SIGTTIN", [22] = "SIGTTOU", [24] = "SIGXCPU", [25] = "SIGXFSZ", [31] = "SIGSYS",
    };

    /// <summary>"SIGKILL" for 9; "SIG37" for numbers without a common name.</summary>
    public static string SignalName(int signal) =>
        SignalNames.TryGetValue(signal, out var name) ? name : $"SIG{signal}";
}
