namespace Hutch.Client.Sync;

/// <summary>
/// <c>hutch sync push|pull</c>: keeps a local directory and a sandbox workspace directory in step.
/// Push makes the sandbox equal to the local directory; pull merges the sandbox's changes into it against
/// the baseline the last sync recorded, so that nothing local is ever lost silently. One instance per
/// sandbox; not safe for two syncs of the same local directory at once.
/// </summary>
/// <remarks>
/// The baseline lives in <c>.hutch/sync/&lt;sandbox&gt;.json</c> in the local directory. Every local
/// replacement or deletion is checked against what the merge saw right before it happens, every write
/// is atomic (a temporary file beside it, then a rename), and nothing is written beneath a local symlink.
/// </remarks>
public sealed partial class SyncClient
{
    private readonly ISyncRemote _remote;

    /// <summary>Creates a client that syncs with one sandbox.</summary>
    /// <param name="remote">The sandbox side, usually over the daemon's HTTP API.</param>
    /// <param name="sandboxId">The sandbox's id; it names the state file, so use the id (stable) rather than a name.</param>
    public SyncClient(ISyncRemote remote, string sandboxId)
    {
        ArgumentNullException.ThrowIfNull(remote);
        SyncStateStore.ValidateSandboxId(sandboxId);
        _remote = remote;
        SandboxId = sandboxId;
    }

    /// <summary>The sandbox this client syncs with.</summary>
    public string SandboxId { get; }

    /// <summary>Where the baseline of <paramref name="localDirectory"/> with this sandbox is kept.</summary>
    public string StatePath(string localDirectory) =>
        LocalEntries.Full(Path.GetFullPath(localDirectory), SyncStateStore.RelativePath(SandboxId));

    /// <summary>The user's excludes, then sync's own (last, so that no "!" pattern can re-include them).</summary>
    private static PathMatcher Excludes(SyncOptions options) =>
        new(options.Excludes.Append(SyncStateStore.ExcludePattern).Append(LocalEntries.TempPattern));

    private static string LocalRoot(string localDirectory, bool create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(localDirectory);
        var full = Path.GetFullPath(localDirectory);
        if (create)
        {
            Directory.CreateDirectory(full);
        }
        else if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"{full} does not exist: push sends an existing directory.");
        }
        return full;
    }

    /// <summary>
    /// The sandbox's entries under <paramref name="root"/>, checked: a path the sandbox chose must be
    /// plain and relative, listed once, under a listed directory, and a file must carry its hash.
    /// </summary>
    private async Task<List<SyncEntry>> ListSandboxAsync(string root, CancellationToken cancellationToken)
    {
        var listed = await _remote.ListAsync(root, cancellationToken).ConfigureAwait(false);
        var byPath = new Dictionary<string, SyncEntry>(StringComparer.Ordinal);
        foreach (var entry in listed)
        {
            if (entry.Path is "" or ".")
            {
                continue;
            }
            SyncPath.Validate(entry.Path);
            var problem = entry.Type switch
            {
                SyncEntryType.File when entry.Sha256 is not { Length: 64 } sha || !sha.All(char.IsAsciiHexDigit) => "a file without a SHA-256",
                SyncEntryType.File when entry.Size < 0 => "a negative size",
                SyncEntryType.Symlink when string.IsNullOrEmpty(entry.LinkTarget) || entry.LinkTarget.Contains('\0') => "a symlink without a usable target",
                SyncEntryType.File or SyncEntryType.Directory or SyncEntryType.Symlink => null,
                _ => "an unknown entry type",
            } ?? (byPath.TryAdd(entry.Path, entry) ? null : "it twice");
            if (problem is not null)
            {
                throw new SyncException(SyncErrorCodes.InvalidPath, $"The sandbox listing has {problem} at \"{SyncPath.Escape(entry.Path)}\".");
            }
        }
        foreach (var entry in byPath.Values)
        {
            var parent = SyncPath.Parent(entry.Path);
            if (parent.Length > 0 && !(byPath.TryGetValue(parent, out var above) && above.Type == SyncEntryType.Directory))
            {
                throw new SyncException(SyncErrorCodes.InvalidPath, $"The sandbox listing has \"{SyncPath.Escape(entry.Path)}\" but not its directory \"{SyncPath.Escape(parent)}\".");
            }
        }
        return byPath.Values.OrderBy(e => e.Path, SyncPath.Comparer).ToList();
    }
}
