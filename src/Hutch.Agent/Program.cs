using System.Globalization;
using System.Text;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

internal static class Program
{
    private const string Usage = """
        usage: hutch-agent [--listen <path> | --listen-fd <n>] [--records <dir>]
          (no option)      accept control connections on the listening socket inherited as fd 3,

          --listen-fd <n>  accept on the listening Unix socket inherited as fd n
          --listen <path>  bind and listen on a Unix socket at path (tests; replaces a file there)
          --records-fd <n> keep background processes' logs and exit records in the directory inherited as fd n
          --records <dir>  keep them in dir (tests)
          --version        print the version
        """;

    private static readonly List<SafeFileHandle> s_stdio = [];

    private static int Main(string[] args)
    {
        string? listenPath = null, recordsPath = null;
        var listenFd = 3;
        var recordsFd = -1;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--listen" when i + 1 < args.Length:
                    listenPath = args[++i];
                    break;
                case "--listen-fd" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out listenFd):
                    i++;
                    break;
                case "--records-fd" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out recordsFd):
                    i++;
                    break;
                case "--records" when i + 1 < args.Length:
                    recordsPath = args[++i];
                    break;
                case "--version":
                    Print(AgentServer.Version + "\n");
                    return 0;
                case "--help" or "-h":
                    Print(Usage + "\n");
                    return 0;
                default:
                    Log.Write($"bad argument {args[i]}");
                    Print(Usage + "\n");
                    return 2;
            }
        }

        EnsureStdio();
        SafeFileHandle listener;
        try
        {
            listener = listenPath is null ? Inherit(listenFd) : Listen(listenPath);
            // No command may ever inherit the control socket (Spawn also closes fds ≥ 3 in children).
            Fds.SetCloseOnExec((int)listener.DangerousGetHandle());
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            Log.Write($"cannot listen on {listenPath ?? $"fd {listenFd}"}: {e.Message}");
            return 1;
        }

        var records = OpenRecords(recordsPath, recordsFd);

        // The agent holds secret values (env and file kinds, and what it redacts from logs): a core
        // of it, written on a crash or by gcore from the host, must hold none. Before SetNotDumpable,
        // which gives /proc/self to root.
        try
        {
            Processes.ExcludeMemoryFromCores();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Write($"warning: cannot keep memory out of cores: {e.Message}");
        }
        // Same-uid sandboxed code must not ptrace us or open /proc/1/fd/* (the control socket).
        Processes.SetNotDumpable();
        // Sandboxed code may signal pid 1 (same uid): ignore what would stop us. SIG_IGN rather than
        // PosixSignalRegistration: the kernel drops the signal, where a managed handler costs a new
        // thread per signal (a flood, or a sandbox at its pids limit, could hurt the agent). As init
        // of a PID namespace, signals without a handler from inside are dropped anyway; the daemon
        // stops a sandbox with SIGKILL from outside, which nothing can catch.
        foreach (var signal in (ReadOnlySpan<int>)[Processes.SIGTERM, Processes.SIGINT, Processes.SIGHUP, Processes.SIGQUIT])
        {
            Signals.Ignore(signal);
        }
        if (IsIgnored(17))
        {
            Log.Write("warning: started with SIGCHLD ignored: the kernel reaps children itself, so exit statuses are lost");
        }
        var isInit = Environment.ProcessId == 1;
        if (!isInit)
        {
            // Outside a container (tests): adopt orphans of our commands as init would.
            ProcTree.BecomeSubreaper();
        }
        Log.Write($"{AgentServer.Version} listening on {listenPath ?? $"fd {listenFd}"}{(isInit ? "" : " (not pid 1: peers are not checked)")}");
        new AgentServer(listener, refuseInsidePeers: isInit, records).Run();
        return 0;
    }

    /// <summary>Whether we inherited SIG_IGN for a signal (SigIgn mask in /proc/self/status, proc_pid_status(5)).</summary>
    private static bool IsIgnored(int signal)
    {
        Span<byte> status = stackalloc byte[4096];
        using var handle = File.OpenHandle("/proc/self/status");
        status = status[..RandomAccess.Read(handle, status, 0)];
        var at = status.IndexOf("\nSigIgn:"u8);
        if (at < 0)
        {
            return false;
        }
        ulong mask = 0;
        foreach (var c in status[(at + 8)..].TrimStart("\t "u8))
        {
            var digit = c is >= (byte)'0' and <= (byte)'9' ? c - '0' : c is >= (byte)'a' and <= (byte)'f' ? c - 'a' + 10 : -1;
            if (digit < 0)
            {
                break;
            }
            mask = (mask << 4) | (uint)digit;
        }
        return (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>
    /// The records directory: the path given, or the directory inherited as fd n (the daemon passes
    /// one with runc's --preserve-fds); null when there is neither, and background processes are refused.
    /// </summary>
    private static SafeFileHandle? OpenRecords(string? path, int fd)
    {
        try
        {
            if (path is not null)
            {
                return Beneath.OpenRoot(path);
            }
            if (fd < 0)
            {
                return null;
            }
            // Reopened close-on-exec; the inherited descriptor is closed so no command can inherit it.
            using var inherited = new SafeFileHandle(fd, ownsHandle: true);
            return Beneath.Open(inherited, "", Beneath.O_PATH | Beneath.O_DIRECTORY);
        }
        catch (IOException e)
        {
            Log.Write($"cannot open the records directory {path ?? $"fd {fd}"}: {e.Message}");
            return null;
        }
    }

    private static SafeFileHandle Inherit(int fd)
    {
        if (!UnixSockets.IsListeningUnixStream(fd))
        {
            throw new ArgumentException($"fd {fd} is not a listening Unix stream socket");
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    private static SafeFileHandle Listen(string path)
    {
        // A stale socket from an earlier run would make bind fail with EADDRINUSE.
        File.Delete(path);
        var listener = UnixListener.Listen(path, backlog: 128);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return listener;
    }

    /// <summary>
    /// If we were started with fd 0, 1 or 2 closed, the first pipes would take those numbers and
    /// the stdio wiring of commands would go wrong: fill the holes with /dev/null.
    /// </summary>
    private static void EnsureStdio()
    {
        while (true)
        {
            var handle = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (handle.DangerousGetHandle() > 2)
            {
                handle.Dispose();
                return;
            }
            s_stdio.Add(handle);
        }
    }

    private static void Print(string text) => Fds.WriteAll(new SafeFileHandle(1, ownsHandle: false), Encoding.UTF8.GetBytes(text));
}
