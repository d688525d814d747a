using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Pseudo-terminals and terminal attributes: posix_openpt(3), grantpt(3), unlockpt(3), ptsname_r(3),
// tcgetpgrp(3), tcgetattr(3), cfmakeraw(3), tcsetattr(3), and ioctl(2) for the window size
// (TIOCGWINSZ/TIOCSWINSZ, ioctl_tty(2)). Values are Linux's generic ones (x86-64 and arm64).
internal static unsafe partial class Libc
{
    internal const int O_NOCTTY = 0x100;
    internal const nuint TIOCGWINSZ = 0x5413;
    internal const nuint TIOCSWINSZ = 0x5414;
    internal const int TCSANOW = 0;
    internal const int TCSAFLUSH = 2;

    /// <summary>glibc's struct termios is 60 bytes; callers treat it as opaque and allocate this much.</summary>
    internal const int TermiosSize = 128;
    /// <summary>c_lflag's ECHO bit (asm-generic/termbits.h).</summary>
    internal const uint ECHO = 0x8;

    /// <summary>struct winsize: rows, columns, then two pixel sizes nobody uses.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WinSize
    {
        public ushort Rows;
        public ushort Cols;
        public ushort XPixel;
        public ushort YPixel;
    }

    [LibraryImport(Name, EntryPoint = "posix_openpt", SetLastError = true)]
    internal static partial int PosixOpenPt(int flags);

    [LibraryImport(Name, EntryPoint = "grantpt", SetLastError = true)]
    internal static partial int GrantPt(int fd);

    [LibraryImport(Name, EntryPoint = "unlockpt", SetLastError = true)]
    internal static partial int UnlockPt(int fd);

    /// <summary>Returns an errno value (not -1) on failure.</summary>
    [LibraryImport(Name, EntryPoint = "ptsname_r")]
    internal static partial int PtsNameR(int fd, byte* buffer, nuint length);

    [LibraryImport(Name, EntryPoint = "tcgetpgrp", SetLastError = true)]
    internal static partial int TcGetPgrp(int fd);

    [LibraryImport(Name, EntryPoint = "tcgetattr", SetLastError = true)]
    internal static partial int TcGetAttr(int fd, void* termios);

    [LibraryImport(Name, EntryPoint = "tcsetattr", SetLastError = true)]
    internal static partial int TcSetAttr(int fd, int when, void* termios);

    [LibraryImport(Name, EntryPoint = "cfmakeraw")]
    internal static partial void CfMakeRaw(void* termios);

    [LibraryImport(Name, EntryPoint = "isatty")]
    internal static partial int IsATty(int fd);

    // ioctl is variadic; the two requests used here take one pointer, which the x86-64 and arm64
    // Linux calling conventions pass exactly like a fixed third argument.
    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int IoctlWinSize(int fd, nuint request, WinSize* size);
}
