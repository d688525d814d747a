using System.Text;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Cli;

/// <summary>
/// Runs a program on a pseudo-terminal of its own, the way a user's terminal emulator does: it
/// is the session's controlling terminal, the test reads what it writes and types keys into it.
/// </summary>
internal sealed class TerminalDriver : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly SafeFileHandle _master;
    private readonly SafeFileHandle _input;
    private readonly StringBuilder _screen = new();
    private readonly Thread _reader;
    private int _matched;
    private volatile bool _disposed;

    private TerminalDriver(SafeFileHandle master, SafeFileHandle input, string slave)
    {
        _master = master;
        _input = input;
        Slave = slave;
        _reader = new Thread(Read) { IsBackground = true, Name = "terminal-driver" };
        _reader.Start();
    }

    public string Slave { get; }

    public string Screen
    {
        get
        {
            lock (_screen)
            {
                return _screen.ToString();
            }
        }
    }

    public static TerminalDriver Open(int cols, int rows)
    {
        var (master, slave) = Pty.Open();
        Pty.SetSize(master, cols, rows);
        return new TerminalDriver(master, Fds.Duplicate(master), slave);
    }

    /// <summary>Starts a program in a new session with this terminal as its controlling terminal and stdio.</summary>
    public int Start(string program, IReadOnlyList<string> args, IDictionary<string, string> env) =>
        Spawn.Start(new SpawnRequest(program, [program, .. args], [.. env.Select(kv => $"{kv.Key}={kv.Value}")], null,
            new Dictionary<int, System.Runtime.InteropServices.SafeHandle>(), NewSession: true, Terminal: Slave));

    public void Type(string keys) => Fds.WriteAll(_input, Encoding.UTF8.GetBytes(keys));

    /// <summary>Changes the window size, as a terminal emulator does when its window is resized (SIGWINCH follows).</summary>
    public void Resize(int cols, int rows) => Pty.SetSize(_input, cols, rows);

    /// <summary>Waits until <paramref name="expected"/> appears after the last match; returns the screen up to it.</summary>
    public async Task<string> WaitForAsync(string expected)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var screen = Screen;
            var at = screen.IndexOf(expected, _matched, StringComparison.Ordinal);
            if (at >= 0)
            {
                var seen = screen[_matched..(at + expected.Length)];
                _matched = at + expected.Length;
                return seen;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"'{expected}' did not appear on the terminal within {Patience.TotalSeconds} s. It shows:\n{screen}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits for the program to end (off the test's thread: waitpid blocks).</summary>
    public static async Task<ExitStatus> WaitForExitAsync(int pid) =>
        await Task.Run(() => Processes.WaitFor(pid)).WaitAsync(Patience);

    private void Read()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_disposed)
            {
                int n;
                try
                {
                    n = Fds.Read(_master, buffer);
                }
                catch (IOException)
                {
                    // EIO: no program has the terminal open right now (one ended, the next is not
                    // started yet). It is not the end: wait for the next one.
                    Thread.Sleep(10);
                    continue;
                }
                lock (_screen)
                {
                    _screen.Append(Encoding.UTF8.GetString(buffer, 0, n));
                }
            }
        }
        finally
        {
            _master.Dispose();
        }
    }

    public void Dispose()
    {
        // The reader thread owns the master and closes it once it sees this (a read blocked on a
        // live terminal never returns, so the thread, a background one, may outlive the test).
        _disposed = true;
        _input.Dispose();
    }
}
