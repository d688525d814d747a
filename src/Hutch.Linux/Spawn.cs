using System.Runtime.InteropServices;
using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>What to start with <see cref="Spawn.Start"/>.</summary>
/// <param name="Path">Absolute path of the program (no PATH search: see <see cref="Spawn.ResolveInPath"/>).</param>
/// <param name="Argv">argv, argv[0] included.</param>
/// <param name="Env">"NAME=value" strings: the child's whole environment.</param>
/// <param name="Cwd">Working directory of the child, or null for the caller's.</param>
/// <param name="Fds">Descriptors the child gets: child fd number → parent handle. Fds not named here are closed.</param>
/// <param name="NewSession">Start the child in a new session and process group (setsid), so its tree can be signalled as one.</param>
/// <param name="Terminal">
/// The path of a terminal (a pty slave) to be the child's fds 0, 1 and 2 and its controlling
/// terminal; needs <paramref name="NewSession"/>, and <paramref name="Fds"/> may not name 0-2.
/// </param>
public sealed record SpawnRequest(
    string Path,
    IReadOnlyList<string> Argv,
    IReadOnlyList<string> Env,
    string? Cwd,
    IReadOnlyDictionary<int, SafeHandle> Fds,
    bool NewSession,
    string? Terminal = null);

/// <summary>
/// Starts processes with posix_spawn(3). Managed code never forks: between fork and exec only
/// async-signal-safe code may run, which the .NET runtime cannot promise (the same rule as
/// System.Diagnostics.Process on Unix). posix_spawn also lets us hand the child exact fd numbers
/// (runc's --preserve-fds needs fd 3), reset every signal the runtime ignores or blocks, and setsid.
/// </summary>
public static unsafe class Spawn
{
    /// <summary>Starts the program and returns its pid; throws <see cref="LinuxException"/> (ENOENT, EACCES, …) when it cannot.</summary>
    public static int Start(SpawnRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Path);
        if (request.Argv.Count == 0)
        {
            throw new ArgumentException("argv must hold at least argv[0]", nameof(request));
        }

        using var strings = new NativeStrings();
        var path = strings.Add(request.Path);
        var argv = strings.AddArray(request.Argv);
        var envp = strings.AddArray(request.Env);
        var cwd = request.Cwd is null ? null : strings.Add(request.Cwd);

