using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// socket(2), bind(2), listen(2) for AF_UNIX listeners.
internal static unsafe partial class Libc
{
    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int SunPathSize = 108;

    [LibraryImport(Name, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Name, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, byte* address, int length);

    [LibraryImport(Name, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(int fd, int backlog);
}
