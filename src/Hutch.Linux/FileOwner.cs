using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>Ownership changes (lchown(2), fchownat(2): never follows a symlink).</summary>
public static class FileOwner
{
    /// <summary>Most directory levels <see cref="GiveBack"/> descends (one fd each); deeper entries keep their owner.</summary>
    public const int MaxDepth = 128;

    public static void Change(string path, int uid, int gid) =>
        LinuxException.ThrowIfFailed(Libc.LChown(path, uid, gid), "lchown", path);

    /// <summary>The real uid and gid of this process.</summary>
    public static (int Uid, int Gid) Current => ((int)Libc.GetUid(), (int)Libc.GetGid());

    /// <summary>
    /// Gives <paramref name="directory"/> and every entry under it whose uid (or gid) lies in
    /// [<paramref name="rangeStart"/>, <paramref name="rangeStart"/> + <paramref name="rangeSize"/>)
    /// to <paramref name="uid"/> (<paramref name="gid"/>); other owners are left alone. It walks by
    /// directory fds, never by path and never through a symlink (a symlink itself is changed), so a
    /// tree built by someone else cannot send it elsewhere. Returns how many entries were changed.
    /// </summary>
    public static int GiveBack(string directory, int rangeStart, int rangeSize, int uid, int gid)
    {
        bool InRange(uint id) => id >= (uint)rangeStart && id < (uint)rangeStart + (uint)rangeSize;
        var changed = 0;
        void Give(SafeFileHandle dir, string name)
        {
            if (At.TryStat(dir, name) is not { } status || (!InRange(status.Uid) && !InRange(status.Gid) && name.Length > 0))
            {
                return;
            }
            // -1 leaves an id as it is: a group the caller's file already had stays.
            At.Chown(dir, name, name.Length == 0 || InRange(status.Uid) ? uid : -1, name.Length == 0 || InRange(status.Gid) ? gid : -1);
            changed++;
        }

        var full = Path.GetFullPath(directory);
        using var parent = Beneath.OpenRoot(Path.GetDirectoryName(full) ?? "/");
        using var top = Beneath.Open(parent, Path.GetFileName(full), Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        Give(top, "");
        var stack = new Stack<(SafeFileHandle Dir, List<DirectoryEntry> Entries, int Next)>();
        stack.Push((top, At.ReadDirectory(top), 0));
        try
        {
            while (stack.Count > 0)
            {
                var (dir, entries, next) = stack.Pop();
                if (next >= entries.Count)
                {
                    if (stack.Count > 0)
                    {
                        dir.Dispose(); // the top is disposed by its using
                    }
                    continue;
                }
                stack.Push((dir, entries, next + 1));
                var entry = entries[next];
                Give(dir, entry.Name);
                if (entry.Kind == EntryKind.Directory && stack.Count < MaxDepth)
                {
                    SafeFileHandle child;
                    try
                    {
                        child = Beneath.Open(dir, entry.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                    }
                    catch (Exception e) when (e is LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR or Errno.EACCES } or ContainmentException)
                    {
                        continue;
                    }
                    stack.Push((child, At.ReadDirectory(child), 0));
                }
            }
        }
        finally
        {
            while (stack.Count > 1)
            {
                stack.Pop().Dir.Dispose();
            }
        }
        return changed;
    }
}
