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
    public FileList List(string path, bool recursive, bool hidden, int limit)
    {
        var relative = WorkspacePath.Relative(path);
        var top = Stat(path);
        if (top.Type != FileTypes.Directory && !(top.Type == FileTypes.Symlink && IsDirectoryBehindLink(relative, path)))
        {
            return new FileList(relative, [top]);
        }
        var entries = new List<FileEntry>();
        using var dir = OpenDirectory(relative, path);
        var truncated = !Walk(dir, relative, recursive, hidden, limit, entries);
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new FileList(relative, entries, truncated);
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

    /// <summary>Adds entries of <paramref name="dir"/>; false when the limit was reached.</summary>
    private bool Walk(SafeFileHandle dir, string relative, bool recursive, bool hidden, int limit, List<FileEntry> entries)
    {
        foreach (var entry in Guard(relative, () => At.ReadDirectory(dir)))
        {
            if (!hidden && entry.Name.StartsWith('.'))
            {
                continue;
            }
            if (entries.Count >= limit)
            {
                return false;
            }
            var path = WorkspacePath.Join(relative, entry.Name);
            var status = At.TryStat(dir, entry.Name);
            if (status is null)
            {
                continue;   // deleted by the sandbox since getdents
            }
            entries.Add(Describe(dir, entry.Name, path, status.Value));
            if (recursive && status.Value.Kind == EntryKind.Directory)
            {
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
                    if (!Walk(child, path, recursive, hidden, limit, entries))
                    {
                        return false;
                    }
                }
            }
        }
        return true;
    }
}
