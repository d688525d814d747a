using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

// Changing the tree: mkdir, delete, move. Every change is made through the parent directory's fd,
// opened without following any symlink.
public sealed partial class Workspace
{
    /// <summary>Creates a directory; with <paramref name="parents"/>, missing parents too and an existing directory is fine.</summary>
    public FileEntry MakeDirectory(string path, bool parents)
    {
        var relative = WorkspacePath.Relative(path);
        if (parents)
        {
            using var made = MakeDirectories(relative, path);
            return Stat(relative);
        }
        var (dir, name) = OpenParentForChange(relative, path, createParents: false);
        using (dir)
        {
            Guard(path, () =>
            {
                At.MakeDirectory(dir, name, DirectoryMode);
                At.Chown(dir, name, OwnerUid, OwnerGid);
            });
            return Guard(path, () => Describe(dir, name, relative, At.Stat(dir, name)));
        }
    }

    /// <summary>Deletes a file, symlink (never its target) or, with <paramref name="recursive"/>, a whole directory.</summary>
    public void Delete(string path, bool recursive)
    {
        var relative = WorkspacePath.Relative(path);
        var (dir, name) = OpenParentForChange(relative, path, createParents: false);
        using (dir)
        {
            var status = Guard(path, () => At.Stat(dir, name));
            if (status.Kind != EntryKind.Directory)
            {
                Guard(path, () => At.Unlink(dir, name));
                return;
            }
            if (recursive)
            {
                using var child = Guard(path, () => Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true));
                Guard(path, () => DeleteContents(child));
            }
            Guard(path, () => At.Unlink(dir, name, directory: true));
        }
    }

    /// <summary>Empties a directory through fds only, at any depth; entries that vanish meanwhile are fine.</summary>
    internal static void DeleteContents(SafeFileHandle dir) => TreeRemover.DeleteContents(dir);

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> atomically (a directory moves whole).</summary>
    public FileEntry Move(string from, string to, bool overwrite, bool createParents)
    {
        var source = WorkspacePath.Relative(from);
        var target = WorkspacePath.Relative(to);
        if (target == source)
        {
            return Stat(target);
        }
        if (target.StartsWith(source + "/", StringComparison.Ordinal) || source.Length == 0)
        {
            throw new WorkspaceException(ErrorCodes.InvalidPath, $"'{from}' cannot be moved into itself ('{to}').");
        }
        var (fromDir, fromName) = OpenParentForChange(source, from, createParents: false);
        using (fromDir)
        {
            Guard(from, () => At.Stat(fromDir, fromName));
            var (toDir, toName) = OpenParentForChange(target, to, createParents);
            using (toDir)
            {
                Guard(to, () => At.Rename(fromDir, fromName, toDir, toName, noReplace: !overwrite));
                return Guard(to, () => Describe(toDir, toName, target, At.Stat(toDir, toName)));
            }
        }
    }
}
