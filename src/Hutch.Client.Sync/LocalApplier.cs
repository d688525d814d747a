using System.Buffers;
using System.Formats.Tar;
using System.Security.Cryptography;
using Hutch.Client.Local;

namespace Hutch.Client.Sync;

/// <summary>
/// Carries out a <see cref="MergePlan"/> on the local directory. Every step re-checks what it is about
/// to replace or delete (it must still be what the merge saw), never writes beneath a symlink, and writes
/// atomically: the content goes to a temporary file beside the destination, is checked against the
/// sandbox listing's hash, then renamed into place.
/// </summary>
/// <param name="localDirectory">The full path of the synced directory.</param>
/// <param name="remote">Where file content comes from.</param>
/// <param name="root">The sandbox directory.</param>
/// <param name="settled">Told each path that now holds, on both sides, the given entry (null: nothing); the caller keeps the baseline.</param>
internal sealed class LocalApplier(string localDirectory, ISyncRemote remote, string root, Action<string, SyncEntry?> settled)
{
    /// <summary>Directories get their mode at once, unless it would stop writing into them (no u+w or u+x).</summary>
    private const int OwnerWriteAndSearch = 0xC0;

    /// <summary>File bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Deletions (deepest first), directories (parents first), files, symlinks, then the modes that had to wait.</summary>
    public async Task ApplyAsync(MergePlan plan, CancellationToken cancellationToken)
    {
        foreach (var entry in plan.Deletes)
        {
            await DeleteAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        var closeLater = new List<LocalWrite>();
        foreach (var write in plan.Writes.Where(w => w.Sandbox.Type == SyncEntryType.Directory))
        {
            await WriteDirectoryAsync(write, closeLater, cancellationToken).ConfigureAwait(false);
        }

        var files = plan.Writes.Where(w => w.Sandbox.Type == SyncEntryType.File).ToList();
        foreach (var write in files.Where(IsModeOnly))
        {
            await LocalEntries.VerifyUnchangedAsync(localDirectory, write.Replaces!, cancellationToken).ConfigureAwait(false);
            LocalEntries.SetMode(Full(write.Destination), write.Sandbox.Mode);
            Settle(write);
        }
        await DownloadAsync(files.Where(w => !IsModeOnly(w)).ToList(), cancellationToken).ConfigureAwait(false);

        foreach (var write in plan.Writes.Where(w => w.Sandbox.Type == SyncEntryType.Symlink))
        {
            var temporary = Temporary(write.Destination);
            File.CreateSymbolicLink(temporary, write.Sandbox.LinkTarget!);
            await PlaceAsync(temporary, write, cancellationToken).ConfigureAwait(false);
            Settle(write);
        }

        for (var i = closeLater.Count - 1; i >= 0; i--)
        {
            if (LocalFs.Lstat(Full(closeLater[i].Destination)) == LocalKind.Directory)
            {
                LocalEntries.SetMode(Full(closeLater[i].Destination), closeLater[i].Sandbox.Mode);
                Settle(closeLater[i]);
            }
        }
    }

    private static bool IsModeOnly(LocalWrite write) => write.Replaces is { } old && SyncEntry.SameContent(old, write.Sandbox);

    private async Task DeleteAsync(SyncEntry entry, CancellationToken cancellationToken)
    {
        await LocalEntries.VerifyUnchangedAsync(localDirectory, entry, cancellationToken).ConfigureAwait(false);
        var full = Full(entry.Path);
        if (entry.Type == SyncEntryType.Directory)
        {
            try
            {
                Directory.Delete(full, recursive: false);
            }
            catch (IOException e) when (LocalFs.Lstat(full) == LocalKind.Directory)
            {
                throw new SyncException(SyncErrorCodes.LocalChanged,
                    $"\"{SyncPath.Escape(entry.Path)}\" got new content locally while pulling, so it was not deleted. Run the pull again.", e);
            }
        }
        else
        {
            File.Delete(full); // unlink: a symlink goes, never its target
        }
        settled(entry.Path, null);
    }

    private async Task WriteDirectoryAsync(LocalWrite write, List<LocalWrite> closeLater, CancellationToken cancellationToken)
    {
        var full = Full(write.Destination);
        if (write.Replaces is { } old)
        {
            await LocalEntries.VerifyUnchangedAsync(localDirectory, old, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            LocalEntries.CheckParents(localDirectory, write.Destination);
            if (LocalFs.Lstat(full) != LocalKind.None)
            {
                throw Appeared(write.Destination);
            }
            Directory.CreateDirectory(full);
        }
        if ((write.Sandbox.Mode & OwnerWriteAndSearch) == OwnerWriteAndSearch)
        {
            LocalEntries.SetMode(full, write.Sandbox.Mode);
            Settle(write);
        }
        else
        {
            closeLater.Add(write);
        }
    }

    /// <summary>Fetches every file in one tar and writes each as it streams by.</summary>
    private async Task DownloadAsync(List<LocalWrite> writes, CancellationToken cancellationToken)
    {
        if (writes.Count == 0)
        {
            return;
        }
        var pending = writes.ToDictionary(w => w.Sandbox.Path, StringComparer.Ordinal);
        var tar = await remote.ExportTarAsync(root, pending.Keys.ToList(), cancellationToken).ConfigureAwait(false);
        await using (var reader = new TarReader(tar, leaveOpen: false))
        {
            while (pending.Count > 0 && await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (!pending.Remove(NormalizeName(entry.Name), out var write))
                {
                    continue; // not asked for: never written
                }
                if (!LocalTar.IsRegularFile(entry.EntryType))
                {
                    throw SandboxChanged(write.Sandbox.Path, "is no longer a regular file");
                }
                await WriteFileAsync(write, entry.DataStream, cancellationToken).ConfigureAwait(false);
            }
        }
        if (pending.Count > 0)
        {
            throw SandboxChanged(pending.Keys.First(), "was missing from the sandbox's archive");
        }
    }

    private async Task WriteFileAsync(LocalWrite write, Stream? content, CancellationToken cancellationToken)
    {
        var expected = write.Sandbox;
        var temporary = Temporary(write.Destination);
        long size = 0;
        try
        {
            await using (var file = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous }))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = ArrayPool<byte>.Shared.Rent(81920);
                try
                {
                    int read;
                    while (content is not null && (read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        size += read;
                        if (size > expected.Size)
                        {
                            break; // more than listed: stop before filling the disk
                        }
                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                if (size != expected.Size || !string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), expected.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw SandboxChanged(expected.Path, "changed in the sandbox since it was listed");
                }
                LocalEntries.SetMode(file.SafeFileHandle, expected.Mode);
            }
            await PlaceAsync(temporary, write, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        BytesWritten += size;
        Settle(write);
    }

    /// <summary>
    /// Renames a finished temporary file or symlink over its destination: over the entry the merge saw,
    /// checked once more, or onto a free name without ever replacing what appeared there meanwhile.
    /// </summary>
    private async Task PlaceAsync(string temporary, LocalWrite write, CancellationToken cancellationToken)
    {
        var destination = Full(write.Destination);
        try
        {
            if (write.Replaces is { } old)
            {
                await LocalEntries.VerifyUnchangedAsync(localDirectory, old, cancellationToken).ConfigureAwait(false);
                File.Move(temporary, destination, overwrite: true);
            }
            else
            {
                try
                {
                    File.Move(temporary, destination, overwrite: false);
                }
                catch (IOException) when (LocalFs.Lstat(destination) != LocalKind.None)
                {
                    throw Appeared(write.Destination);
                }
            }
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>A temporary name in the destination's directory, after checking no directory on the way is a symlink.</summary>
    private string Temporary(string destination)
    {
        LocalEntries.CheckParents(localDirectory, destination);
        var parent = SyncPath.Parent(destination);
        return Full(parent.Length == 0 ? LocalEntries.TempName() : parent + "/" + LocalEntries.TempName());
    }

    private void Settle(LocalWrite write)
    {
        // Copies of conflicted paths are local additions; only a path written in place is settled.
        if (write.Destination == write.Sandbox.Path)
        {
            settled(write.Destination, write.Sandbox);
        }
    }

    private string Full(string relative) => LocalEntries.Full(localDirectory, relative);

    /// <summary>Removes a temporary file after a failure, which stays the error to report; one left behind matches sync's built-in exclude, so it is never synced.</summary>
    private static void TryDelete(string temporary) => LocalFs.TryDelete(temporary);

    /// <summary>Tar names as tools write them: "./a/b" and "a/b/" are "a/b".</summary>
    private static string NormalizeName(string name)
    {
        var trimmed = name.TrimEnd('/');
        while (trimmed.StartsWith("./", StringComparison.Ordinal))
        {
            trimmed = trimmed[2..];
        }
        return trimmed;
    }

    private static SyncException Appeared(string path) => new(SyncErrorCodes.LocalChanged,
        $"\"{SyncPath.Escape(path)}\" appeared locally while pulling, so it was left alone. Run the pull again.");

    private static SyncException SandboxChanged(string path, string what) => new(SyncErrorCodes.SandboxChanged,
        $"\"{SyncPath.Escape(path)}\" {what}; nothing was written for it. Run the pull again.");
}
