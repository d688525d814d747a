using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// The few btrfs calls behind per-sandbox disk quotas (btrfs-subvolume(8), btrfs-qgroup(8)): a
/// subvolume per workspace, and a limit on its qgroup that the kernel enforces with EDQUOT. Each
/// subvolume gets an id the file system never hands out again, so a new one never inherits the
/// usage or the limit of a deleted one.
/// </summary>
public static unsafe class Btrfs
{
    /// <summary>Creates the subvolume <paramref name="name"/> (a single name) in the open directory <paramref name="parent"/>.</summary>
    public static void CreateSubvolume(SafeFileHandle parent, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length == 0 || bytes.Length >= 4088 || name.Contains('/') || name.Contains('\0'))
        {
            throw new ArgumentException($"'{name}' is not a single file name", nameof(name));
        }
        var args = new Libc.BtrfsVolArgs();
        bytes.CopyTo(new Span<byte>(args.Name, 4088));
        Ioctl(parent, Libc.BTRFS_IOC_SUBVOL_CREATE, &args, "BTRFS_IOC_SUBVOL_CREATE", name);
    }

    /// <summary>The id of the subvolume that holds the open file or directory (its level-0 qgroup has the same id).</summary>
    public static ulong SubvolumeId(SafeFileHandle inside)
    {
        var args = new Libc.BtrfsInoLookupArgs { TreeId = 0, ObjectId = Libc.BTRFS_FIRST_FREE_OBJECTID };
        Ioctl(inside, Libc.BTRFS_IOC_INO_LOOKUP, &args, "BTRFS_IOC_INO_LOOKUP");
        return args.TreeId;
    }

    /// <summary>True when the open directory is the root of a subvolume (every subvolume's root is inode 256).</summary>
    public static bool IsSubvolumeRoot(SafeFileHandle directory) =>
        At.Stat(directory, "").Inode == Libc.BTRFS_FIRST_FREE_OBJECTID;

    /// <summary>The file system's UUID, as /sys/fs/btrfs/ names it.</summary>
    public static Guid FileSystemId(SafeFileHandle inside)
    {
        var args = new Libc.BtrfsFsInfoArgs();
        Ioctl(inside, Libc.BTRFS_IOC_FS_INFO, &args, "BTRFS_IOC_FS_INFO");
        // The UUID's 16 bytes in the order they are printed (big-endian fields).
        return new Guid(new ReadOnlySpan<byte>(args.FsId, 16), bigEndian: true);
    }

    /// <summary>Turns quota accounting on for the whole file system (needs CAP_SYS_ADMIN); a no-op when it is on.</summary>
    public static void EnableQuotas(SafeFileHandle inside)
    {
        var args = new Libc.BtrfsQuotaCtlArgs { Cmd = Libc.BTRFS_QUOTA_CTL_ENABLE };
        Ioctl(inside, Libc.BTRFS_IOC_QUOTA_CTL, &args, "BTRFS_IOC_QUOTA_CTL");
    }

    /// <summary>Caps the bytes a subvolume may reference (its data and metadata, shared extents included); null lifts the cap.</summary>
    public static void LimitReferenced(SafeFileHandle inside, ulong subvolumeId, long? bytes)
    {
        var args = new Libc.BtrfsQgroupLimitArgs
        {
            QgroupId = subvolumeId,
            Flags = Libc.BTRFS_QGROUP_LIMIT_MAX_RFER,
            MaxReferenced = bytes is { } b ? (ulong)b : ulong.MaxValue,   // all ones: "none", as btrfs-progs sends it
        };
        Ioctl(inside, Libc.BTRFS_IOC_QGROUP_LIMIT, &args, "BTRFS_IOC_QGROUP_LIMIT", subvolumeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Ioctl(SafeFileHandle handle, nuint request, void* args, string call, string? subject = null)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            while (Libc.IoctlPointer(Fd(handle), request, args) == -1)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    throw new LinuxException(call, errno, subject);
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();
}
