using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// One running command: its pipes (or its pseudo-terminal, Exec.Terminal.cs), its output pump
/// thread, its stdin feeder, its timeout. Its output goes to an <see cref="IExecOutput"/>: the
/// connection that started it (which it outlives: when that connection drops the command runs on
/// and its output is discarded), or a durable log.
/// </summary>
internal sealed partial class Exec
{
    /// <summary>Largest Stdout/Stderr frame payload.</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>After the main process exits, stop draining once the pipes are quiet this long…</summary>
    private const int QuietMs = 20;

    /// <summary>…or this long after the exit in all: a background child (`sleep 1000 &amp;`) may hold the pipes open forever.</summary>
    private const int DrainMs = 250;

    private readonly AgentServer _server;
    private readonly IExecOutput _output;
    private readonly long _maxOutput;
    private readonly long _timeoutMs;
    private readonly object _gate = new();
    private readonly SafeFileHandle _wakeRead;
    private readonly SafeFileHandle _wakeWrite;
    private readonly SafeFileHandle?[] _pumped;
    private readonly StdinFeeder? _stdin;
    private Watchdog.Job? _timeout;
    private ExitStatus? _exit;
    private long _startTicks;
    private long _exitTicks;
    private bool _timedOut;
    private int _killedProcesses;
    private bool _killing;
    private bool _done;
    private State _state;
    private long _forwarded;
    private bool _truncated;

    /// <param name="stdout">The stdout pipe, or the pseudo-terminal's master.</param>
    /// <param name="stderr">The stderr pipe; null on a pseudo-terminal, where both streams are one.</param>
    /// <param name="terminal">A descriptor of the pseudo-terminal's master for resizes and signals, or null.</param>
    private Exec(AgentServer server, IExecOutput output, ExecStart request,
        SafeFileHandle stdout, SafeFileHandle? stderr, SafeFileHandle? stdin, SafeFileHandle? terminal = null)
    {
        _server = server;
        _output = output;
        Request = request;
        _maxOutput = request.MaxOutputBytes;
        _timeoutMs = request.TimeoutMs;
        (_wakeRead, _wakeWrite) = Fds.CreatePipe();
        _pumped = [stdout, stderr, _wakeRead];
        _stdin = stdin is null ? null : new StdinFeeder(stdin);
        _terminal = terminal;
    }

    public int Pid { get; private set; }

    /// <summary>What was asked for (its environment is never written anywhere).</summary>
    public ExecStart Request { get; }

    /// <summary>When it was spawned, in Unix milliseconds.</summary>
    public long StartedAtMs { get; private set; }

    /// <summary>Where its output goes now.</summary>
    public IExecOutput Output => _output;

    /// <summary>Whether stdin is a pipe fed by the daemon (else /dev/null).</summary>
    public bool HasStdin => _stdin is not null;

    private enum State
    {
        Parked,
        Running,
        Aborted,
    }

