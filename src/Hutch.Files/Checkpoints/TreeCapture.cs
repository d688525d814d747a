using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Copies the workspace into a checkpoint's tree, through directory fds only, and records what each
/// entry was. Files are reflinked where the file system can (XFS, btrfs: the copy costs metadata,
/// not data, until one side is written) and copied otherwise. Directories and symlinks are
/// recreated, symlinks as links (never followed). FIFOs, sockets and devices are left out.
/// </summary>
/// <remarks>
/// Not atomic: a process writing while the capture runs may leave a file half-written in the
/// checkpoint, or two files from different moments. The recorded ctime lets a later diff notice a
/// file that changed after it was captured.
/// </remarks>
internal sealed class TreeCapture(CancellationToken cancellationToken)
{
    private const int OwnerOnly = 0x1c0;   // 0700 while filling; the real mode is set when done
    private const int MaxAttempts = 3;
    private readonly List<ManifestEntry> _entries = [];

    public int Reflinked { get; private set; }
    public int Copied { get; private set; }

    /// <summary>Copies the contents of <paramref name="source"/> into the empty <paramref name="target"/>; both opened for reading.</summary>
    public List<ManifestEntry> Run(SafeFileHandle source, SafeFileHandle target)
    {
        var root = At.Stat(source, "");
        _entries.Add(Entry("", root));
        CopyContents(source, target, "");
        SetAttributes(target, root);
        _entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return _entries;
    }

    private void CopyContents(SafeFileHandle source, SafeFileHandle target, string relative)
    {
        TreeDepth.Check(relative);
        List<DirectoryEntry> entries;
        try
        {
            entries = At.ReadDirectory(source);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return;   // removed (or renamed over) since it was opened: captured as it was, empty
        }
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = WorkspacePath.Join(relative, entry.Name);
            try
            {
                CopyEntry(source, target, entry.Name, path, entry.Kind);
            }
            catch (Exception e) when (e is LinuxException or ContainmentException or IOException)
            {
                throw Errors.From(e, path);
            }
        }
    }

    private void CopyEntry(SafeFileHandle source, SafeFileHandle target, string name, string path, EntryKind kind)
    {
        // getdents said what the entry was; by the time it is opened a sandbox process may have
        // swapped it (a directory for a symlink). Whatever it is at open time is captured as that.
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var done = kind switch
            {
                EntryKind.Directory => TryCopyDirectory(source, target, name, path),
                EntryKind.File => TryCopyFile(source, target, name, path),
                EntryKind.Symlink => TryCopySymlink(source, target, name, path),
                _ => true,
            };
            if (done)
            {
                return;
            }
            if (At.TryStat(source, name) is not { } now)
            {
                return;   // deleted meanwhile: not part of the checkpoint
            }
            kind = now.Kind;
        }
        // Still changing kind after a few looks: a process is racing the capture on this name. The
        // checkpoint of a workspace being written is not atomic anyway; this entry is left out.
    }

    private bool TryCopyDirectory(SafeFileHandle source, SafeFileHandle target, string name, string path)
    {
        using var child = NoFollow.Directory(source, name);
        if (child is null)
        {
            return false;
        }
        var status = At.Stat(child, "");
        At.MakeDirectory(target, name, OwnerOnly);
        using var copy = Beneath.Open(target, name, NoFollow.DirectoryFlags, noSymlinks: true);
        _entries.Add(Entry(path, status));
        CopyContents(child, copy, path);
        SetAttributes(copy, status);
        return true;
    }

    private bool TryCopyFile(SafeFileHandle source, SafeFileHandle target, string name, string path)
    {
        if (NoFollow.File(source, name) is not { } opened)
        {
            return false;
        }
        var (file, status) = opened;
        using (file)
        {
            using var copy = Beneath.Open(target, name, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true);
            if (FileClone.Copy(file, copy))
            {
                Reflinked++;
            }
            else
            {
                Copied++;
            }
            // The copy's own size: the file may have grown while it was copied (its ctime then
            // moved past the recorded one, and a diff compares it).
            var size = At.Stat(copy, "").Size;
            SetAttributes(copy, status);
            _entries.Add(Entry(path, status) with { Size = size });
        }
        return true;
    }

    private bool TryCopySymlink(SafeFileHandle source, SafeFileHandle target, string name, string path)
    {
        if (NoFollow.Symlink(source, name) is not { } found)
        {
            return false;
        }
        var (status, link) = found;
        At.Symlink(link, target, name);
        At.Chown(target, name, (int)status.Uid, (int)status.Gid);
        At.SetTimes(target, name, status.MtimeNs);
        _entries.Add(Entry(path, status) with { Target = link });
        return true;
    }

    /// <summary>
    /// Owner, mode and mtime of the copy (an fd opened for reading or writing). Files lose
    /// setuid/setgid in the tree: only the manifest keeps them, for a reset to restore.
    /// </summary>
    private static void SetAttributes(SafeFileHandle copy, EntryStatus status)
    {
        At.Chown(copy, "", (int)status.Uid, (int)status.Gid);
        At.Chmod(copy, status.Kind == EntryKind.File ? status.Permissions & 0x1ff : status.Permissions);
        At.SetTimes(copy, "", status.MtimeNs);
    }

    private static ManifestEntry Entry(string path, EntryStatus status) => new(
        path, status.Kind, status.Permissions, status.Uid, status.Gid, status.Kind == EntryKind.Directory ? 0 : status.Size,
        status.MtimeNs, status.Inode, status.CtimeNs);
}
