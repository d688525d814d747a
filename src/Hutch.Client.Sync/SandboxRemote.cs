using Hutch.Protocol.Api;

namespace Hutch.Client.Sync;

/// <summary>
/// <see cref="ISyncRemote"/> over a daemon's files API: a recursive listing with hashes, tar import
/// (never made the sandbox's baseline: sync keeps its own, locally) and export, and deletes.
/// </summary>
public sealed class SandboxRemote(HutchClient client, string sandboxIdOrName) : ISyncRemote
{
    /// <inheritdoc/>
    public async Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken)
    {
        FileList list;
        try
        {
            list = await client.ListFilesAsync(sandboxIdOrName, root, recursive: true, hidden: true, limit: 1_000_000, hash: true,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.PathNotFound)
        {
            return [];
        }
        if (list.Truncated)
        {
            throw new HutchApiException(ErrorCodes.InvalidRequest, 0, $"'{root}' holds more than a million entries: sync a smaller directory.");
        }
        var prefix = list.Path.Length == 0 ? "" : list.Path + "/";
        var entries = new List<SyncEntry>(list.Entries.Count);
        foreach (var entry in list.Entries)
        {
            var type = entry.Type switch
            {
                FileTypes.File => SyncEntryType.File,
                FileTypes.Directory => SyncEntryType.Directory,
                FileTypes.Symlink => SyncEntryType.Symlink,
                _ => (SyncEntryType?)null,   // FIFOs, sockets, devices: never synced
            };
            if (type is null || !entry.Path.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            entries.Add(new SyncEntry(entry.Path[prefix.Length..], type.Value, Convert.ToInt32(entry.Mode, 8), entry.Size, entry.Sha256, entry.Target));
        }
        return entries;
    }

    /// <inheritdoc/>
    public Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken) =>
        client.ImportAsync(sandboxIdOrName, root, tar, setBaseline: false, cancellationToken);

    /// <inheritdoc/>
    public Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken) =>
        client.ExportAsync(sandboxIdOrName, root, paths, cancellationToken: cancellationToken);

    /// <inheritdoc/>
    public async Task DeleteAsync(string root, string path, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteFileAsync(sandboxIdOrName, root.Length == 0 ? path : root + "/" + path, recursive: true, cancellationToken).ConfigureAwait(false);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.PathNotFound)
        {
            // Already gone: what a delete wanted.
        }
    }
}