    /// <summary>
    /// Resolves, checks and spawns the command in its own session. Returns the error to send
    /// instead of Started when it cannot run; on success the caller sends Started, then <see cref="Run"/>.
    /// </summary>
    /// <param name="terminal">Set for a shell: the command runs on a new pseudo-terminal of this size.</param>
    /// <param name="script">The command's script (<see cref="ExecStart.ScriptBytes"/>), given to it on <see cref="ExecScript.Fd"/>; the caller keeps and closes its own.</param>
    public static AgentError? TryStart(AgentServer server, IExecOutput output, ExecStart request, out Exec? exec, TerminalRecord? terminal = null,
        SafeFileHandle? script = null)
    {
        exec = null;
        if (request.Argv is not { Length: > 0 } argv || string.IsNullOrEmpty(argv[0]))
        {
            return new AgentError(AgentErrorCodes.BadRequest, "argv must hold at least the program to run");
        }
        var env = request.Env ?? [];
        var cwd = string.IsNullOrEmpty(request.Cwd) ? null : request.Cwd;
        if (cwd is not null && !Directory.Exists(cwd))
        {
            return new AgentError(AgentErrorCodes.CwdNotFound, $"working directory {cwd} does not exist or is not a directory");
        }
        var path = Spawn.ResolveInPath(argv[0], env.GetValueOrDefault("PATH"));
        if (path is null)
        {
            return NotFound(argv[0]);
        }

        var onTerminal = terminal is not null;
        if (terminal is not null && TerminalRequestError(terminal) is { } terminalError)
        {
            return terminalError;
        }
        var envList = new List<string>(env.Count + 1);
        foreach (var (name, value) in env)
        {
            envList.Add($"{name}={value}");
        }
        if (onTerminal && !env.ContainsKey("TERM"))
        {
            envList.Add("TERM=" + DefaultTerm);
        }
        SafeFileHandle? stdoutRead = null, stdoutWrite = null, stderrRead = null, stderrWrite = null, stdinRead = null, stdinWrite = null, terminalControl = null;
        string? slave = null;
        Exec? candidate = null;
        try
        {
            var fds = new Dictionary<int, System.Runtime.InteropServices.SafeHandle>();
            if (script is not null)
            {
                fds[ExecScript.Fd] = script;
            }
            if (onTerminal)
            {
                try
                {
                    (stdoutRead, stdinWrite, terminalControl, slave) = OpenTerminal(terminal!.Cols, terminal.Rows);
                }
                catch (LinuxException e)
                {
                    // Not the command's fault (an ENOENT here is /dev/ptmx, not the program).
                    return new AgentError(AgentErrorCodes.SpawnFailed, $"cannot open a pseudo-terminal: {e.Message}");
                }
            }
            else
            {
                (stdoutRead, stdoutWrite) = Fds.CreatePipe();
                (stderrRead, stderrWrite) = Fds.CreatePipe();
                fds[1] = stdoutWrite;
                fds[2] = stderrWrite;
                if (request.HasStdin)
                {
                    (stdinRead, stdinWrite) = Fds.CreatePipe();
                    fds[0] = stdinRead;
                }
            }
            candidate = new Exec(server, output, request, stdoutRead, stderrRead, stdinWrite, terminalControl);
            // Threads before the process: when the pids limit is reached it is better to refuse
            // the command than to start one that nobody serves.
            candidate.StartThreads();
            candidate._startTicks = Environment.TickCount64;
            candidate.StartedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            candidate.Pid = server.Reaper.Spawn(new SpawnRequest(path, argv, envList, cwd, fds, NewSession: true, Terminal: slave), candidate);
            exec = candidate;
            return null;
        }
        catch (LinuxException e)
        {
            return e.Errno switch
            {
                Errno.ENOENT or Errno.ENOTDIR => NotFound(argv[0]),
                Errno.EACCES or Errno.EPERM => new AgentError(AgentErrorCodes.PermissionDenied, $"{argv[0]}: permission denied (not executable, or a directory on the way is not searchable)"),
                _ => new AgentError(AgentErrorCodes.SpawnFailed, $"{argv[0]}: {e.Message}"),
            };
        }
        catch (ArgumentException e)
        {
            return new AgentError(AgentErrorCodes.BadRequest, e.Message);
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // pthread_create fails with EAGAIN at the pids limit; say it like a failed fork.
            return new AgentError(AgentErrorCodes.SpawnFailed, $"{argv[0]}: cannot start a thread to serve the command: Resource temporarily unavailable (errno 11)");
        }
        finally
        {
            // The child has its ends now; ours must go or the pumps never see end of file.
            stdoutWrite?.Dispose();
            stderrWrite?.Dispose();
            stdinRead?.Dispose();
            if (exec is null)
            {
                if (candidate is not null)
                {
                    candidate.Abort();
                }
                else
                {
                    stdoutRead?.Dispose();
                    stderrRead?.Dispose();
                    stdinWrite?.Dispose();
                    terminalControl?.Dispose();
                }
            }
        }
    }

    private static AgentError NotFound(string program) =>
        new(AgentErrorCodes.CommandNotFound, program.Contains('/') ? $"{program}: no such file or directory" : $"{program}: command not found");

    /// <summary>Starts the output pump (parked until <see cref="Run"/>) and the stdin writer.</summary>
    private void StartThreads()
    {
        new Thread(Pump, 128 * 1024) { IsBackground = true, Name = "exec" }.Start();
        _stdin?.Start();
    }

