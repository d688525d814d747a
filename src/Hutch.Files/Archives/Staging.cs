using System.Buffers;
using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Archives;

/// <summary>
/// The directory an import is extracted into (".hutch-import-…", 0700): in the workspace's staging
/// directory, which the sandbox cannot reach, or (a workspace without one) hidden in the import
/// directory or its nearest existing ancestor. Either way on the workspace's file system, so renames
/// can move members into place: nothing of the archive is visible in the workspace until the whole
/// of it has been read and accepted, and a refused archive is removed with it. Every
/// entry is made through a directory fd opened with RESOLVE_NO_SYMLINKS, so a symlink member (or one
/// the sandbox plants here meanwhile) can never redirect a later member.
/// </summary>
internal sealed class Staging : IDisposable
{
    public const string Prefix = ".hutch-import-";
    private const int StagingMode = 0x1c0;      // 0700
    private const int NewFileMode = 0x180;      // 0600 until the member's mode is set
    private const int CopyBufferSize = 1 << 20;

    private readonly SafeFileHandle _home;
    private readonly SafeFileHandle _dir;
    private readonly SafeFileHandle _syncing;
    private readonly string _name;
    private readonly Workspace _workspace;
    private readonly ImportLimits _limits;
    private readonly List<(string Path, int Mode, long MtimeNs)> _directories = [];
    private string? _parentPath;
    private SafeFileHandle? _parent;

    private Staging(SafeFileHandle home, SafeFileHandle dir, SafeFileHandle syncing, string name, Workspace workspace, ImportLimits limits)
    {
        _home = home;
        _dir = dir;
        _syncing = syncing;
        _name = name;
        _workspace = workspace;
        _limits = limits;
    }

    /// <summary>
    /// A fresh handle on the staging directory for listing it: getdents(2) reads on from the fd's
    /// offset, so every listing needs its own open.
    /// </summary>
    public SafeFileHandle OpenForListing() =>
        Workspace.Guard(_name, () => Beneath.Open(_dir, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true));

    /// <summary>Bytes of file content written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>True for the names the daemon gives its in-flight entries: staging directories and temp files.</summary>
    public static bool IsInFlight(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) || (name.StartsWith(".hutch-", StringComparison.Ordinal) && name.EndsWith(".tmp", StringComparison.Ordinal));

