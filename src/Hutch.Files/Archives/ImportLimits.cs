namespace Hutch.Files.Archives;

/// <summary>
/// Caps on one archive import, so a decompression bomb or an archive of a million empty files stops
/// with archive_too_large instead of filling the disk or the daemon's memory.
/// </summary>
/// <param name="MaxBytes">
/// Most bytes of the archive once decompressed (tar headers included), counted as they stream, so a
/// small gzip that inflates to terabytes stops at this many bytes read. File contents written are
/// held to the same cap. Default 10 GiB.
/// </param>
/// <param name="MaxEntries">Most members (files, directories, links, pax global headers). Default 1,000,000.</param>
public sealed record ImportLimits(long MaxBytes = ImportLimits.DefaultMaxBytes, int MaxEntries = ImportLimits.DefaultMaxEntries)
{
    public const long DefaultMaxBytes = 10L << 30;
    public const int DefaultMaxEntries = 1_000_000;

    public static ImportLimits Default { get; } = new();
}
