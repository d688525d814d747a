using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Directory-relative calls (the *at(2) family: mkdirat, mknodat, linkat, …), statx(2), getdents64(2) and file cloning. Each one
// takes a directory fd and a single name, so no path is ever resolved twice: the workspace file API
// pins a directory with openat2 and then works only inside it (security invariant 4).
internal static unsafe partial class Libc
{
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_REMOVEDIR = 0x200;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_BASIC_STATS = 0x7ff;
    internal const uint RENAME_NOREPLACE = 1;
    internal const uint RENAME_EXCHANGE = 2;
    /// <summary>FICLONE = _IOW(0x94, 9, int): share the source's extents (reflink) on XFS/btrfs.</summary>
    internal const nuint FICLONE = 0x40049409;

    /// <summary>struct statx (include/uapi/linux/stat.h), 256 bytes; only the fields Hutch reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSec;
        [FieldOffset(104)] public uint CtimeNsec;
        [FieldOffset(112)] public long MtimeSec;
        [FieldOffset(120)] public uint MtimeNsec;
        [FieldOffset(128)] public uint RdevMajor;
        [FieldOffset(132)] public uint RdevMinor;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport(Name, EntryPoint = "statx", SetLastError = true)]
    internal static partial int StatxAt(int dirfd, byte* path, int flags, uint mask, Statx* buffer);

    [LibraryImport(Name, EntryPoint = "mkdirat", SetLastError = true)]
    internal static partial int MkdirAt(int dirfd, byte* path, int mode);

    [LibraryImport(Name, EntryPoint = "unlinkat", SetLastError = true)]
    internal static partial int UnlinkAt(int dirfd, byte* path, int flags);

    [LibraryImport(Name, EntryPoint = "renameat2", SetLastError = true)]
    internal static partial int RenameAt2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);

    [LibraryImport(Name, EntryPoint = "mknodat", SetLastError = true)]
    internal static partial int MknodAt(int dirfd, byte* path, int mode, ulong device);

    [LibraryImport(Name, EntryPoint = "linkat", SetLastError = true)]
    internal static partial int LinkAt(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);

    [LibraryImport(Name, EntryPoint = "symlinkat", SetLastError = true)]
    internal static partial int SymlinkAt(byte* target, int newdirfd, byte* linkpath);

    [LibraryImport(Name, EntryPoint = "readlinkat", SetLastError = true)]
    internal static partial nint ReadlinkAt(int dirfd, byte* path, byte* buffer, nuint size);

    [LibraryImport(Name, EntryPoint = "fchownat", SetLastError = true)]
    internal static partial int FchownAt(int dirfd, byte* path, int uid, int gid, int flags);

    [LibraryImport(Name, EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int Fchmod(int fd, int mode);

    [LibraryImport(Name, EntryPoint = "utimensat", SetLastError = true)]
    internal static partial int UtimensAt(int dirfd, byte* path, Timespec* times, int flags);

    [LibraryImport(Name, EntryPoint = "futimens", SetLastError = true)]
    internal static partial int Futimens(int fd, Timespec* times);

    [LibraryImport(Name, EntryPoint = "getdents64", SetLastError = true)]
    internal static partial nint Getdents64(int fd, byte* buffer, nuint size);

    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int IoctlInt(int fd, nuint request, int arg);

    [LibraryImport(Name, EntryPoint = "copy_file_range", SetLastError = true)]
    internal static partial nint CopyFileRange(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);

    [LibraryImport(Name, EntryPoint = "sendfile", SetLastError = true)]
    internal static partial nint Sendfile(int outFd, int inFd, long* offset, nuint count);

    /// <summary>sync_file_range(2) flag: start writeback of the range's dirty pages, do not wait.</summary>
    internal const uint SYNC_FILE_RANGE_WRITE = 2;

    [LibraryImport(Name, EntryPoint = "sync_file_range", SetLastError = true)]
    internal static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport(Name, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport(Name, EntryPoint = "fsync", SetLastError = true)]
    internal static partial int Fsync(int fd);

    [LibraryImport(Name, EntryPoint = "syncfs", SetLastError = true)]
    internal static partial int Syncfs(int fd);
}
