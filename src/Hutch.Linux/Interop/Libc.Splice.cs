using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// splice(2) and the pipe size (fcntl F_SETPIPE_SZ).
internal static unsafe partial class Libc
{
    internal const uint SPLICE_F_MOVE = 1;
    internal const uint SPLICE_F_NONBLOCK = 2;
    internal const int F_SETPIPE_SZ = 1031;

    [LibraryImport(Name, EntryPoint = "splice", SetLastError = true)]
    internal static partial nint Splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);
}
