using System.Collections.Concurrent;
using Hutch.Artifacts;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Artifacts;

/// <summary>
/// Finds the files a set's globs match that are new or changed since they were last looked at: it
/// walks only the globs' roots and stats only the names a glob can match. A file whose inode, size,
/// mtime and ctime are those on record is not read (ctime moves on every write and no call sets it
/// back), as a checkpoint's diff does. A directory whose inode, mtime and ctime are what they were keeps its
/// listing from the last walk (an entry made, removed or renamed in it moves both), so a walk of
/// a large tree that did not change costs a stat per directory and per matching file, no getdents.
/// Symlinks are never followed and never artifacts.
/// </summary>
/// <remarks>
/// One scanner per set, used by one detection at a time (the service's gate). A listing is kept only
/// when its directory's ctime is older than the walk by more than a clock tick: two changes within
/// one tick leave the ctime where the first put it (git's "racy clean" case).
/// </remarks>
internal sealed class ArtifactScanner
{
    private static readonly long RacyMarginNs = 50_000_000;

    /// <summary>A directory's names as the last walk saw them: the files a glob can match, and the subdirectories.</summary>
    private sealed record Listing(ulong Inode, long MtimeNs, long CtimeNs, string[] Files, string[] Directories);

    private readonly ConcurrentDictionary<string, Listing> _listings = new(StringComparer.Ordinal);

    /// <summary>A matching regular file that differs from its record (or has none).</summary>
    public readonly record struct Changed(string Path, EntryStatus Status);

    /// <param name="workspace">The workspace's top directory, opened for reading.</param>
    /// <param name="known">The set's files by path (pending ones always count as changed).</param>
    public List<Changed> Scan(SafeFileHandle workspace, ArtifactGlobs globs, IReadOnlyDictionary<string, ArtifactFileRecord> known, CancellationToken cancellationToken)
    {
        var changed = new List<Changed>();
        var trustBefore = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 - RacyMarginNs;
        foreach (var root in globs.Roots)
        {
            if (Open(workspace, root.Directory) is not { } dir)
            {
                continue;   // not there (yet), or a link: nothing to keep from it
            }
            using (dir)
            {
                Walk(dir, root.Directory, root.Recursive, globs, known, changed, trustBefore, depth: 0, cancellationToken);
            }
        }
        return changed;
    }

    private void Walk(SafeFileHandle dir, string relative, bool recursive, ArtifactGlobs globs, IReadOnlyDictionary<string, ArtifactFileRecord> known,
        List<Changed> changed, long trustBefore, int depth, CancellationToken cancellationToken)
    {
        if (depth > 256)
        {
            return;
        }
        var listing = ListingOf(dir, relative, globs, trustBefore);
        foreach (var name in listing.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? name : relative + "/" + name;
            if (globs.IsMatch(path) && At.TryStat(dir, name) is { Kind: EntryKind.File } status
                && (!known.TryGetValue(path, out var record) || record.State != ArtifactStates.Stored || record.Inode != status.Inode
                    || record.Size != status.Size || record.MtimeNs != status.MtimeNs || record.CtimeNs != status.CtimeNs))
            {
                changed.Add(new Changed(path, status));
            }
        }
        if (!recursive)
        {
            return;
        }
        foreach (var name in listing.Directories)
        {
            if (Open(dir, name) is { } child)
            {
                using (child)
                {
                    Walk(child, relative.Length == 0 ? name : relative + "/" + name, recursive, globs, known, changed, trustBefore, depth + 1, cancellationToken);
                }
            }
        }
    }

    private Listing ListingOf(SafeFileHandle dir, string relative, ArtifactGlobs globs, long trustBefore)
    {
        // The ctime too: the sandbox can put a directory's mtime back (utimensat, as tar, cp -p and
        // rsync -a do after filling one), which would hide a new name behind a kept listing for good;
        // its ctime moves on every change, that one included, and no call sets it back.
        var status = At.Stat(dir, "");
        if (_listings.TryGetValue(relative, out var cached) && cached.Inode == status.Inode && cached.MtimeNs == status.MtimeNs && cached.CtimeNs == status.CtimeNs)
        {
            return cached;
        }
        List<DirectoryEntry> entries;
        try
        {
            entries = At.ReadDirectory(dir);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            // Removed since it was opened (getdents on a deleted directory): nothing in it to keep.
            _listings.TryRemove(relative, out _);
            return new Listing(status.Inode, status.MtimeNs, status.CtimeNs, [], []);
        }
        var listing = new Listing(status.Inode, status.MtimeNs, status.CtimeNs,
            [.. entries.Where(e => e.Kind == EntryKind.File && globs.NameMayMatch(e.Name)).Select(e => e.Name)],
            [.. entries.Where(e => e.Kind == EntryKind.Directory).Select(e => e.Name)]);
        if (status.CtimeNs < trustBefore)
        {
            _listings[relative] = listing;
        }
        else
        {
            _listings.TryRemove(relative, out _);
        }
        return listing;
    }

    private static SafeFileHandle? Open(SafeFileHandle parent, string relative)
    {
        try
        {
            return Beneath.Open(parent, relative, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EACCES })
        {
            return null;   // swapped or removed while walked
        }
    }
}
