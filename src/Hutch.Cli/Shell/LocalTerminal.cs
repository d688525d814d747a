using System.Runtime.InteropServices;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Cli.Shell;

/// <summary>
/// The terminal `hutch shell` runs in, if it runs in one: its size, raw mode while a shell is
/// attached (so Ctrl-C, Ctrl-Z and every other key go to the sandbox as bytes), and SIGWINCH. A
/// terminal is read and written through its descriptors, never through System.Console, whose
/// reads on a terminal are line-edited and whose first write applies terminal modes of its own.
/// </summary>
internal sealed class LocalTerminal : IDisposable
{
    private const int StdinFd = 0;
    private const int StdoutFd = 1;

    private readonly RawTerminalMode? _raw;
    private readonly PosixSignalRegistration? _resized;

    private LocalTerminal(RawTerminalMode? raw, PosixSignalRegistration? resized)
    {
        _raw = raw;
        _resized = resized;
    }

    public static bool StdinIsTerminal => Pty.IsTerminal(StdinFd);

    public static bool StdoutIsTerminal => Pty.IsTerminal(StdoutFd);

    /// <summary>The window size (of stdout, else stdin), or null when neither is a terminal.</summary>
    public static (int Cols, int Rows)? Size => Pty.TryGetSize(StdoutFd) ?? Pty.TryGetSize(StdinFd);

    /// <summary>
    /// Switches stdin to raw mode when it is a terminal, and calls <paramref name="onResize"/> on
    /// every SIGWINCH while this lives. Dispose restores the terminal (also on the way out of an
    /// exception or a cancellation: callers dispose in a finally).
    /// </summary>
    public static LocalTerminal Enter(Action<int, int> onResize)
    {
        var raw = RawTerminalMode.TryEnter(StdinFd);
        // Restored at exit too, in case the process is ended before the finally runs (SIGTERM).
        if (raw is not null)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => raw.Dispose();
        }
        PosixSignalRegistration? resized = null;
        if (Size is not null)
        {
            resized = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, context =>
            {
                context.Cancel = true;
                if (Size is { } size)
                {
                    onResize(size.Cols, size.Rows);
                }
            });
        }
        return new LocalTerminal(raw, resized);
    }

    /// <summary>Whether keys are being passed through raw (stdin is a terminal).</summary>
    public bool IsRaw => _raw is not null;

    /// <summary>What to forward as input: the terminal itself, or the redirected stdin (null when there is none).</summary>
    public static Stream? OpenInput(CliConsole console) =>
        StdinIsTerminal ? new FileStream(new SafeFileHandle(StdinFd, ownsHandle: false), FileAccess.Read, bufferSize: 0) : console.OpenRedirectedStdin();

    /// <summary>Where output goes: the terminal itself, or the redirected stdout.</summary>
    public static Stream OpenOutput(CliConsole console) =>
        StdoutIsTerminal ? new FileStream(new SafeFileHandle(StdoutFd, ownsHandle: false), FileAccess.Write, bufferSize: 0) : console.OpenStdout();

    public void Dispose()
    {
        _resized?.Dispose();
        _raw?.Dispose();
    }
}
