using System.Security.Cryptography;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// Deletes directory trees through directory fds, never by path and never following a symlink, with
/// no limit on depth: a sandbox can build a tree 100,000 levels deep, which .NET's Directory.Delete
/// fails on (paths past PATH_MAX) and a recursive walk would overflow the stack on. Open fds are
/// bounded too: past <see cref="MaxDepth"/> levels a subtree is moved up to the top directory (a
/// rename on the same file system) and deleted from there.
/// </summary>
public static class TreeRemover
{
    public const int MaxDepth = 64;
    private const int MaxPasses = 100;

    /// <summary>Deletes the directory at <paramref name="path"/> and everything in it; a missing one is fine.</summary>
    public static void Delete(string path)
    {
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full) ?? "/";
        var name = Path.GetFileName(full);
        SafeFileHandle parentDir;
        try
        {
            parentDir = Beneath.OpenRoot(parent);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return;
        }
        using (parentDir)
        {
            SafeFileHandle dir;
            try
            {
                dir = Beneath.Open(parentDir, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                return;
            }
            using (dir)
            {
                DeleteContents(dir);
            }
            At.Unlink(parentDir, name, directory: true);
        }
    }

    /// <summary>Empties the open directory <paramref name="top"/> (opened for reading); entries that vanish meanwhile are fine.</summary>
    public static void DeleteContents(SafeFileHandle top)
    {
        // Each frame: a directory, its entries as last read, where we are in them, and how often it was read.
        var stack = new Stack<Frame>();
        var root = new Frame(top, owned: false);
        stack.Push(root);
        try
        {
            while (stack.Count > 0)
            {
                var frame = stack.Peek();
                if (frame.Next >= frame.Entries.Count)
                {
                    // Done with what was read; read again, as entries may have been added meanwhile.
                    if (!frame.Reread())
                    {
                        stack.Pop().Dispose();
                    }
                    continue;
                }
                var entry = frame.Entries[frame.Next];
                if (entry.Kind != EntryKind.Directory)
                {
                    Ignoring(Errno.ENOENT, () => At.Unlink(frame.Dir, entry.Name));
                    frame.Next++;
                    continue;
                }
                if (TryRemoveEmpty(frame.Dir, entry.Name))
                {
                    frame.Next++;
                    continue;
                }
                if (stack.Count >= MaxDepth)
                {
                    // Too deep to hold another fd: move the subtree up to the top, where it is met again.
                    At.Rename(frame.Dir, entry.Name, top, $".hutch-deep-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
                    root.MovedIn = true;
                    frame.Next++;
                    continue;
                }
                SafeFileHandle child;
                try
                {
                    child = Beneath.Open(frame.Dir, entry.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                }
                catch (Exception e) when (e is LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR } or ContainmentException)
                {
                    continue;   // replaced meanwhile: the next look at this name unlinks what it now is
                }
                // When the child is done, this frame comes back to the same name and removes it (now empty).
                stack.Push(new Frame(child, owned: true));
            }
        }
        finally
        {
            while (stack.Count > 0)
            {
                stack.Pop().Dispose();
            }
        }
    }

    private static bool TryRemoveEmpty(SafeFileHandle dir, string name)
    {
        try
        {
            At.Unlink(dir, name, directory: true);
            return true;
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return true;
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOTEMPTY or Errno.EEXIST)
        {
            return false;
        }
    }

    private static void Ignoring(int errno, Action action)
    {
        try
        {
            action();
        }
        catch (LinuxException e) when (e.Errno == errno)
        {
        }
    }

    private sealed class Frame(SafeFileHandle dir, bool owned) : IDisposable
    {
        private int _reads = 1;

        public SafeFileHandle Dir { get; } = dir;
        public List<DirectoryEntry> Entries { get; private set; } = At.ReadDirectory(dir);
        public int Next { get; set; }

        /// <summary>
        /// Subtrees too deep to follow were moved into this (the top) directory since it was last read:
        /// entries we added ourselves, which do not count as someone else's (a 20,000-deep tree moves 300).
        /// </summary>
        public bool MovedIn { get; set; }

        /// <summary>Reads the directory again; false when it is empty. Bounded, so a sandbox adding entries forever cannot hold us.</summary>
        public bool Reread()
        {
            Entries = At.ReadDirectory(Dir);
            Next = 0;
            var ours = MovedIn;
            MovedIn = false;
            if (Entries.Count > 0 && !ours && ++_reads > MaxPasses)
            {
                throw new IOException("a directory kept getting new entries while it was being deleted");
            }
            return Entries.Count > 0;
        }

        public void Dispose()
        {
            if (owned)
            {
                Dir.Dispose();
            }
        }
    }
}
