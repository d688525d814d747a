using System.Globalization;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files.Checkpoints;

/// <summary>What the kernel counts against one quota directory: bytes referenced (data and metadata) and the cap.</summary>
public readonly record struct DiskUsage(long Bytes, long? LimitBytes);

/// <summary>
/// Per-sandbox disk quotas on a btrfs workspace volume with quotas on: each workspace (and each
/// sandbox's checkpoint store) is a subvolume of its own whose qgroup caps the bytes it references,
/// so a process that writes past it gets EDQUOT and the file API answers disk_full. Files cost
/// metadata that counts too, so a flood of empty files meets the same cap (about 2,600 per MiB).
/// </summary>
/// <remarks>
/// Why btrfs and not XFS project quotas: XFS quotas need a kernel built with CONFIG_XFS_QUOTA, which
/// the hosts Hutch is developed and tested on lack (ext4's need CONFIG_QFMT_V2, also missing); btrfs
/// qgroups are part of btrfs and keep reflinks for checkpoints. Deleting a quota directory's last entry
/// deletes its subvolume; the kernel drops it, and its qgroup, in the background (Linux 6.x; older
/// kernels keep an empty qgroup). Subvolume ids are never reused, so a new sandbox never inherits a
/// deleted one's usage or limit. Usage is read from
/// /sys/fs/btrfs/UUID/qgroups/0_ID/ (Linux 5.9+), which is cheap enough for every GET.
/// </remarks>
public sealed class WorkspaceQuotas
{
    private readonly string _qgroups;

    private WorkspaceQuotas(string qgroups) => _qgroups = qgroups;

    /// <summary>
    /// Quotas for the btrfs file system at <paramref name="directory"/>; with <paramref name="enable"/>
    /// (a volume Hutch made) accounting is turned on when it is off. Null, with why, when that is not possible.
    /// </summary>
    public static WorkspaceQuotas? TryOpen(string directory, bool enable, out string why)
    {
        try
        {
            using var dir = OpenDirectory(directory);
            var qgroups = Path.Join("/sys/fs/btrfs", Btrfs.FileSystemId(dir).ToString("D"), "qgroups");
            if (!Directory.Exists(qgroups))
            {
                if (!enable)
                {
                    why = $"quotas are off on the btrfs file system of {directory}; turn them on with `btrfs quota enable {directory}`";
                    return null;
                }
                Btrfs.EnableQuotas(dir);
            }
            why = "";
            return Directory.Exists(qgroups)
                ? new WorkspaceQuotas(qgroups)
                : Fail(out why, $"btrfs quotas were turned on at {directory}, but {qgroups} does not exist (Linux 5.9+ shows them there)");
        }
        catch (LinuxException e) when (e.Errno == ENOTTY)
        {
            return Fail(out why, $"{directory} is not on btrfs, and only btrfs qgroups give per-sandbox disk quotas here");
        }
        catch (LinuxException e)
        {
            return Fail(out why, $"btrfs quotas at {directory} could not be used: {e.Message}");
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> (a directory of the volume whose parent exists) as a subvolume
    /// capped at <paramref name="limitBytes"/>, mode 0700.
    /// </summary>
    public void CreateDirectory(string path, long limitBytes)
    {
        using (var parent = OpenDirectory(Path.GetDirectoryName(path)!))
        {
            Btrfs.CreateSubvolume(parent, Path.GetFileName(path));
        }
        using var created = OpenDirectory(path);
        At.Chmod(created, 0x1c0);
        Btrfs.LimitReferenced(created, Btrfs.SubvolumeId(created), limitBytes);
    }

    /// <summary>The subvolume id of a quota directory; null when <paramref name="path"/> is missing or a plain directory (made by an older daemon).</summary>
    public ulong? IdOf(string path)
    {
        try
        {
            using var dir = OpenDirectory(path);
            return Btrfs.IsSubvolumeRoot(dir) ? Btrfs.SubvolumeId(dir) : null;
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;
        }
    }

    /// <summary>What the kernel counts for the quota directory at <paramref name="path"/>; null when it is not one.</summary>
    public DiskUsage? Usage(string path)
    {
        if (IdOf(path) is not { } id)
        {
            return null;
        }
        var dir = Path.Join(_qgroups, "0_" + id.ToString(CultureInfo.InvariantCulture));
        try
        {
            var limit = Number(Path.Join(dir, "max_referenced"));
            return new DiskUsage(Number(Path.Join(dir, "referenced")), limit is > 0 and < long.MaxValue ? limit : null);
        }
        catch (Exception e) when (e is IOException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static SafeFileHandle OpenDirectory(string path)
    {
        using var root = Beneath.OpenRoot(path);
        return Beneath.Open(root, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY);
    }

    private static long Number(string file) =>
        (long)Math.Min(ulong.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture), long.MaxValue);

    private static WorkspaceQuotas? Fail(out string why, string reason)
    {
        why = reason;
        return null;
    }
}
