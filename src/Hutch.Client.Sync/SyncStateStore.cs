using System.Text.Json;
using Hutch.Client.Local;

namespace Hutch.Client.Sync;

/// <summary>
/// Reads and writes <c>.hutch/sync/&lt;sandbox&gt;.json</c> in the local directory. Written atomically
/// (a temporary file beside it, then a rename), so an interrupted sync leaves the old state or the new
/// one, never half of one.
/// </summary>
internal static class SyncStateStore
{
    /// <summary>The state folder, relative to the synced directory.</summary>
    public const string Folder = ".hutch/sync";

    /// <summary>
    /// The exclude pattern that keeps the state out of every sync: all of <c>.hutch/</c>, Hutch's local
    /// folder (as <c>.git/</c> is git's), not only <c>.hutch/sync/</c>. Syncing the parent would put an
    /// empty <c>.hutch/</c> in every sandbox, and let a sandbox replace the folder the state lives in.
    /// </summary>
    public const string ExcludePattern = "/.hutch/";

    public static string RelativePath(string sandboxId) => $"{Folder}/{sandboxId}.json";

    /// <summary>A sandbox id names a file, so it must be a plain name: letters, digits, '.', '_', '-', not starting with '.'.</summary>
    public static void ValidateSandboxId(string sandboxId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sandboxId);
        if (sandboxId[0] == '.' || sandboxId.Length > 128 || !sandboxId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new ArgumentException($"\"{SyncPath.Escape(sandboxId)}\" cannot name a sync state file: use the sandbox's id (letters, digits, '.', '_', '-').", nameof(sandboxId));
        }
    }

    /// <summary>Creates <c>.hutch/sync</c> as real directories, refusing to use a symlink or file in their place.</summary>
    public static void EnsureFolder(string localDirectory)
    {
        foreach (var relative in new[] { ".hutch", Folder })
        {
            var full = LocalEntries.Full(localDirectory, relative);
            switch (LocalFs.Lstat(full))
            {
                case LocalKind.None:
                    Directory.CreateDirectory(full);
                    break;
                case LocalKind.Directory:
                    break;
                default:
                    throw new SyncException(SyncErrorCodes.UnsafeLocalPath,
                        $"\"{relative}\" in {localDirectory} is not a directory. Sync keeps its state in {Folder}/: move that entry away.");
            }
        }
    }

    /// <summary>The state of the last sync of <paramref name="root"/>; an empty one when there was none (or it was of another root).</summary>
    public static async Task<SyncState> LoadAsync(string localDirectory, string sandboxId, string root, CancellationToken cancellationToken)
    {
        var relative = RelativePath(sandboxId);
        LocalEntries.CheckParents(localDirectory, relative);
        var full = LocalEntries.Full(localDirectory, relative);
        if (LocalFs.Lstat(full) == LocalKind.None)
        {
            return SyncState.Empty(root);
        }

        SyncState? state;
        try
        {
            await using var stream = LocalFs.OpenRead(full);
            state = await JsonSerializer.DeserializeAsync(stream, SyncJsonContext.Default.SyncState, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw Invalid(relative, "it is not valid JSON", e);
        }
        if (state is null || state.Version != SyncState.CurrentVersion)
        {
            throw Invalid(relative, $"it is not version {SyncState.CurrentVersion} of the format");
        }
        if (state.Entries.Concat(state.Conflicts.SelectMany(c => c.Sandbox)).Any(e => !SyncPath.IsValid(e.Path))
            || state.Conflicts.Any(c => !SyncPath.IsValid(c.Path) || (c.SandboxCopy is { } copy && !SyncPath.IsValid(copy))))
        {
            throw Invalid(relative, "it holds a path that is not a plain relative path");
        }
        return state.Root == root ? state : SyncState.Empty(root);
    }

    public static async Task SaveAsync(string localDirectory, string sandboxId, SyncState state, CancellationToken cancellationToken)
    {
        var relative = RelativePath(sandboxId);
        EnsureFolder(localDirectory);
        var full = LocalEntries.Full(localDirectory, relative);
        var temporary = LocalEntries.Full(localDirectory, Folder + "/" + LocalEntries.TempName());
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await JsonSerializer.SerializeAsync(stream, state, SyncJsonContext.Default.SyncState, cancellationToken).ConfigureAwait(false);
                // Durable before the rename: after a crash the state is the old one or the new one, not an empty file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
            throw;
        }
    }

    private static SyncException Invalid(string relative, string why, Exception? inner = null) => new(SyncErrorCodes.InvalidState,
        $"The sync state {relative} cannot be used: {why}. Delete it to start over; the next pull then reports every difference between the two sides as a conflict.", inner);
}
