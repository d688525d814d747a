using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// Pseudo-terminals (pty(7)): the master end a server reads and writes, the slave end a program
/// gets as its terminal. Also the window size and the foreground process group, which the kernel
/// keeps per terminal and which work through the master.
/// </summary>
public static unsafe class Pty
{
    /// <summary>The largest size a terminal may be given (struct winsize holds unsigned shorts).</summary>
    public const int MaxDimension = ushort.MaxValue;

    /// <summary>
    /// Opens a new pseudo-terminal: its master (close-on-exec, and never our controlling terminal)
    /// and the path of its slave, unlocked so a child can open it.
    /// </summary>
    public static (SafeFileHandle Master, string SlavePath) Open()
    {
        var fd = LinuxException.ThrowIfFailed(Libc.PosixOpenPt(Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC), "posix_openpt");
        var master = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // With devpts (all Linux since 2.6) grantpt only checks the descriptor; the slave is
            // created with our uid and the devpts mount's mode.
            LinuxException.ThrowIfFailed(Libc.GrantPt(fd), "grantpt");
            LinuxException.ThrowIfFailed(Libc.UnlockPt(fd), "unlockpt");
            var name = stackalloc byte[128];
            var rc = Libc.PtsNameR(fd, name, 128);
            if (rc != 0)
            {
                throw new LinuxException("ptsname_r", rc);
            }
            return (master, Marshal.PtrToStringUTF8((nint)name)!);
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>Sets the window size (TIOCSWINSZ); the kernel sends SIGWINCH to the foreground process group when it changes.</summary>
    public static void SetSize(SafeFileHandle terminal, int cols, int rows)
    {
        if (cols is < 1 or > MaxDimension || rows is < 1 or > MaxDimension)
        {
            throw new ArgumentOutOfRangeException(nameof(cols), $"a terminal is 1-{MaxDimension} columns by 1-{MaxDimension} rows");
        }
        var size = new Libc.WinSize { Cols = (ushort)cols, Rows = (ushort)rows };
        var fd = (int)terminal.DangerousGetHandle();
        LinuxException.ThrowIfFailed(Libc.IoctlWinSize(fd, Libc.TIOCSWINSZ, &size), "ioctl(TIOCSWINSZ)");
    }

    /// <summary>The window size of the terminal on <paramref name="fd"/>, or null when it is not a terminal.</summary>
    public static (int Cols, int Rows)? TryGetSize(int fd)
    {
        Libc.WinSize size;
        if (Libc.IoctlWinSize(fd, Libc.TIOCGWINSZ, &size) != 0 || size.Cols == 0 || size.Rows == 0)
        {
            return null;
        }
        return (size.Cols, size.Rows);
    }

    /// <summary>
    /// The terminal's foreground process group (tcgetpgrp(3) through the master, as terminal
    /// emulators ask it): the group Ctrl-C interrupts. 0 when none is set.
    /// </summary>
    public static int ForegroundProcessGroup(SafeFileHandle master)
    {
        var pgrp = Libc.TcGetPgrp((int)master.DangerousGetHandle());
        return pgrp < 0 ? throw new LinuxException("tcgetpgrp", Marshal.GetLastPInvokeError()) : pgrp;
    }

    /// <summary>Whether <paramref name="fd"/> is a terminal (isatty(3)).</summary>
    public static bool IsTerminal(int fd) => Libc.IsATty(fd) == 1;
}
