using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// openat2(2), Linux 5.6+. glibc 2.36 (Debian 12) has no wrapper, so it is reached through syscall(2).
// Written by hand because no library offers it; the resolve flags are what make path containment
// kernel-enforced (RESOLVE_IN_ROOT / RESOLVE_BENEATH / RESOLVE_NO_MAGICLINKS, see openat2(2)).
internal static unsafe partial class Libc
{
    /// <summary>__NR_openat2: 437 on every architecture since 5.6 (include/uapi/asm-generic/unistd.h, syscall_64.tbl).</summary>
    internal const long SYS_openat2 = 437;
    internal const int AT_FDCWD = -100;
    internal const ulong RESOLVE_NO_XDEV = 0x01;
    internal const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    internal const ulong RESOLVE_NO_SYMLINKS = 0x04;
    internal const ulong RESOLVE_BENEATH = 0x08;
    internal const ulong RESOLVE_IN_ROOT = 0x10;

    /// <summary>struct open_how (include/uapi/linux/openat2.h): its size is passed along, for extensibility.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallOpenat2(long number, int dirfd, byte* path, OpenHow* how, nuint size);

    /// <summary>openat2(dirfd, path, how): a new fd, or -1 with errno set (read it with Marshal.GetLastPInvokeError).</summary>
    internal static int Openat2(int dirfd, byte* path, OpenHow* how) =>
        (int)SyscallOpenat2(SYS_openat2, dirfd, path, how, (nuint)sizeof(OpenHow));
}

/// <summary>Checks for kernel features Hutch needs, for `hutch doctor` and startup checks.</summary>
public static class KernelProbes
{
    /// <summary>
    /// Opens "/" with openat2 and RESOLVE_NO_MAGICLINKS: 0 when it works, else the errno (ENOSYS on a
    /// kernel before 5.6, EPERM or ENOSYS when a seccomp filter of an outer container refuses it).
    /// </summary>
    public static unsafe int Openat2()
    {
        var how = new Libc.OpenHow { Flags = (ulong)(Libc.O_RDONLY | Libc.O_CLOEXEC), Resolve = Libc.RESOLVE_NO_MAGICLINKS };
        byte* root = stackalloc byte[] { (byte)'/', 0 };
        var fd = Libc.Openat2(Libc.AT_FDCWD, root, &how);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }
        Libc.Close(fd);
        return 0;
    }
}