    /// <summary>Makes a fresh staging directory for an import into <paramref name="target"/> (which stays owned by the caller).</summary>
    public static Staging Create(SafeFileHandle target, Workspace workspace, ImportLimits limits, string shown)
    {
        var home = workspace.StagingFor(target);
        for (var attempt = 0; ; attempt++)
        {
            var name = Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            try
            {
                At.MakeDirectory(home, name, StagingMode);
            }
            catch (LinuxException e) when (e.Errno == Errno.EEXIST && attempt < 10)
            {
                continue;
            }
            catch (LinuxException e)
            {
                throw Errors.From(e, shown);
            }
            try
            {
                if (!workspace.StagesOutside)
                {
                    // In the workspace: owned by the sandbox user, so if the daemon dies mid-import the sandbox can delete what is left.
                    At.Chown(home, name, workspace.OwnerUid, workspace.OwnerGid);
                }
                var dir = Beneath.Open(home, name, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
                // A readable fd opened now: syncfs reports write-back errors since its fd was opened.
                var syncing = Beneath.Open(home, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
                return new Staging(home, dir, syncing, name, workspace, limits);
            }
            catch (Exception e) when (e is LinuxException or ContainmentException)
            {
                TryRemove(home, name, null);
                throw Errors.From(e, shown);
            }
        }
    }

    /// <summary>A directory member; its mode and time are set by <see cref="FinishDirectories"/>, after its contents.</summary>
    public void AddDirectory(string member, string path, int mode, long mtimeNs)
    {
        var (parentPath, name) = WorkspacePath.Split(path);
        var parent = OpenParent(member, parentPath);
        var existing = Do(member, () => At.TryStat(parent, name));
        if (existing is { Kind: not EntryKind.Directory })
        {
            throw Conflict(member, path);
        }
        if (existing is null)
        {
            MakeDirectory(member, parent, name);
        }
        _directories.Add((path, mode, mtimeNs));
    }

    /// <summary>A regular file member, written whole from <paramref name="data"/>; returns its size.</summary>
    public async Task<long> AddFileAsync(string member, string path, Stream? data, long length, int mode, long mtimeNs, CancellationToken cancellationToken)
    {
        var (parentPath, name) = WorkspacePath.Split(path);
        var parent = OpenParent(member, parentPath);
        ClearForNonDirectory(member, path, parent, name);
        using var file = Do(member, () => Beneath.Open(parent, name,
            Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, NewFileMode, noSymlinks: true));
        var size = data is null ? 0 : await CopyAsync(member, data, file, cancellationToken).ConfigureAwait(false);
        if (size < length)
        {
            throw ArchiveErrors.Invalid($"it ends in the middle of the member '{ArchiveErrors.Shown(member)}' ({size} of {length} bytes)");
        }
        Do(member, () =>
        {
            At.Chown(file, "", _workspace.OwnerUid, _workspace.OwnerGid);
            At.Chmod(file, mode);
            At.SetTimes(file, "", mtimeNs);
        });
        return size;
    }

    /// <summary>A symbolic link member, stored as it is (its target was checked by <see cref="MemberNames.CheckLinkTarget"/>).</summary>
    public void AddSymlink(string member, string path, string target, long mtimeNs)
    {
        var (parentPath, name) = WorkspacePath.Split(path);
        var parent = OpenParent(member, parentPath);
        ClearForNonDirectory(member, path, parent, name);
        Do(member, () =>
        {
            At.Symlink(target, parent, name);
            At.Chown(parent, name, _workspace.OwnerUid, _workspace.OwnerGid);
            At.SetTimes(parent, name, mtimeNs);
        });
    }

    /// <summary>
    /// Sets the mode and time of every directory member, once nothing more is created in them (a new
    /// entry would move a directory's mtime again).
    /// </summary>
    public void FinishDirectories()
    {
        foreach (var (path, mode, mtimeNs) in _directories)
        {
            using var dir = Do(path, () => Beneath.Open(_dir, path, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true));
            Do(path, () =>
            {
                At.Chmod(dir, mode);
                At.SetTimes(dir, "", mtimeNs);
            });
        }
    }

    /// <summary>
    /// Puts every staged byte on disk before anything moves into the workspace, so an import is
    /// answered only when it is durable (a write-back that fails on a full disk shows here, as
    /// disk_full, with nothing moved). One syncfs(2) for the whole archive, not an fsync per member:
    /// it also flushes what else is dirty on the volume, and reports a write-back error of any file on
    /// it since the import began.
    /// </summary>
    public void Sync(string shown) => Do(shown, () => At.SyncFileSystem(_syncing));

    /// <summary>Removes the staging directory and whatever is still in it (all of it after a refusal).</summary>
    public void Dispose()
    {
        _parent?.Dispose();
        TryRemove(_home, _name, _dir);
        _dir.Dispose();
        _syncing.Dispose();
    }

    private static void TryRemove(SafeFileHandle home, string name, SafeFileHandle? dir)
    {
        try
        {
            if (dir is not null)
            {
                using var listing = Beneath.Open(dir, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
                Workspace.DeleteContents(listing);
            }
            At.Unlink(home, name, directory: true);
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            // The sandbox changed it meanwhile; what is left is hidden, its own, and can be deleted by it.
        }
    }

    /// <summary>
    /// The staging directory that holds a member, made as needed (implicit parents get 0755). Any
    /// symlink on the way, from an earlier member or planted meanwhile, is refused by the kernel. The
    /// last one is kept open, since archives list a directory's files together.
    /// </summary>
    private SafeFileHandle OpenParent(string member, string parentPath)
    {
        if (parentPath.Length == 0)
        {
            return _dir;
        }
        if (_parent is not null && _parentPath == parentPath)
        {
            return _parent;
        }
        _parent?.Dispose();
        _parent = null;
        _parentPath = null;
        SafeFileHandle parent;
        try
        {
            parent = Beneath.Open(_dir, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            // Missing (ENOENT), or a link or file on the way: made, or the culprit named, component by component.
            parent = MakeParents(member, parentPath);
        }
        _parent = parent;
        _parentPath = parentPath;
        return parent;
    }

    private SafeFileHandle MakeParents(string member, string parentPath)
    {
        var current = Do(member, () => Beneath.Open(_dir, "", Beneath.O_PATH | Beneath.O_DIRECTORY));
        var walked = "";
        foreach (var part in parentPath.Split('/'))
        {
            using var dir = current;
            walked = WorkspacePath.Join(walked, part);
            var status = Do(member, () => At.TryStat(dir, part));
            switch (status?.Kind)
            {
                case null:
                    MakeDirectory(member, dir, part);
                    break;
                case EntryKind.Symlink:
                    throw ArchiveErrors.Refused(member,
                        $"it would be written through '{ArchiveErrors.Shown(walked)}', a symbolic link earlier in the archive, and nothing is ever written through a link",
                        "Archive the directory the link points to under its own name, or leave the link out.");
                case not EntryKind.Directory:
                    throw Conflict(member, walked);
            }
            current = Do(member, () => Beneath.Open(dir, part, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));
        }
        return current;
    }

    private void MakeDirectory(string member, SafeFileHandle parent, string name) => Do(member, () =>
    {
        At.MakeDirectory(parent, name, Workspace.DirectoryMode);
        At.Chown(parent, name, _workspace.OwnerUid, _workspace.OwnerGid);
    });

    /// <summary>A later member of the same name replaces an earlier file or link (tar's rule), never a directory.</summary>
    private static void ClearForNonDirectory(string member, string path, SafeFileHandle parent, string name)
    {
        switch (Do(member, () => At.TryStat(parent, name))?.Kind)
        {
            case null:
                return;
            case EntryKind.Directory:
                throw Conflict(member, path);
            default:
                Do(member, () => At.Unlink(parent, name));
                return;
        }
    }

    private async Task<long> CopyAsync(string member, Stream data, SafeFileHandle file, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        long size = 0;
        try
        {
            while (true)
            {
                int n;
                try
                {
                    n = await data.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (ArchiveInput.IsBroken(e))
                {
                    throw ArchiveInput.Broken(e);
                }
                if (n == 0)
                {
                    return size;
                }
                if (BytesWritten + n > _limits.MaxBytes)
                {
                    throw ArchiveErrors.TooManyBytes(_limits.MaxBytes);
                }
                try
                {
                    await RandomAccess.WriteAsync(file, buffer.AsMemory(0, n), size, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw Errors.From(e, member);
                }
                size += n;
                BytesWritten += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static WorkspaceException Conflict(string member, string path) => ArchiveErrors.Refused(member,
        $"the archive has '{ArchiveErrors.Shown(path)}' both as a directory and as a file or link",
        "Keep one of them in the archive.");

    /// <summary>Runs a file call on a member and turns its failure into a <see cref="WorkspaceException"/> naming it (disk_full stays disk_full).</summary>
    private static T Do<T>(string member, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (ContainmentException)
        {
            throw ArchiveErrors.Refused(member, "it would be written through a symbolic link, and nothing is ever written through a link", "Leave the link out of the archive.");
        }
        catch (LinuxException e)
        {
            throw Errors.From(e, member);
        }
    }

    private static void Do(string member, Action action) => Do(member, () =>
    {
        action();
        return 0;
    });
}
