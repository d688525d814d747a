namespace Hutch.Files.Checkpoints;

/// <summary>Whether Hutch may put the workspaces on a volume of its own to get reflinks.</summary>
public enum WorkspaceVolumeMode
{
    /// <summary>Use the directory's file system when it has reflinks; else mount a btrfs (or XFS) loop image over the (empty) directory.</summary>
    Auto,
    /// <summary>Never mount anything: checkpoints are plain copies unless the directory's file system has reflinks anyway.</summary>
    Off,
}

/// <summary>The file system of a volume Hutch makes.</summary>
public enum WorkspaceFileSystem
{
    /// <summary>btrfs with quotas on: reflinks and per-sandbox disk quotas (the default).</summary>
    Btrfs,
    /// <summary>XFS with reflink=1: reflinks, no quotas (kernels here lack CONFIG_XFS_QUOTA). For tests of XFS itself.</summary>
    Xfs,
}

/// <summary>How the workspaces' volume is set up (see <see cref="WorkspaceVolume"/>).</summary>
public sealed record WorkspaceVolumeOptions
{
    /// <summary>64 GiB: an upper bound, not a reservation (the image is sparse).</summary>
    public const long DefaultImageSize = 64L << 30;

    public WorkspaceVolumeMode Mode { get; init; } = WorkspaceVolumeMode.Auto;

    /// <summary>What a new image is formatted with; btrfs falls back to XFS when mkfs.btrfs is missing.</summary>
    public WorkspaceFileSystem FileSystem { get; init; } = WorkspaceFileSystem.Btrfs;

    /// <summary>
    /// The loop image's apparent size, the most all workspaces and checkpoints together may hold.
    /// Null: <see cref="DefaultImageSize"/>, or less when the host file system has less free space,
    /// because writes to a loop image whose host disk is full fail as I/O errors.
    /// </summary>
    public long? ImageSize { get; init; }

    /// <summary>Where the image lives; null: beside the directory, as "&lt;directory&gt;.img".</summary>
    public string? ImagePath { get; init; }
}
