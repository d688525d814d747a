namespace Hutch.Client.Sync;

/// <summary>A local directory as entries, plus what was left out.</summary>
/// <param name="Entries">Every synced entry, in tree order.</param>
/// <param name="Excluded">
/// Excluded paths that exist (a directory stands for everything under it): sync never touches them, so
/// a directory holding one is never removed, and a conflict copy never takes its name.
/// </param>
internal sealed record LocalScan(IReadOnlyList<SyncEntry> Entries, IReadOnlyList<string> Excluded);

/// <summary>Reads a local directory into the <see cref="SyncEntry"/> shape the sandbox side lists.</summary>
internal static class LocalScanner
{
    private static readonly EnumerationOptions OneLevel = new()
    {
        // The defaults skip hidden and system entries, which on Unix means every dot file.
        AttributesToSkip = 0,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
        // An unreadable directory is an error, not an empty one: push would delete its sandbox twin.
        IgnoreInaccessible = false,
        MatchType = MatchType.Simple,
    };

    /// <summary>
    /// Walks <paramref name="root"/> without following symlinks (a symlink is an entry with its target),
    /// hashing regular files and skipping whatever <paramref name="excludes"/> matches.
    /// </summary>
    public static async Task<LocalScan> ScanAsync(string root, PathMatcher excludes, CancellationToken cancellationToken)
    {
        var entries = new List<SyncEntry>();
        var excluded = new List<string>();
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.TryPop(out var directory))
        {
            foreach (var info in new DirectoryInfo(LocalEntries.Full(root, directory)).EnumerateFileSystemInfos("*", OneLevel))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var path = directory.Length == 0 ? info.Name : directory + "/" + info.Name;
                var isLink = info.LinkTarget is not null;
                var isDirectory = !isLink && info is DirectoryInfo;
                if (excludes.IsMatch(path, isDirectory))
                {
                    excluded.Add(path);
                    continue;
                }
                if (isLink)
                {
                    entries.Add(new SyncEntry(path, SyncEntryType.Symlink, SyncEntry.PermissionMask, 0, null, info.LinkTarget));
                }
                else if (isDirectory)
                {
                    entries.Add(new SyncEntry(path, SyncEntryType.Directory, LocalEntries.ModeOf(info), 0, null, null));
                    pending.Push(path);
                }
                else
                {
                    var size = ((FileInfo)info).Length;
                    var sha = await LocalEntries.HashAsync(info.FullName, size, cancellationToken).ConfigureAwait(false);
                    entries.Add(new SyncEntry(path, SyncEntryType.File, LocalEntries.ModeOf(info), size, sha, null));
                }
            }
        }
        entries.Sort((a, b) => SyncPath.Comparer.Compare(a.Path, b.Path));
        excluded.Sort(SyncPath.Comparer);
        return new LocalScan(entries, excluded);
    }
}