        var actions = stackalloc byte[Libc.FileActionsSize];
        var attr = stackalloc byte[Libc.SpawnAttrSize];
        var sigset = stackalloc byte[Libc.SigSetSize];
        Check(Libc.FileActionsInit(actions), "posix_spawn_file_actions_init");
        Check(Libc.SpawnAttrInit(attr), "posix_spawnattr_init");
        var refs = new List<SafeHandle>();
        try
        {
            var maxTarget = 2;
            foreach (var (target, handle) in request.Fds)
            {
                var added = false;
                handle.DangerousAddRef(ref added);
                refs.Add(handle);
                var source = (int)handle.DangerousGetHandle();
                if (source == target)
                {
                    // dup2 onto itself would keep FD_CLOEXEC; callers pass fds the runtime opened (high numbers).
                    throw new ArgumentException($"fd {source} cannot be mapped onto itself", nameof(request));
                }
                Check(Libc.FileActionsAddDup2(actions, source, target), "posix_spawn_file_actions_adddup2");
                maxTarget = Math.Max(maxTarget, target);
            }
            if (request.Terminal is not null)
            {
                AddTerminal(actions, strings.Add(request.Terminal), request);
            }
            for (var fd = 0; fd <= 2; fd++)
            {
                if (request.Terminal is null && !request.Fds.ContainsKey(fd))
                {
                    var devNull = strings.Add("/dev/null");
                    Check(Libc.FileActionsAddOpen(actions, fd, devNull, fd == 0 ? Libc.O_RDONLY : Libc.O_RDWR, 0), "posix_spawn_file_actions_addopen");
                }
            }
            // Defence in depth: the runtime opens fds with O_CLOEXEC, but a library might not.
            Check(Libc.FileActionsAddCloseFrom(actions, maxTarget + 1), "posix_spawn_file_actions_addclosefrom_np");
            if (cwd is not null)
            {
                Check(Libc.FileActionsAddChdir(actions, cwd), "posix_spawn_file_actions_addchdir_np");
            }

            // The runtime blocks some signals and ignores SIGPIPE; a child must start with defaults
            // (or `yes | head` never ends).
            Libc.SigEmptySet(sigset);
            Check(Libc.SpawnAttrSetSigMask(attr, sigset), "posix_spawnattr_setsigmask");
            Libc.SigFillSet(sigset);
            Check(Libc.SpawnAttrSetSigDefault(attr, sigset), "posix_spawnattr_setsigdefault");
            var flags = Libc.PosixSpawnSetSigMask | Libc.PosixSpawnSetSigDef | (request.NewSession ? Libc.PosixSpawnSetSid : 0);
            Check(Libc.SpawnAttrSetFlags(attr, (short)flags), "posix_spawnattr_setflags");

            var rc = Libc.PosixSpawn(out var pid, path, actions, attr, argv, envp);
            if (rc != 0)
            {
                throw new LinuxException("posix_spawn", rc, request.Path);
            }
            return pid;
        }
        finally
        {
            foreach (var handle in refs)
            {
                handle.DangerousRelease();
            }
            Libc.FileActionsDestroy(actions);
            Libc.SpawnAttrDestroy(attr);
        }
    }

    /// <summary>
    /// Makes the terminal the child's stdin, stdout and stderr and its controlling terminal. glibc's
    /// posix_spawn (spawni.c) runs setsid before the file actions, so the child is a session leader
    /// without a terminal when it opens the slave; opening a tty without O_NOCTTY then makes it the
    /// session's controlling terminal (open(2), and tty_open in the kernel), with the child's group
    /// as the foreground group: what login and ssh do with TIOCSCTTY, without code in the child.
    /// </summary>
    private static void AddTerminal(void* actions, byte* path, SpawnRequest request)
    {
        if (!request.NewSession)
        {
            throw new ArgumentException("a terminal can only be the controlling terminal of a new session", nameof(request));
        }
        if (request.Fds.Keys.Any(fd => fd <= 2))
        {
            throw new ArgumentException("with a terminal, fds 0-2 are the terminal's", nameof(request));
        }
        Check(Libc.FileActionsAddOpen(actions, 0, path, Libc.O_RDWR, 0), "posix_spawn_file_actions_addopen");
        Check(Libc.FileActionsAddDup2(actions, 0, 1), "posix_spawn_file_actions_adddup2");
        Check(Libc.FileActionsAddDup2(actions, 0, 2), "posix_spawn_file_actions_adddup2");
    }

    /// <summary>
    /// Finds a program the way execvp does, but in the PATH the child will have, not ours.
    /// Returns null when no executable file matches.
    /// </summary>
    public static string? ResolveInPath(string program, string? pathVariable)
    {
        if (program.Contains('/'))
        {
            return program;
        }
        foreach (var dir in (pathVariable ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Join(dir, program);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        return null;
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0)
        {
            throw new LinuxException(call, rc);
        }
    }

    /// <summary>NUL-terminated UTF-8 copies of managed strings, freed together.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string value)
        {
            if (value.Contains('\0'))
            {
                throw new ArgumentException("strings passed to a new process cannot contain NUL");
            }
            var bytes = Encoding.UTF8.GetByteCount(value);
            var block = (byte*)NativeMemory.Alloc((nuint)bytes + 1);
            _blocks.Add((nint)block);
            Encoding.UTF8.GetBytes(value, new Span<byte>(block, bytes));
            block[bytes] = 0;
            return block;
        }

        public byte** AddArray(IReadOnlyList<string> values)
        {
            var array = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(byte*));
            _blocks.Add((nint)array);
            for (var i = 0; i < values.Count; i++)
            {
                array[i] = Add(values[i]);
            }
            array[values.Count] = null;
            return array;
        }

        public void Dispose()
        {
            foreach (var block in _blocks)
            {
                NativeMemory.Free((void*)block);
            }
        }
    }
}
