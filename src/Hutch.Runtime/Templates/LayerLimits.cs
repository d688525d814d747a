namespace Hutch.Runtime.Templates;

/// <summary>
/// What one layer may hold. They bound huge and endless layers and decompression bombs: bytes are
/// counted after decompression as they are read, so a small gzip that inflates forever stops at
/// <see cref="MaxBytes"/> with nothing kept.
/// </summary>
/// <param name="MaxBytes">Most bytes of the uncompressed tar stream (headers and padding included); default 8 GiB.</param>
/// <param name="MaxEntries">Most tar entries (every kind, skipped ones too); default 1,000,000.</param>
/// <param name="MaxPathLength">Most bytes of an entry's path or a link's target (UTF-8); default 4096, Linux's PATH_MAX.</param>
public sealed record LayerLimits(long MaxBytes = 8L << 30, long MaxEntries = 1_000_000, int MaxPathLength = 4096)
{
    public static LayerLimits Default { get; } = new();

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxEntries);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPathLength, 256);
    }
}

/// <summary>What one image archive may hold, on top of <see cref="Layer"/> for each of its layers.</summary>
/// <param name="MaxArchiveBytes">Most bytes of the archive as read (blobs are spooled to disk, so this bounds the spool); default 32 GiB.</param>
/// <param name="MaxLayers">
/// Most layers in the image; default 127, Docker's own limit, well under what one overlayfs mount
/// stacks (500 lower layers).
/// </param>
/// <param name="MaxArchiveEntries">Most entries of the archive's tar (blobs, metadata files, directories); default 100,000.</param>
/// <param name="Layer">The limits of each layer.</param>
public sealed record ImageLimits(long MaxArchiveBytes = 32L << 30, int MaxLayers = 127, int MaxArchiveEntries = 100_000, LayerLimits? Layer = null)
{
    public static ImageLimits Default { get; } = new();

    internal LayerLimits LayerOrDefault => Layer ?? LayerLimits.Default;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxArchiveBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxLayers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxArchiveEntries);
        LayerOrDefault.Validate();
    }
}
