using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

// Listing: directory fds all the way down (getdents64 + statx on names), never a path walk, so a
// directory swapped for a symlink mid-listing is listed as the symlink it now is.
public sealed partial class Workspace
{
    /// <summary>Lists a directory (or describes a single file) in ordinal path order.</summary>
    /// <param name="hidden">Include names starting with "." (and descend into such directories).</param>
    /// <param name="limit">Stop after this many entries and say so with <see cref="FileList.Truncated"/>.</param>
    /// <param name="hash">Add each regular file's sha256 (reads every file: for sync, not for browsing).</param>
    public FileList List(string path, bool recursive, bool hidden, int limit, bool hash = false)
    {
        var relative = WorkspacePath.Relative(path);
        var top = Stat(path);
        if (top.Type != FileTypes.Directory && !(top.Type == FileTypes.Symlink && IsDirectoryBehindLink(relative, path)))
        {
            return new FileList(relative, [top]);
        }
        var entries = new List<FileEntry>();
        using var dir = OpenDirectory(relative, path);
        var truncated = !Walk(dir, relative, new Walking(recursive, hidden, limit, hash), entries);
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new FileList(relative, entries, truncated);
    }

    /// <summary>sha256 of a regular file named in <paramref name="dir"/>, opened without following a link; null if it changed kind meanwhile.</summary>
    private static string? HashNoFollow(SafeFileHandle dir, string name)
    {
        try
        {
            using var handle = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_NONBLOCK | Beneath.O_NOFOLLOW, noSymlinks: true);
            if (At.Stat(handle, "").Kind != EntryKind.File)
            {
                return null;
            }
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            return null;
        }
    }

    private bool IsDirectoryBehindLink(string relative, string shown)
    {
        try
        {
            using var dir = OpenDirectory(relative, shown);
            return true;
        }
        catch (WorkspaceException e) when (e.Code is ErrorCodes.NotADirectory)
        {
            return false;
        }
    }

    private sealed record Walking(bool Recursive, bool Hidden, int Limit, bool Hash);

    /// <summary>Adds entries of <paramref name="dir"/>; false when the limit was reached.</summary>
    private bool Walk(SafeFileHandle dir, string relative, Walking how, List<FileEntry> entries)
    {
        foreach (var entry in Guard(relative, () => At.ReadDirectory(dir)))
        {
            if (!how.Hidden && entry.Name.StartsWith('.'))
            {
                continue;
            }
            if (entries.Count >= how.Limit)
            {
                return false;
            }
            var path = WorkspacePath.Join(relative, entry.Name);
            var status = At.TryStat(dir, entry.Name);
            if (status is null)
            {
                continue;   // deleted by the sandbox since getdents
            }
            FileEntry described;
            try
            {
                described = Describe(dir, entry.Name, path, status.Value);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.EINVAL)
            {
                continue;   // removed (or replaced by a non-link) between the stat and the readlink
            }
            if (how.Hash && status.Value.Kind == EntryKind.File)
            {
                described = described with { Sha256 = HashNoFollow(dir, entry.Name) };
            }
            entries.Add(described);
            if (how.Recursive && status.Value.Kind == EntryKind.Directory)
            {
                if (TreeDepth.TooDeep(path))
                {
                    return false;   // listed as truncated rather than walked into without end
                }
                SafeFileHandle child;
                try
                {
                    child = Beneath.Open(dir, entry.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
                }
                catch (Exception e) when (e is LinuxException or ContainmentException)
                {
                    continue;   // replaced by a symlink or removed since the stat: list what is there
                }
                using (child)
                {
                    if (!Walk(child, path, how, entries))
                    {
                        return false;
                    }
                }
            }
        }
        return true;
    }
}
