using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Entering a network namespace: pidfd_open(2) (Linux 5.3; reached through syscall(2) like openat2)
// and setns(2), which accepts a pidfd since Linux 5.8.
internal static partial class Libc
{
    /// <summary>__NR_pidfd_open: 434 on every architecture (include/uapi/asm-generic/unistd.h, syscall_64.tbl).</summary>
    internal const long SYS_pidfd_open = 434;
    internal const int CLONE_NEWNET = 0x40000000;
    internal const int AF_INET = 2;

    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallPidfdOpen(long number, int pid, uint flags);

    /// <summary>pidfd_open(pid, 0): a descriptor that refers to this very process, never to a later one with its pid.</summary>
    internal static int PidfdOpen(int pid) => (int)SyscallPidfdOpen(SYS_pidfd_open, pid, 0);

    [LibraryImport(Name, EntryPoint = "setns", SetLastError = true)]
    internal static partial int Setns(int fd, int nstype);
}
