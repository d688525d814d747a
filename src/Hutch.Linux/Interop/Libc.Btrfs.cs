using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// btrfs ioctls (include/uapi/linux/btrfs.h) behind per-sandbox disk quotas: a subvolume per
// workspace and a qgroup limit on it. Written by hand: no .NET library speaks them, and running
// btrfs-progs would cost a process per call on the create path. Request numbers are the _IOW/_IOR
// values of the header on x86-64 and arm64 (the structs have no pointer-sized fields).
internal static unsafe partial class Libc
{
    internal const nuint BTRFS_IOC_SUBVOL_CREATE = 0x5000940e;
    internal const nuint BTRFS_IOC_INO_LOOKUP = 0xd0009412;
    internal const nuint BTRFS_IOC_FS_INFO = 0x8400941f;
    internal const nuint BTRFS_IOC_QUOTA_CTL = 0xc0109428;
    internal const nuint BTRFS_IOC_QGROUP_LIMIT = 0x8030942b;
    internal const ulong BTRFS_QUOTA_CTL_ENABLE = 1;
    internal const ulong BTRFS_QGROUP_LIMIT_MAX_RFER = 1;
    /// <summary>The inode number of every subvolume's root directory (btrfs_tree.h).</summary>
    internal const ulong BTRFS_FIRST_FREE_OBJECTID = 256;

    /// <summary>struct btrfs_ioctl_vol_args: 4096 bytes, the new subvolume's name NUL-terminated.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtrfsVolArgs
    {
        public long Fd;
        public fixed byte Name[4088];
    }

    /// <summary>struct btrfs_ioctl_ino_lookup_args: with objectid 256 and treeid 0, the kernel fills treeid with the subvolume's id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtrfsInoLookupArgs
    {
        public ulong TreeId;
        public ulong ObjectId;
        public fixed byte Name[4080];
    }

    /// <summary>struct btrfs_ioctl_fs_info_args: 1024 bytes; only the file system's UUID (at 16) is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 1024)]
    internal struct BtrfsFsInfoArgs
    {
        [FieldOffset(16)] public fixed byte FsId[16];
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct BtrfsQuotaCtlArgs
    {
        public ulong Cmd;
        public ulong Status;
    }

    /// <summary>struct btrfs_ioctl_qgroup_limit_args: a qgroup id and struct btrfs_qgroup_limit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BtrfsQgroupLimitArgs
    {
        public ulong QgroupId;
        public ulong Flags;
        public ulong MaxReferenced;
        public ulong MaxExclusive;
        public ulong ReservedReferenced;
        public ulong ReservedExclusive;
    }

    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int IoctlPointer(int fd, nuint request, void* arg);
}
