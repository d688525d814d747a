using System.Formats.Tar;

namespace Hutch.Client.Local;

/// <summary>The tar rules `hutch cp` and sync share when they read or write local files as tar members.</summary>
internal static class LocalTar
{
    /// <summary>The member types that hold a regular file's bytes (ustar/pax/gnu, v7, and contiguous, which is a file).</summary>
    public static bool IsRegularFile(TarEntryType type) =>
        type is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    /// <summary>
    /// Writes a regular file's member, its content opened only when it has bytes: a FIFO, socket or device
    /// looks like an empty file to portable .NET (size 0, not a directory), and opening a FIFO would block
    /// until something writes to it. Such nodes go as empty files, which is all the workspace accepts of them.
    /// </summary>
    /// <param name="writer">The archive being written.</param>
    /// <param name="entry">The member's header (name, mode, time); its data stream is set here.</param>
    /// <param name="size">The file's size as it was seen; 0 means it is not opened.</param>
    /// <param name="open">Opens the content (after whatever checks the caller makes first); disposed here.</param>
    /// <param name="cancellationToken">Stops the write.</param>
    public static async Task WriteFileAsync(TarWriter writer, TarEntry entry, long size, Func<Stream> open, CancellationToken cancellationToken)
    {
        if (size == 0)
        {
            await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var data = open();
        entry.DataStream = data;
        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }
}
