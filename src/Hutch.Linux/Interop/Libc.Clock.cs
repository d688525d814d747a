using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// clock_gettime(2) for CLOCK_BOOTTIME.
internal static partial class Libc
{
    internal const int CLOCK_BOOTTIME = 7;

    [LibraryImport(Name, EntryPoint = "clock_gettime", SetLastError = true)]
    internal static partial int ClockGettime(int clock, out Timespec time);
}
