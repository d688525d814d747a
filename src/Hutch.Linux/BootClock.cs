using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>
/// CLOCK_BOOTTIME: milliseconds since this boot, suspend included. Unlike the wall clock it never jumps
/// when someone sets the time, and unlike a process's own monotonic clock it means the same in every
/// process of one boot, so a deadline written by one daemon holds for the next. <see cref="BootId"/>
/// tells one boot from the next (the kernel's random boot id).
/// </summary>
public static class BootClock
{
    public static long NowMilliseconds
    {
        get
        {
            LinuxException.ThrowIfFailed(Libc.ClockGettime(Libc.CLOCK_BOOTTIME, out var now), "clock_gettime(CLOCK_BOOTTIME)");
            return now.Sec * 1000 + now.Nsec / 1_000_000;
        }
    }

    public static string BootId { get; } = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
}
