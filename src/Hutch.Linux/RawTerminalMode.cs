using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>
/// A local terminal switched to raw mode (cfmakeraw(3): no echo, no line editing, no signals from
/// Ctrl-C or Ctrl-Z, no output translation), so every key goes as a byte to a remote terminal that
/// does all of that itself. Dispose puts back the attributes it found; it is idempotent, so a
/// finally block and an exit handler may both call it.
/// </summary>
public sealed unsafe class RawTerminalMode : IDisposable
{
    private readonly int _fd;
    private readonly byte[] _saved;
    private int _restored;

    private RawTerminalMode(int fd, byte[] saved)
    {
        _fd = fd;
        _saved = saved;
    }

    /// <summary>Switches <paramref name="fd"/> to raw mode; null when it is not a terminal.</summary>
    public static RawTerminalMode? TryEnter(int fd) => TryChange(fd, attributes => Libc.CfMakeRaw(attributes));

    /// <summary>
    /// Only turns echo off on <paramref name="fd"/> (line editing and Ctrl-C stay), for reading a
    /// secret typed at a prompt; null when it is not a terminal. Dispose restores it the same way.
    /// </summary>
    // struct termios: c_lflag is the fourth 32-bit field.
    public static RawTerminalMode? TryHideEcho(int fd) => TryChange(fd, attributes => ((uint*)attributes)[3] &= ~Libc.ECHO);

    private delegate void Change(byte* attributes);

    /// <summary>Reads the terminal's attributes, keeps them for Dispose, and sets them as <paramref name="change"/> makes them.</summary>
    private static RawTerminalMode? TryChange(int fd, Change change)
    {
        if (!Pty.IsTerminal(fd))
        {
            return null;
        }
        var saved = new byte[Libc.TermiosSize];
        var changed = stackalloc byte[Libc.TermiosSize];
        fixed (byte* p = saved)
        {
            LinuxException.ThrowIfFailed(Libc.TcGetAttr(fd, p), "tcgetattr");
            new ReadOnlySpan<byte>(p, Libc.TermiosSize).CopyTo(new Span<byte>(changed, Libc.TermiosSize));
        }
        change(changed);
        LinuxException.ThrowIfFailed(Libc.TcSetAttr(fd, Libc.TCSANOW, changed), "tcsetattr");
        return new RawTerminalMode(fd, saved);
    }

    /// <summary>Restores the terminal as it was (best effort: the terminal may be gone by now).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _restored, 1) != 0)
        {
            return;
        }
        fixed (byte* p = _saved)
        {
            _ = Libc.TcSetAttr(_fd, Libc.TCSANOW, p);
        }
    }
}
