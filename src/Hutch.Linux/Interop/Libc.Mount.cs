using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// The new mount API (Linux 5.2+, mount_setattr 5.12+, overlayfs "lowerdir+" by descriptor 6.8+),
// reached through syscall(2): glibc 2.36 declares some of these but not all, and the numbers are the
// same on every architecture (include/uapi/asm-generic/unistd.h, syscall_64.tbl).
internal static unsafe partial class Libc
{
    internal const long SYS_open_tree = 428, SYS_move_mount = 429, SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432, SYS_mount_setattr = 442;

    internal const uint OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000;
    internal const uint MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    // Linux 6.5: the moved mount goes beneath the top mount at the target, which stays on top until
    // it is unmounted (include/uapi/linux/mount.h; "fs: allow to mount beneath top mount").
    internal const uint MOVE_MOUNT_BENEATH = 0x200;
    // mount_attr.propagation takes one of the MS_* propagation types (linux/mount.h).
    internal const ulong MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20;
    internal const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    internal const uint FSCONFIG_SET_FLAG = 0, FSCONFIG_SET_STRING = 1, FSCONFIG_SET_FD = 5, FSCONFIG_CMD_CREATE = 6;
    internal const ulong MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4, MOUNT_ATTR_NOEXEC = 0x8, MOUNT_ATTR_IDMAP = 0x100000;
    internal const int MNT_DETACH = 2;

    /// <summary>struct mount_attr (linux/mount.h), MOUNT_ATTR_SIZE_VER0.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MountAttr
    {
        public ulong AttrSet;
        public ulong AttrClr;
        public ulong Propagation;
        public ulong UsernsFd;
    }

    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall3(long number, int a, byte* b, uint c);

    [LibraryImport(Name, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall5(long number, long a, long b, long c, long d, long e);

    internal static int OpenTree(int dirfd, byte* path, uint flags) => (int)Syscall3(SYS_open_tree, dirfd, path, flags);

    internal static int MountSetattr(int dirfd, byte* path, uint flags, MountAttr* attr) =>
        (int)Syscall5(SYS_mount_setattr, dirfd, (long)path, flags, (long)attr, sizeof(MountAttr));

    internal static int Fsopen(byte* fsName, uint flags) => (int)Syscall5(SYS_fsopen, (long)fsName, flags, 0, 0, 0);

    internal static int Fsconfig(int fd, uint cmd, byte* key, void* value, int aux) =>
        (int)Syscall5(SYS_fsconfig, fd, cmd, (long)key, (long)value, aux);

    internal static int Fsmount(int fd, uint flags, ulong attrs) => (int)Syscall5(SYS_fsmount, fd, flags, (long)attrs, 0, 0);

    internal static int MoveMount(int fromFd, byte* fromPath, int toDirfd, byte* toPath, uint flags) =>
        (int)Syscall5(SYS_move_mount, fromFd, (long)fromPath, toDirfd, (long)toPath, flags);

    [LibraryImport(Name, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);
}
