using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Compares the workspace with a checkpoint and, for a reset, makes it equal to it, in place (the
/// workspace directory is bind-mounted into the running sandbox, so only its contents can change).
/// One walk does both, so a reset undoes exactly what a diff reports.
/// </summary>
/// <remarks>
/// Every step works on one name in a directory pinned by fd, opened without following any symlink:
/// a sandbox process that swaps a directory for a symlink mid-reset gets its symlink removed and the
/// directory recreated, never a change outside the workspace (security invariant 4). Files are
/// restored by cloning the checkpoint's copy into a temp file beside the target and renaming it over,
/// so each file is either the old or the restored one.
/// </remarks>
internal sealed class Reconciler
{
    /// <summary>How close to the capture a recorded ctime must be to count as "racy" (well above a kernel tick).</summary>
    private const long RacyMarginNs = 50_000_000;
    private const int MaxAttempts = 8;
    private const int OwnerOnly = 0x1c0;

    private readonly Dictionary<string, List<ManifestEntry>> _children = new(StringComparer.Ordinal);
    private readonly ManifestEntry? _root;
    private readonly SafeFileHandle? _tree;
    private readonly long _racyFrom;
    private readonly bool _apply;
    private readonly Workspace _workspace;
    private readonly CancellationToken _cancellationToken;
    private readonly SortedSet<string> _added = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _modified = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _deleted = new(StringComparer.Ordinal);

    /// <param name="tree">The checkpoint's tree, beneath which its copies are opened (null for the empty baseline).</param>
    /// <param name="apply">Reset: change the workspace; otherwise only report.</param>
    /// <param name="workspace">Where a reset makes its temp files (<see cref="Workspace.CreateTemp"/>).</param>
    public Reconciler(Manifest manifest, SafeFileHandle? tree, Workspace workspace, bool apply, CancellationToken cancellationToken)
    {
        _workspace = workspace;
        foreach (var entry in manifest.Entries)
        {
            if (entry.Path.Length == 0)
            {
                _root = entry;
                continue;
            }
            var parent = WorkspacePath.Split(entry.Path).Parent;
            if (!_children.TryGetValue(parent, out var list))
            {
                _children[parent] = list = [];
            }
            list.Add(entry);
        }
        _tree = tree;
        _racyFrom = manifest.MarkerCtimeNs - RacyMarginNs;
        _apply = apply;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Walks the workspace root (opened for reading) and returns what differs (for a reset: what was undone).</summary>
    public WorkspaceDiff Run(SafeFileHandle workspace, string since)
    {
        Settle("", () =>
        {
            ReconcileContents(workspace, "");
            return true;
        });
        if (_apply && _root is not null)
        {
            Guard("", () => RestoreAttributes(workspace, _root));
        }
        return new WorkspaceDiff(since, [.. _added], [.. _modified], [.. _deleted]);
    }

    private void ReconcileContents(SafeFileHandle dir, string relative)
    {
        TreeDepth.Check(relative);
        var expected = _children.TryGetValue(relative, out var list)
            ? list.ToDictionary(e => WorkspacePath.Split(e.Path).Name, StringComparer.Ordinal)
            : [];
        foreach (var present in Guard(relative, () => ReadDirectory(dir)))
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (!expected.ContainsKey(present.Name))
            {
                var path = WorkspacePath.Join(relative, present.Name);
                // FIFOs, sockets and devices are never captured, so they are not "added" either, and a
                // reset leaves them (a service's socket) unless something of the checkpoint needs the name.
                Settle(path, () => At.TryStat(dir, present.Name) is not { } status || status.Kind == EntryKind.Other
                    || Discard(dir, present.Name, path, status, report: true));
            }
        }
        foreach (var (name, entry) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            _cancellationToken.ThrowIfCancellationRequested();
            Settle(entry.Path, () => Reconcile(dir, name, entry));
        }
    }

    /// <summary>
    /// Retries a step that found its entry changed under it (a sandbox process swapping it). A step
    /// looks again each time; a name that keeps changing is a busy workspace, said as such.
    /// </summary>
    private static void Settle(string path, Func<bool> step)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            try
            {
                if (Guard(path, step))
                {
                    return;
                }
            }
            catch (DirectoryVanished)
            {
                // Replaced by a rename while it was walked: look at what the name holds now.
            }
        }
        throw new WorkspaceException(ErrorCodes.WorkspaceBusy, $"'{Errors.Shorten(path)}' kept changing while it was compared or restored: a process in the sandbox is rewriting it. Stop that process and try again.");
    }

    /// <summary>One expected entry; false when the workspace changed under the step and it must look again.</summary>
    private bool Reconcile(SafeFileHandle dir, string name, ManifestEntry entry)
    {
        if (At.TryStat(dir, name) is not { } status)
        {
            _deleted.Add(entry.Path);
            if (!_apply)
            {
                ReportDescendants(entry.Path, _deleted);
                return true;
            }
            return Create(dir, name, entry);
        }
        if (status.Kind != entry.Kind)
        {
            _modified.Add(entry.Path);
            if (!_apply)
            {
                Discard(dir, name, entry.Path, status, report: false);
                ReportDescendants(entry.Path, _deleted);
                return true;
            }
            return Discard(dir, name, entry.Path, status, report: false) && Create(dir, name, entry);
        }
        return entry.Kind switch
        {
            EntryKind.File => ReconcileFile(dir, name, entry, status),
            EntryKind.Symlink => ReconcileSymlink(dir, name, entry, status),
            _ => ReconcileDirectory(dir, name, entry, status),
        };
    }

    private bool ReconcileFile(SafeFileHandle dir, string name, ManifestEntry entry, EntryStatus status)
    {
        if (SameContent(dir, name, entry, status) is not { } same)
        {
            return false;
        }
        var sameAttributes = SameOwnerAndMode(entry, status);
        if (same && sameAttributes)
        {
            if (_apply && status.MtimeNs != entry.MtimeNs)
            {
                At.SetTimes(dir, name, entry.MtimeNs);   // a touch alone is no change, but a reset puts it back
            }
            return true;
        }
        _modified.Add(entry.Path);
        if (!_apply)
        {
            return true;
        }
        if (!same)
        {
            return RestoreFile(dir, name, entry);
        }
        if (NoFollow.File(dir, name) is not { } opened)
        {
            return false;
        }
        using (opened.Handle)
        {
            RestoreAttributes(opened.Handle, entry);
        }
        return true;
    }

    private bool ReconcileSymlink(SafeFileHandle dir, string name, ManifestEntry entry, EntryStatus status)
    {
        if (NoFollow.Symlink(dir, name) is not { } link)
        {
            return false;
        }
        if (link.Target == entry.Target && SameOwnerAndMode(entry, status))
        {
            return true;
        }
        _modified.Add(entry.Path);
        return !_apply || RestoreSymlink(dir, name, entry);
    }

    private bool ReconcileDirectory(SafeFileHandle dir, string name, ManifestEntry entry, EntryStatus status)
    {
        using var child = NoFollow.Directory(dir, name);
        if (child is null)
        {
            return false;   // swapped for a symlink or a file since the stat: look again
        }
        if (!SameOwnerAndMode(entry, At.Stat(child, "")))
        {
            _modified.Add(entry.Path);
        }
        ReconcileContents(child, entry.Path);
        if (_apply)
        {
            RestoreAttributes(child, entry);
        }
        return true;
    }

    /// <summary>
    /// True when the workspace file has the captured content. Unchanged inode, size, mtime and
    /// ctime prove it without reading (no user call sets ctime), unless the ctime was recorded so
    /// close to the capture that a write in the same clock tick could have kept it; then, and when
    /// the metadata differs but the size does not, the bytes are compared. Null when the file was
    /// swapped for something else meanwhile.
    /// </summary>
    private bool? SameContent(SafeFileHandle dir, string name, ManifestEntry entry, EntryStatus status)
    {
        if (status.Size != entry.Size)
        {
            return false;
        }
        if (status.Inode == entry.Inode && status.MtimeNs == entry.MtimeNs && status.CtimeNs == entry.CtimeNs && entry.CtimeNs < _racyFrom)
        {
            return true;
        }
        if (NoFollow.File(dir, name) is not { } opened)
        {
            return null;
        }
        using (opened.Handle)
        {
            using var copy = OpenCopy(entry);
            return opened.Status.Size == entry.Size && FileClone.SameContent(opened.Handle, copy);
        }
    }

    private static bool SameOwnerAndMode(ManifestEntry entry, EntryStatus status) =>
        status.Uid == entry.Uid && status.Gid == entry.Gid && (entry.Kind == EntryKind.Symlink || status.Permissions == entry.Mode);

    /// <summary>Recreates a missing entry from the checkpoint; a directory is filled by walking into it.</summary>
    private bool Create(SafeFileHandle dir, string name, ManifestEntry entry)
    {
        try
        {
            return CreateIn(dir, name, entry);
        }
        catch (Exception e) when (e is LinuxException { Errno: Errno.ENOENT } || e.InnerException is LinuxException { Errno: Errno.ENOENT })
        {
            // Creating a plain name in a pinned directory fails with ENOENT only once that directory was
            // removed (a sandbox process swapping it away): the step that walked into it looks again.
            throw new DirectoryVanished();
        }
    }

    private bool CreateIn(SafeFileHandle dir, string name, ManifestEntry entry)
    {
        switch (entry.Kind)
        {
            case EntryKind.File:
                return RestoreFile(dir, name, entry);
            case EntryKind.Symlink:
                return RestoreSymlink(dir, name, entry);
        }
        try
        {
            At.MakeDirectory(dir, name, OwnerOnly);
        }
        catch (LinuxException e) when (e.Errno == EEXIST)
        {
            return false;   // made by the sandbox meanwhile (a directory, or a symlink): look again
        }
        using var child = NoFollow.Directory(dir, name);
        if (child is null)
        {
            return false;
        }
        ReconcileContents(child, entry.Path);
        RestoreAttributes(child, entry);
        return true;
    }

    /// <summary>Clones the checkpoint's copy beside the target and renames it over (a file or symlink there is replaced atomically).</summary>
    private bool RestoreFile(SafeFileHandle dir, string name, ManifestEntry entry)
    {
        using var copy = OpenCopy(entry);
        var temp = _workspace.CreateTemp(dir, entry.Path);
        try
        {
            using (temp.Handle)
            {
                FileClone.Copy(copy, temp.Handle);
                RestoreAttributes(temp.Handle, entry);
            }
            return Replace(temp.Dir, temp.Name, dir, name);
        }
        catch
        {
            Workspace.TryUnlink(temp.Dir, temp.Name);
            throw;
        }
    }

    private bool RestoreSymlink(SafeFileHandle dir, string name, ManifestEntry entry)
    {
        var temp = $".hutch-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp";
        At.Symlink(entry.Target ?? "", dir, temp);
        try
        {
            At.Chown(dir, temp, (int)entry.Uid, (int)entry.Gid);
            At.SetTimes(dir, temp, entry.MtimeNs);
            return Replace(dir, temp, dir, name);
        }
        catch
        {
            Workspace.TryUnlink(dir, temp);
            throw;
        }
    }

    /// <summary>Renames <paramref name="temp"/> over <paramref name="name"/>; false (temp removed) when a directory took the name meanwhile.</summary>
    private static bool Replace(SafeFileHandle tempDir, string temp, SafeFileHandle dir, string name)
    {
        try
        {
            At.Rename(tempDir, temp, dir, name);
            return true;
        }
        catch (LinuxException e) when (e.Errno is EISDIR or ENOTEMPTY or EEXIST)
        {
            Workspace.TryUnlink(tempDir, temp);
            return false;
        }
    }

    /// <summary>
    /// An entry the checkpoint does not have at this name: reported as added (unless
    /// <paramref name="report"/> is false because the name itself is reported as modified), with
    /// everything inside it, and for a reset removed. False when it changed under the removal.
    /// </summary>
    private bool Discard(SafeFileHandle dir, string name, string path, EntryStatus status, bool report)
    {
        if (report && status.Kind != EntryKind.Other)
        {
            _added.Add(path);
        }
        if (status.Kind == EntryKind.Directory)
        {
            TreeDepth.Check(path);
            using var child = NoFollow.Directory(dir, name);
            if (child is null)
            {
                return !_apply;
            }
            foreach (var entry in ReadDirectory(child))
            {
                _cancellationToken.ThrowIfCancellationRequested();
                if (At.TryStat(child, entry.Name) is { } inner)
                {
                    // A nested entry that changes under us leaves the directory non-empty: the
                    // rmdir below then fails and the whole removal is looked at again.
                    Discard(child, entry.Name, WorkspacePath.Join(path, entry.Name), inner, report: true);
                }
            }
        }
        if (!_apply)
        {
            return true;
        }
        try
        {
            At.Unlink(dir, name, directory: status.Kind == EntryKind.Directory);
            return true;
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return true;
        }
        catch (LinuxException e) when (e.Errno is EISDIR or ENOTEMPTY or Errno.ENOTDIR)
        {
            return false;
        }
    }

    /// <summary>
    /// The entries of a pinned directory. getdents fails with ENOENT once the directory was removed,
    /// as when the sandbox renames another directory over it; the step that walked into it retries.
    /// </summary>
    private static List<DirectoryEntry> ReadDirectory(SafeFileHandle dir)
    {
        try
        {
            return At.ReadDirectory(dir);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            throw new DirectoryVanished();
        }
    }

    private sealed class DirectoryVanished : Exception;

    /// <summary>Reports every captured entry below <paramref name="path"/> (a directory that is gone, or is no longer one).</summary>
    private void ReportDescendants(string path, SortedSet<string> into)
    {
        if (!_children.TryGetValue(path, out var list))
        {
            return;
        }
        foreach (var entry in list)
        {
            into.Add(entry.Path);
            ReportDescendants(entry.Path, into);
        }
    }

    /// <summary>Owner, then mode (chown clears setuid), then mtime, on an fd opened for reading or writing; only what differs.</summary>
    private static void RestoreAttributes(SafeFileHandle handle, ManifestEntry entry)
    {
        var now = At.Stat(handle, "");
        if (now.Uid != entry.Uid || now.Gid != entry.Gid)
        {
            At.Chown(handle, "", (int)entry.Uid, (int)entry.Gid);
            now = At.Stat(handle, "");
        }
        if (now.Permissions != entry.Mode)
        {
            At.Chmod(handle, entry.Mode);
        }
        if (now.MtimeNs != entry.MtimeNs)
        {
            At.SetTimes(handle, "", entry.MtimeNs);
        }
    }

    /// <summary>The checkpoint's copy of a file: beneath the store's tree, which no sandbox can reach, and still never through a symlink.</summary>
    private SafeFileHandle OpenCopy(ManifestEntry entry) =>
        Beneath.Open(_tree ?? throw new InvalidOperationException("the empty baseline has no files"), entry.Path,
            Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true);

    private static T Guard<T>(string path, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is LinuxException or ContainmentException or IOException)
        {
            throw Errors.From(e, path);
        }
    }

    private static void Guard(string path, Action step) => Guard(path, () =>
    {
        step();
        return 0;
    });
}
