using System.Globalization;
using Hutch.Linux;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Makes the directory that holds the workspaces (the daemon's &lt;data&gt;/workspaces) a file
/// system with reflinks, so a checkpoint shares its files' blocks instead of copying them, and with
/// per-sandbox disk quotas (<see cref="WorkspaceQuotas"/>). When the directory's own file system has
/// reflinks (XFS with reflink=1, btrfs) or is a mount the operator made, it is used as is (with
/// quotas only when it is btrfs with quotas on). Otherwise, while the directory is still empty, a
/// sparse image beside it gets a btrfs file system with quotas on (XFS with reflink=1 and no quotas
/// when mkfs.btrfs is missing) and is loop-mounted over it (after a reboot the existing image is just
/// mounted again). When none of that is possible (no mkfs, a directory already in use, no loop
/// devices), checkpoints are plain copies, and <see cref="Description"/> says why.
/// </summary>
/// <remarks>
/// Mounted with discard, so deleted files punch holes in the image and give the host its space back;
/// nosuid and nodev, as nothing in a workspace needs them. Ext4 has no reflinks, and hard-link trees
/// are no substitute: a process writing a file in place would change the checkpoint with it. An XFS
/// image made by an older Hutch keeps working, without quotas (docs/configuration.md says how to move).
/// </remarks>
public sealed class WorkspaceVolume
{
    private WorkspaceVolume(string directory, bool reflinks, string? image, string description, WorkspaceQuotas? quotas = null, string? noQuotas = null)
    {
        Directory = directory;
        Reflinks = reflinks;
        Image = image;
        Description = description;
        Quotas = quotas;
        QuotaDescription = quotas is not null
            ? $"per-sandbox disk quotas: btrfs qgroups on {directory}"
            : $"no per-sandbox disk quotas: {noQuotas ?? "the workspaces are not on a btrfs volume"}";
        BlockDevice = BlockDevices.Of(directory);
    }

    public string Directory { get; }

    /// <summary>True when files in <see cref="Directory"/> can be reflinked: checkpoints then cost metadata, not copies.</summary>
    public bool Reflinks { get; }

    /// <summary>The loop image mounted on <see cref="Directory"/> when Hutch manages one, else null.</summary>
    public string? Image { get; }

    /// <summary>What was found or done, for logs, health and `hutch doctor`.</summary>
    public string Description { get; }

    /// <summary>Per-sandbox disk quotas on this volume; null when the file system cannot have them (<see cref="QuotaDescription"/> says why).</summary>
    public WorkspaceQuotas? Quotas { get; }

    /// <summary>Whether sandboxes get disk quotas here, and when not, why and what to do.</summary>
    public string QuotaDescription { get; }

    /// <summary>"major:minor" of the whole block device the workspaces are written to (for cgroup I/O limits); null when there is none (a network or virtual file system).</summary>
    public string? BlockDevice { get; }

    /// <summary>Sets the directory up (see the type's summary); creates it (0711) when missing. Needs root for mkfs and mount.</summary>
    public static WorkspaceVolume Ensure(string directory, WorkspaceVolumeOptions? options = null)
    {
        options ??= new WorkspaceVolumeOptions();
        directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        var image = options.ImagePath is { } path ? Path.GetFullPath(path) : directory + ".img";
        var mounted = MountTable.At(directory);
        if (ReflinkProbe.Works(directory))
        {
            var ours = IsLoopOf(mounted, image);
            if (ours)
            {
                UseDirectIo(mounted!.Value.Source);
            }
            string? noQuotas = null;
            var quotas = mounted?.FileSystem == "btrfs"
                ? WorkspaceQuotas.TryOpen(directory, enable: ours, out noQuotas)
                : null;
            if (mounted?.FileSystem != "btrfs")
            {
                noQuotas = ours
                    ? $"{image} is an XFS image made by an older Hutch; to get quotas, delete every sandbox, stop the daemon, `umount {directory}` and remove the image: the next start makes a btrfs one"
                    : $"{directory} is on {mounted?.FileSystem ?? "a file system that is not its own mount"}; quotas need a btrfs mount with quotas on there, or Hutch's own volume";
            }
            return new(directory, true, ours ? image : null,
                $"reflinks: {directory} is on {mounted?.FileSystem ?? "a file system"} with reflinks; checkpoints share blocks with the workspace", quotas, noQuotas);
        }
        if (options.Mode == WorkspaceVolumeMode.Off)
        {
            return Plain(directory, "the workspace volume is turned off (mode Off)");
        }
        if (mounted is { } mount)
        {
            return Plain(directory, $"{directory} is a mount ({mount.FileSystem}) without reflinks; use XFS with reflink=1 or btrfs there");
        }
        if (System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            return Plain(directory, $"{directory} already holds workspaces, and a volume mounted over it would hide them; "
                + "move them away (or start with an empty data directory) to get reflinks");
        }
        return MountImage(directory, image, options);
    }

    /// <summary>
    /// For `hutch doctor`, without changing anything: whether sandboxes whose workspaces live in
    /// <paramref name="directory"/> get disk quotas (now, or once a daemon has made its volume there), and why not.
    /// </summary>
    public static (bool Ok, string Detail) CheckQuotas(string directory)
    {
        directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (MountTable.At(directory) is { } mount)
        {
            if (mount.FileSystem != "btrfs")
            {
                return (false, $"{directory} is {mount.FileSystem}, which has no per-sandbox quotas here; delete every sandbox, stop the daemon, `umount {directory}`, remove {directory}.img if Hutch made it: the next start makes a btrfs volume");
            }
            return WorkspaceQuotas.TryOpen(directory, enable: false, out var why) is not null
                ? (true, $"btrfs quotas on {directory}")
                : (false, why);
        }
        if (File.Exists(directory + ".img"))
        {
            return (false, $"{directory}.img exists but is not mounted; start the daemon (it mounts it) and run doctor again");
        }
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            return (false, $"{directory} holds workspaces but no volume of its own, so it gets none and no quotas; move them away or start with an empty data dir");
        }
        return HostProgram.Find("mkfs.btrfs") is null
            ? (false, "mkfs.btrfs is missing, so the daemon cannot make a btrfs volume with quotas; apt-get install btrfs-progs")
            : (true, $"the daemon will make a btrfs volume with quotas at {directory} on its first start");
    }

    /// <summary>"major:minor" of the disk under <paramref name="directory"/>, as <see cref="BlockDevice"/>; null when none.</summary>
    public static string? DeviceOf(string directory) => BlockDevices.Of(directory);

    /// <summary>Unmounts the loop image from the directory (tests, uninstall); the loop device detaches itself. The image is kept.</summary>
    public void Unmount()
    {
        if (Image is null || MountTable.At(Directory) is null)
        {
            return;
        }
        if (HostProgram.Run("umount", Directory) is { } failure)
        {
            throw new IOException($"{Directory} could not be unmounted: {failure}");
        }
    }

    private static WorkspaceVolume MountImage(string directory, string image, WorkspaceVolumeOptions options)
    {
        var created = false;
        string? noQuotas = null;
        if (!File.Exists(image))
        {
            var btrfs = options.FileSystem == WorkspaceFileSystem.Btrfs && HostProgram.Find("mkfs.btrfs") is not null;
            if (!btrfs && HostProgram.Find("mkfs.xfs") is null)
            {
                return Plain(directory, "neither mkfs.btrfs nor mkfs.xfs is installed (Debian: apt-get install btrfs-progs), so no volume with reflinks was made");
            }
            if (!btrfs && options.FileSystem == WorkspaceFileSystem.Btrfs)
            {
                noQuotas = "mkfs.btrfs is not installed (Debian: apt-get install btrfs-progs), so the volume is XFS, which has no quotas here";
            }
            var size = options.ImageSize ?? DefaultSize(image);
            if (CreateFileSystem(image, size, btrfs) is { } failure)
            {
                return Plain(directory, failure);
            }
            created = true;
        }
        // The mount's root must keep the directory's owner and mode (0711: sandboxes' ids may pass, not list).
        var before = File.GetUnixFileMode(directory);
        var owner = Owner(directory);
        if (HostProgram.Run("mount", "-o", "loop,discard,nosuid,nodev", image, directory) is { } mountFailure)
        {
            if (created)
            {
                File.Delete(image);
            }
            return Plain(directory, $"the image {image} could not be mounted ({mountFailure})");
        }
        File.SetUnixFileMode(directory, before);
        FileOwner.Change(directory, owner.Uid, owner.Gid);
        if (MountTable.At(directory) is { } made)
        {
            UseDirectIo(made.Source);
        }
        var fileSystem = MountTable.At(directory)?.FileSystem ?? "unknown";
        var quotas = fileSystem == "btrfs" ? WorkspaceQuotas.TryOpen(directory, enable: true, out noQuotas) : null;
        noQuotas ??= $"{image} holds {fileSystem}, not btrfs; to get quotas, delete every sandbox, stop the daemon, `umount {directory}` and remove the image: the next start makes a btrfs one";
        if (!ReflinkProbe.Works(directory))
        {
            return new(directory, false, image, $"plain copies: {image} is mounted on {directory}, but reflinks do not work there", quotas, noQuotas);
        }
        var apparent = new FileInfo(image).Length;
        return new(directory, true, image,
            $"reflinks: {fileSystem} image {image} ({Gibibytes(apparent)} sparse) {(created ? "made and " : "")}mounted on {directory}; checkpoints share blocks with the workspace", quotas, noQuotas);
    }

    /// <summary>A sparse file (no blocks until written) with a btrfs file system, or XFS with reflinks; null on success, else why not.</summary>
    private static string? CreateFileSystem(string image, long size, bool btrfs)
    {
        try
        {
            using (var file = new FileStream(image, FileMode.CreateNew, FileAccess.Write))
            {
                file.SetLength(size);   // ftruncate: apparent size only, no blocks
            }
            File.SetUnixFileMode(image, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (IOException e)
        {
            return $"the image {image} could not be created ({e.Message})";
        }
        // btrfs: metadata single, not DUP: the image lives on a host disk that keeps its own copies safe.
        var failure = btrfs
            ? HostProgram.Run("mkfs.btrfs", "-q", "-m", "single", image)
            : HostProgram.Run("mkfs.xfs", "-q", "-m", "reflink=1", image);
        if (failure is not null)
        {
            File.Delete(image);
            return failure;
        }
        return null;
    }

    /// <summary>
    /// 64 GiB, or 90 % of the host's free space when that is less: a sparse image can be given more
    /// than the disk holds, and a loop device whose host disk fills up fails with I/O errors that
    /// shut XFS down, not with "disk full". Grow it later with xfs_growfs if the host gets more space.
    /// </summary>
    private static long DefaultSize(string image)
    {
        var free = new DriveInfo(Path.GetDirectoryName(image)!).AvailableFreeSpace;
        return Math.Min(WorkspaceVolumeOptions.DefaultImageSize, free / 10 * 9) & ~((1L << 20) - 1);
    }

    /// <summary>
    /// Makes the loop device read and write its image with direct I/O. Without it every block is cached
    /// twice (XFS's page cache and the image file's), and the kernel throttles writers to the loop
    /// device's slow-looking writeback: 0.4 GB/s instead of 1-4 GB/s for a 1 GiB write on this host.
    /// Best effort: a kernel or file system that refuses keeps buffered I/O, which is only slower.
    /// </summary>
    private static void UseDirectIo(string device)
    {
        var dio = Path.Join("/sys/block", Path.GetFileName(device), "loop", "dio");
        if (device.StartsWith("/dev/loop", StringComparison.Ordinal) && File.Exists(dio) && File.ReadAllText(dio).Trim() == "0")
        {
            HostProgram.Run("losetup", "--direct-io=on", device);
        }
    }

    private static bool IsLoopOf((string FileSystem, string Source)? mount, string image)
    {
        if (mount is not { Source: var source } || !source.StartsWith("/dev/loop", StringComparison.Ordinal))
        {
            return false;
        }
        var backing = Path.Join("/sys/block", Path.GetFileName(source), "loop", "backing_file");
        return File.Exists(backing) && File.ReadAllText(backing).Trim() == image;
    }

    private static (int Uid, int Gid) Owner(string directory)
    {
        using var pinned = Beneath.OpenRoot(directory);
        var status = At.Stat(pinned, "");
        return ((int)status.Uid, (int)status.Gid);
    }

    private static WorkspaceVolume Plain(string directory, string why) =>
        new(directory, false, null, $"plain copies: {why}; every checkpoint copies the whole workspace", null, why);

    private static string Gibibytes(long bytes) => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + " GiB";
}
