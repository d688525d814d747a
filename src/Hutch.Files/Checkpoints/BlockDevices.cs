namespace Hutch.Files.Checkpoints;

/// <summary>
/// Finds the block device a directory's files are written to, as the "major:minor" that cgroup I/O
/// limits name (blkio.throttle.*_device, io.max). The kernel refuses limits on a partition, so a
/// partition is traded for its disk. A btrfs file's st_dev is an anonymous device of its subvolume,
/// so the mount's source is asked first.
/// </summary>
internal static class BlockDevices
{
    public static string? Of(string directory)
    {
        try
        {
            var sysfs = MountTable.At(directory) is { Source: var source } && source.StartsWith("/dev/", StringComparison.Ordinal)
                ? Path.Join("/sys/class/block", Path.GetFileName(source))
                : ByNumber(directory);
            if (sysfs is null || !Directory.Exists(sysfs))
            {
                return null;
            }
            var resolved = new DirectoryInfo(sysfs).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? sysfs;
            if (File.Exists(Path.Join(resolved, "partition")))
            {
                resolved = Path.GetDirectoryName(resolved)!;
            }
            var dev = Path.Join(resolved, "dev");
            return File.Exists(dev) ? File.ReadAllText(dev).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>/sys/dev/block/MAJOR:MINOR of the directory's st_dev, which is a real device on ext4 and XFS.</summary>
    private static string? ByNumber(string directory)
    {
        using var dir = Hutch.Linux.Beneath.OpenRoot(directory);
        var device = Hutch.Linux.At.Stat(dir, "").Device;
        var path = $"/sys/dev/block/{device >> 32}:{device & 0xffffffff}";
        return Directory.Exists(path) ? path : null;
    }
}
