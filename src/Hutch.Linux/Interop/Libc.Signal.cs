using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// signal(2), only to set SIG_IGN (glibc implements it with sigaction and BSD semantics).
internal static partial class Libc
{
    internal static readonly nint SIG_IGN = 1;
    internal static readonly nint SIG_ERR = -1;

    [LibraryImport(Name, EntryPoint = "signal", SetLastError = true)]
    internal static partial nint SignalHandler(int signal, nint handler);
}
