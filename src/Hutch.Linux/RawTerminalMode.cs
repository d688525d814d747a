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
    public static RawTerminalMode? TryEnter(int fd)
    {
        if (!Pty.IsTerminal(fd))
        {
            return null;
        }
        var saved = new byte[Libc.TermiosSize];
        var raw = stackalloc byte[Libc.TermiosSize];
        fixed (byte* p = saved)
        {
            LinuxException.ThrowIfFailed(Libc.TcGetAttr(fd, p), "tcgetattr");
            new ReadOnlySpan<byte>(p, Libc.TermiosSize).CopyTo(new Span<byte>(raw, Libc.TermiosSize));
        }
        Libc.CfMakeRaw(raw);
        LinuxException.ThrowIfFailed(Libc.TcSetAttr(fd, Libc.TCSANOW, raw), "tcsetattr");
        return new RawTerminalMode(fd, saved);
    }

    /// <summary>
    /// Only turns echo off on <paramref name="fd"/> (line editing and Ctrl-C stay), for reading a
    /// secret typed at a prompt; null when it is not a terminal. Dispose restores it the same way.
    /// </summary>
    public static RawTerminalMode? TryHideEcho(int fd)
    {
        if (!Pty.IsTerminal(fd))
        {
            return null;
        }
        var saved = new byte[Libc.TermiosSize];
        var quiet = stackalloc byte[Libc.TermiosSize];
        fixed (byte* p = saved)
        {
            LinuxException.ThrowIfFailed(Libc.TcGetAttr(fd, p), "tcgetattr");
            new ReadOnlySpan<byte>(p, Libc.TermiosSize).CopyTo(new Span<byte>(quiet, Libc.TermiosSize));
        }
        // struct termios: c_lflag is the fourth 32-bit field.
        ((uint*)quiet)[3] &= ~Libc.ECHO;
        LinuxException.ThrowIfFailed(Libc.TcSetAttr(fd, Libc.TCSANOW, quiet), "tcsetattr");
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
