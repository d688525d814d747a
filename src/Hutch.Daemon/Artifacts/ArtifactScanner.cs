using Hutch.Artifacts;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Artifacts;

/// <summary>
/// Finds the files a set's globs match that are new or changed since they were last looked at: it
/// walks only the globs' roots, lists directories by getdents (whose entry types tell files from the
/// rest without a stat), and stats only the names a glob matches. A file whose inode, size, mtime
/// and ctime are those on record is not read (ctime moves on every write and no call sets it back),
/// as a checkpoint's diff does. Symlinks are never followed and never artifacts.
/// </summary>
internal static class ArtifactScanner
{
    /// <summary>A matching regular file that differs from its record (or has none).</summary>
    public readonly record struct Changed(string Path, EntryStatus Status);

    /// <param name="workspace">The workspace's top directory, opened for reading.</param>
    /// <param name="known">The set's files by path (pending ones always count as changed).</param>
    public static List<Changed> Scan(SafeFileHandle workspace, ArtifactGlobs globs, IReadOnlyDictionary<string, ArtifactFileRecord> known, CancellationToken cancellationToken)
    {
        var changed = new List<Changed>();
        foreach (var root in globs.Roots)
        {
            SafeFileHandle dir;
            try
            {
                dir = Beneath.Open(workspace, root.Directory, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            }
            catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP })
            {
                continue;   // not there (yet), or a link: nothing to keep from it
            }
            using (dir)
            {
                Walk(dir, root.Directory, root.Recursive, globs, known, changed, depth: 0, cancellationToken);
            }
        }
        return changed;
    }

    private static void Walk(SafeFileHandle dir, string relative, bool recursive, ArtifactGlobs globs, IReadOnlyDictionary<string, ArtifactFileRecord> known,
        List<Changed> changed, int depth, CancellationToken cancellationToken)
    {
        if (depth > 256)
        {
            return;
        }
        foreach (var entry in At.ReadDirectory(dir))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
            if (entry.Kind == EntryKind.Directory && recursive)
            {
                SafeFileHandle child;
                try
                {
                    child = Beneath.Open(dir, entry.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                }
                catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EACCES })
                {
                    continue;   // swapped or removed while walked
                }
                using (child)
                {
                    Walk(child, path, recursive, globs, known, changed, depth + 1, cancellationToken);
                }
            }
            else if (entry.Kind == EntryKind.File && globs.IsMatch(path) && At.TryStat(dir, entry.Name) is { Kind: EntryKind.File } status
                && (!known.TryGetValue(path, out var record) || record.State != ArtifactStates.Stored || record.Inode != status.Inode
                    || record.Size != status.Size || record.MtimeNs != status.MtimeNs || record.CtimeNs != status.CtimeNs))
            {
                changed.Add(new Changed(path, status));
            }
        }
    }
}
