using System.Formats.Tar;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using Hutch.Client.Local;

namespace Hutch.Client.Sync;

/// <summary>
/// Streams local entries to <see cref="ISyncRemote.ImportTarAsync"/> as one tar, produced while the
/// remote reads it: no temporary archive, whatever the size of the tree.
/// </summary>
internal static class TarUpload
{
    /// <summary>Sends <paramref name="entries"/> (tree order) and returns the file bytes sent.</summary>
    /// <exception cref="SyncException">A file changed since it was scanned (<see cref="SyncErrorCodes.LocalChanged"/>).</exception>
    public static async Task<long> SendAsync(ISyncRemote remote, string root, string localDirectory, IReadOnlyList<SyncEntry> entries, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(pipe.Writer, localDirectory, entries, stop.Token), CancellationToken.None);

        Exception? importFailure = null;
        try
        {
            await using var reading = pipe.Reader.AsStream();
            await remote.ImportTarAsync(root, reading, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            importFailure = e;
            await stop.CancelAsync().ConfigureAwait(false);
        }

        Exception? produceFailure = null;
        long bytes = 0;
        try
        {
            bytes = await producer.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            produceFailure = e;
        }
        // A file that changed while being sent is why the import failed (it saw the stream break):
        // that is the error worth reporting. Otherwise the remote's own failure is.
        var failure = produceFailure is SyncException ? produceFailure : importFailure ?? produceFailure;
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
        return bytes;
    }

    private static async Task<long> ProduceAsync(PipeWriter writer, string localDirectory, IReadOnlyList<SyncEntry> entries, CancellationToken cancellationToken)
    {
        try
        {
            long bytes = 0;
            await using (var output = writer.AsStream(leaveOpen: true))
            {
                // GNU format: long names and names with newlines as GNU records, which TarReader reads back (its pax parser rejects a newline).
                await using var tar = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
                foreach (var entry in entries)
                {
                    bytes += await WriteEntryAsync(tar, localDirectory, entry, cancellationToken).ConfigureAwait(false);
                }
            }
            await writer.CompleteAsync().ConfigureAwait(false);
            return bytes;
        }
        catch (Exception e)
        {
            await writer.CompleteAsync(e).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<long> WriteEntryAsync(TarWriter tar, string localDirectory, SyncEntry entry, CancellationToken cancellationToken)
    {
        var mode = (UnixFileMode)(entry.Mode & SyncEntry.PermissionMask);
        switch (entry.Type)
        {
            case SyncEntryType.Directory:
                await tar.WriteEntryAsync(new GnuTarEntry(TarEntryType.Directory, entry.Path) { Mode = mode }, cancellationToken).ConfigureAwait(false);
                return 0;
            case SyncEntryType.Symlink:
                await tar.WriteEntryAsync(new GnuTarEntry(TarEntryType.SymbolicLink, entry.Path) { LinkName = entry.LinkTarget! }, cancellationToken).ConfigureAwait(false);
                return 0;
        }

        await LocalTar.WriteFileAsync(tar, new GnuTarEntry(TarEntryType.RegularFile, entry.Path) { Mode = mode }, entry.Size, () =>
        {
            LocalEntries.CheckParents(localDirectory, entry.Path);
            return new VerifyingReadStream(LocalFs.OpenRead(LocalEntries.Full(localDirectory, entry.Path)), entry);
        }, cancellationToken).ConfigureAwait(false);
        return entry.Size;
    }
}