    /// <summary>Arms the timeout and releases the output pump (after Started was sent, so output never precedes it).</summary>
    public void Run()
    {
        _server.OnExecStarted();
        if (_timeoutMs > 0)
        {
            _timeout = _server.Watchdog.At(_startTicks + _timeoutMs, OnTimeout);
        }
        lock (_gate)
        {
            _state = State.Running;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The command never started: release the parked threads and close everything.</summary>
    private void Abort()
    {
        lock (_gate)
        {
            _state = State.Aborted;
            _done = true;
            DisposeAll();
            Monitor.PulseAll(_gate);
        }
        _stdin?.Abandon();
    }

    public void Stdin(ReadOnlyMemory<byte> data) => _stdin?.Enqueue(data);

    public void StdinEof() => _stdin?.Eof();

    /// <summary>
    /// Kill frame: signal the whole tree, or with <paramref name="childrenOnly"/> all of it but the
    /// command itself (on the watchdog thread: a SIGKILL sweep takes a few passes).
    /// </summary>
    public void Signal(int signal, bool childrenOnly = false) => _server.Watchdog.At(0, () =>
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }
        }
        if (signal == Processes.SIGKILL)
        {
            ProcTree.Kill(Pid, spareRoot: childrenOnly);
        }
        else
        {
            ProcTree.Signal(Pid, signal, childrenOnly);
        }
    });

    /// <summary>
    /// A kill with a grace period: <paramref name="signal"/> to the whole tree now, SIGKILL to whatever
    /// is left of it once <paramref name="graceMs"/> have passed.
    /// </summary>
    public void Terminate(int signal, long graceMs, bool childrenOnly = false)
    {
        Signal(signal, childrenOnly);
        _server.Watchdog.At(Environment.TickCount64 + graceMs, () =>
        {
            lock (_gate)
            {
                if (_done)
                {
                    return;
                }
            }
            ProcTree.Kill(Pid, spareRoot: childrenOnly);
        });
    }

    /// <summary>Called by the reaper with the main process's status.</summary>
    public void OnExited(ExitStatus status)
    {
        lock (_gate)
        {
            if (_exit is not null)
            {
                return;
            }
            _exit = status;
            _exitTicks = Environment.TickCount64;
            if (!_done)
            {
                // Under the lock: the pump closes the wake pipe under it too, so this never
                // writes to a descriptor number that was closed and reused.
                Fds.WriteAll(_wakeWrite, [1]);
            }
            Monitor.PulseAll(_gate);
        }
    }

    private void OnTimeout()
    {
        lock (_gate)
        {
            if (_exit is not null || _done)
            {
                return;
            }
            _timedOut = true;
            _killing = true;
        }
        if (!ProcTree.Kill(Pid, out var killed))
        {
            Log.Write($"timeout: pid {Pid}'s tree survived SIGKILL passes");
        }
        lock (_gate)
        {
            _killedProcesses = killed;
            _killing = false;
            Monitor.PulseAll(_gate);
        }
    }

    private void Pump()
    {
        lock (_gate)
        {
            while (_state == State.Parked)
            {
                Monitor.Wait(_gate);
            }
            if (_state == State.Aborted)
            {
                return;
            }
        }
        Span<byte> wake = stackalloc byte[16];
        long drainStart = 0, lastData = 0;
        try
        {
            while (true)
            {
                var timeout = -1;
                bool exited;
                lock (_gate)
                {
                    exited = _exit is not null;
                }
                if (exited)
                {
                    var now = Environment.TickCount64;
                    if (drainStart == 0)
                    {
                        drainStart = lastData = now;
                    }
                    if (_pumped[0] is null && _pumped[1] is null)
                    {
                        break;
                    }
                    var left = Math.Min(QuietMs - (now - lastData), DrainMs - (now - drainStart));
                    if (left <= 0)
                    {
                        break;
                    }
                    timeout = (int)left;
                }
                var ready = Fds.PollReadable(_pumped, timeout);
                if ((ready & 4) != 0)
                {
                    Fds.Read(_wakeRead, wake);
                }
                for (var i = 0; i < 2; i++)
                {
                    if ((ready & (1 << i)) != 0 && PumpOnce(i))
                    {
                        lastData = Environment.TickCount64;
                    }
                }
            }
        }
        catch (Exception e)
        {
            Log.Write($"exec pid {Pid}: output pump failed: {e.Message}");
            lock (_gate)
            {
                while (_exit is null)
                {
                    Monitor.Wait(_gate);
                }
            }
        }
        Finish();
    }

    /// <summary>Reads once from stdout (0) or stderr (1); false at end of file.</summary>
    private bool PumpOnce(int index)
    {
        var buffer = Buffers.Rent();
        try
        {
            return PumpOnce(index, buffer);
        }
        finally
        {
            Buffers.Return(buffer);
        }
    }

    private bool PumpOnce(int index, byte[] buffer)
    {
        var fd = _pumped[index]!;
        int n;
        try
        {
            n = Fds.Read(fd, buffer.AsSpan(FrameCodec.HeaderSize, ChunkSize));
        }
        catch (IOException)
        {
            n = 0;
        }
        if (n == 0)
        {
            fd.Dispose();
            _pumped[index] = null;
            return false;
        }
        if (_maxOutput > 0)
        {
            // Past the cap keep reading (so the command never blocks on a full pipe) but drop.
            var room = _maxOutput - _forwarded;
            if (room < n)
            {
                _truncated = true;
                n = (int)Math.Max(room, 0);
            }
        }
        if (n > 0)
        {
            _forwarded += n;
            _output.Write(index == 0 ? FrameKind.Stdout : FrameKind.Stderr, buffer, n);
        }
        return true;
    }

    private void Finish()
    {
        ExitStatus status;
        bool timedOut;
        int killed;
        lock (_gate)
        {
            // The command's pipes close as soon as its tree dies, before the kill's last pass has
            // looked again: the exit says what the kill did, so it waits for it (a few ms).
            while (_killing)
            {
                Monitor.Wait(_gate);
            }
            _done = true;
            status = _exit!.Value;
            timedOut = _timedOut;
            killed = _killedProcesses;
            DisposeAll();
        }
        if (_timeout is not null)
        {
            _server.Watchdog.Cancel(_timeout);
        }
        _stdin?.Abandon();
        _server.OnExecFinished();
        _output.Exited(this, new ExecExited(status.ExitCode, status.Signal, timedOut, _truncated, _exitTicks - _startTicks, killed));
    }

    private void DisposeAll()
    {
        _wakeRead.Dispose();
        _wakeWrite.Dispose();
        _terminal?.Dispose();
        for (var i = 0; i < 2; i++)
        {
            _pumped[i]?.Dispose();
            _pumped[i] = null;
        }
    }
}
