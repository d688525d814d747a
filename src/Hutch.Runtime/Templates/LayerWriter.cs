using System.Buffers;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Templates;

/// <summary>
/// Makes a layer's entries in overlayfs's on-disk form beneath one directory, treating every entry as
/// hostile. Each entry is made by name in a parent directory opened with openat2(RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS), never by a path the kernel would resolve through a link; a name that
/// exists is unlinked first and its replacement made with O_EXCL, so no write ever lands in what an
/// earlier symlink or hard link points to. Nothing of the archive's extended attributes is written;
/// the only xattr a layer gets is overlayfs's own opaque marker, and the only device node the
/// whiteout 0:0. Written by hand: no .NET API creates files beneath a directory fd.
/// </summary>
internal sealed class LayerWriter(SafeFileHandle root, int maxWarnings = 100) : IDisposable
{
    /// <summary>The id anything outside the sandbox's mapped range (0-65535) is given: nobody/nogroup.</summary>
    public const int Nobody = 65534;
    private const int MaxMappedId = 65535;
    private const int DefaultDirectoryMode = 0x1ed;       // 0755, for parents the archive does not list
    private const int NewFileMode = 0x180;                // 0600 until the entry's own mode is set
    private const int PrivateDirectoryMode = 0x1c0;       // 0700 until the entry's own mode is set
    private const int PermissionBits = 0x3ff;             // rwx for all three and sticky: setuid and setgid are always cleared
    private const int S_IFCHR = 0x2000, S_IFIFO = 0x1000;
    private const int CopyBufferSize = 1 << 20;
    private const string OpaqueXattr = "trusted.overlay.opaque";

    private readonly Dictionary<string, long> _directoryTimes = new(StringComparer.Ordinal);
    private readonly List<string> _warnings = [];
    private (int Mode, int Uid, int Gid)? _rootAttributes;
    private string? _parentPath;
    private SafeFileHandle? _parent;
    private long _skipped;

    /// <summary>Bytes of regular file content written.</summary>
    public long Bytes { get; private set; }

    /// <summary>Entries made: directories, files, links, FIFOs, whiteouts and opaque markers.</summary>
    public long Entries { get; private set; }

    /// <summary>What was left out and why (device nodes), the first <c>maxWarnings</c> of them and a count of the rest.</summary>
    public IReadOnlyList<string> Warnings => _skipped == 0 ? _warnings : [.. _warnings, $"and {_skipped} more entries skipped for the same reasons"];

    /// <summary>The owner an archive's id gets: itself inside the sandbox's range, nobody beyond it.</summary>
    public static int Owner(long id) => id is >= 0 and <= MaxMappedId ? (int)id : Nobody;

    /// <summary>The permission bits kept: rwx and sticky; setuid and setgid cleared.</summary>
    public static int Permissions(int mode) => mode & PermissionBits;

    public void Warn(string warning)
    {
        if (_warnings.Count < maxWarnings)
        {
            _warnings.Add(warning);
        }
        else
        {
            _skipped++;
        }
    }

    /// <summary>A directory; an existing one keeps its contents (tar's rule) and takes the new mode and owner; "" is the layer's root.</summary>
    public void Directory(string member, string path, int mode, long uid, long gid, long mtimeNs)
    {
        if (path.Length == 0)
        {
            _rootAttributes = (Permissions(mode), Owner(uid), Owner(gid));
            _directoryTimes[path] = mtimeNs;
            return;
        }
        var (parentPath, name) = LayerNames.Split(path);
        var parent = OpenParent(member, parentPath);
        if (Clear(member, parent, name, keepDirectory: true) is not EntryKind.Directory)
        {
            Do(member, () => At.MakeDirectory(parent, name, PrivateDirectoryMode));
        }
        using (var dir = Do(member, () => Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true)))
        {
            SetAttributes(member, dir, Permissions(mode), Owner(uid), Owner(gid));
        }
        _directoryTimes[path] = mtimeNs;
        Entries++;
    }

    /// <summary>A regular file written whole from <paramref name="data"/>, which must hold <paramref name="length"/> bytes.</summary>
    public async Task FileAsync(string member, string path, Stream? data, long length, int mode, long uid, long gid, long mtimeNs,
        CancellationToken cancellationToken)
    {
        var (parentPath, name) = LayerNames.Split(path);
        var parent = OpenParent(member, parentPath);
        Clear(member, parent, name, keepDirectory: false);
        using var file = Do(member, () => Beneath.Open(parent, name,
            Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, NewFileMode, noSymlinks: true));
        var size = data is null ? 0 : await CopyAsync(member, data, file, cancellationToken).ConfigureAwait(false);
        if (size != length)
        {
            throw new TemplateException(TemplateErrorCodes.LayerInvalid,
                $"the layer ends in the middle of '{LayerNames.Shown(member)}' ({size} of {length} bytes); export the image again");
        }
        SetAttributes(member, file, Permissions(mode), Owner(uid), Owner(gid));
        Do(member, () => At.SetTimes(file, "", mtimeNs));
        Entries++;
    }

    /// <summary>A symbolic link, its target kept as it is: it is resolved inside the sandbox's own root, never by Hutch.</summary>
    public void Symlink(string member, string path, string target, long uid, long gid, long mtimeNs)
    {
        var (parentPath, name) = LayerNames.Split(path);
        var parent = OpenParent(member, parentPath);
        Clear(member, parent, name, keepDirectory: false);
        Do(member, () =>
        {
            At.Symlink(target, parent, name);
            At.Chown(parent, name, Owner(uid), Owner(gid));
            At.SetTimes(parent, name, mtimeNs);
        });
        Entries++;
    }

    /// <summary>
    /// A hard link to a regular file made earlier in this layer. The target is opened beneath the
    /// root with no symlink on the way and linked by its fd (linkat AT_EMPTY_PATH), so what was
    /// checked is what is linked: never a file outside, a directory, or one of another layer.
    /// </summary>
    public void HardLink(string member, string path, string targetPath)
    {
        if (targetPath.Length == 0 || targetPath == path)
        {
            throw LinkOutside(member, targetPath, "which is not a file of its own");
        }
        SafeFileHandle target;
        try
        {
            target = Beneath.Open(root, targetPath, Beneath.O_PATH | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (ContainmentException)
        {
            throw LinkOutside(member, targetPath, "which goes through a symbolic link");
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            throw LinkOutside(member, targetPath, "which is not an entry earlier in this layer");
        }
        using (target)
        {
            if (At.Stat(target, "").Kind != EntryKind.File)
            {
                throw LinkOutside(member, targetPath, "which is not a regular file");
            }
            var (parentPath, name) = LayerNames.Split(path);
            var parent = OpenParent(member, parentPath);
            Clear(member, parent, name, keepDirectory: false);
            try
            {
                At.Link(target, parent, name);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                // The target was inside what this entry replaced (a directory holding it).
                throw LinkOutside(member, targetPath, "which this entry itself replaced");
            }
            catch (LinuxException e)
            {
                throw Failed(member, e);
            }
        }
        Entries++;
    }

    /// <summary>A FIFO (a named pipe: no data, no device).</summary>
    public void Fifo(string member, string path, int mode, long uid, long gid, long mtimeNs)
    {
        var (parentPath, name) = LayerNames.Split(path);
        var parent = OpenParent(member, parentPath);
        Clear(member, parent, name, keepDirectory: false);
        Do(member, () => At.MakeNode(parent, name, S_IFIFO | NewFileMode));
        // O_NONBLOCK: opening a FIFO for reading does not wait for a writer then, and fchmod needs a real fd.
        using var fifo = Do(member, () => Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_NONBLOCK | Beneath.O_NOFOLLOW, noSymlinks: true));
        SetAttributes(member, fifo, Permissions(mode), Owner(uid), Owner(gid));
        Do(member, () => At.SetTimes(fifo, "", mtimeNs));
        Entries++;
    }

    /// <summary>
    /// A whiteout (".wh.NAME" in the archive): the character device 0:0 named NAME, which overlayfs
    /// reads as "NAME of the layers below is deleted". A whiteout only hides lower layers (image-spec
    /// layer.md), so when this layer has NAME itself, NAME stays and the whiteout is dropped.
    /// </summary>
    public void Whiteout(string member, string parentPath, string name)
    {
        var parent = OpenParent(member, parentPath);
        if (Do(member, () => At.TryStat(parent, name)) is not null)
        {
            return;
        }
        Do(member, () => At.MakeNode(parent, name, S_IFCHR, device: 0));
        Entries++;
    }

    /// <summary>
    /// An opaque marker (".wh..wh..opq"): the xattr trusted.overlay.opaque = "y" on its directory,
    /// which hides every entry the layers below have in it. trusted.* needs CAP_SYS_ADMIN, so only
    /// the daemon (never a sandbox) can set it, and the archive cannot: its own xattrs are dropped.
    /// </summary>
    public void Opaque(string member, string directoryPath)
    {
        // The directory is opened (and made, as needed) like an entry's parent: no link on the way, nor as the directory itself.
        var path = OpenParent(member, directoryPath);
        using (var dir = Do(member, () => Beneath.Open(path, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true)))
        {
            Do(member, () => At.SetXattr(dir, OpaqueXattr, "y"u8));
        }
        Entries++;
    }

    /// <summary>
    /// Gives every directory its time, once nothing more is made in it (a new entry moves a directory's
    /// mtime), and the root its mode and owner (0755 root:root unless the archive listed "./").
    /// </summary>
    public void Finish()
    {
        CloseParent();
        using (var top = Do("./", () => Beneath.Open(root, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true)))
        {
            var (mode, uid, gid) = _rootAttributes ?? (DefaultDirectoryMode, 0, 0);
            SetAttributes("./", top, mode, uid, gid);
        }
        foreach (var (path, mtimeNs) in _directoryTimes)
        {
            try
            {
                using var dir = Beneath.Open(root, path, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                At.SetTimes(dir, "", mtimeNs);
            }
            catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR })
            {
                // A later entry replaced the directory with something else: nothing to time.
            }
        }
    }

    public void Dispose() => CloseParent();

    private static void SetAttributes(string member, SafeFileHandle file, int mode, int uid, int gid) => Do(member, () =>
    {
        // chown first: it would clear setuid and setgid bits set before it (they are cleared anyway).
        At.Chown(file, "", uid, gid);
        At.Chmod(file, mode);
    });

    /// <summary>
    /// Makes way for an entry called <paramref name="name"/>: a file, link or node of that name is
    /// unlinked (a later entry wins, as in tar), and so is a directory with all it holds unless the new
    /// entry is a directory too. Returns what is left there (a directory, or nothing).
    /// </summary>
    private EntryKind? Clear(string member, SafeFileHandle parent, string name, bool keepDirectory)
    {
        var existing = Do(member, () => At.TryStat(parent, name));
        switch (existing?.Kind)
        {
            case null:
                return null;
            case EntryKind.Directory when keepDirectory:
                return EntryKind.Directory;
            case EntryKind.Directory:
                using (var dir = Do(member, () => Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true)))
                {
                    Do(member, () => TreeRemover.DeleteContents(dir));
                }
                Do(member, () => At.Unlink(parent, name, directory: true));
                // The cached parent may have been inside what was removed.
                if (!ReferenceEquals(parent, _parent))
                {
                    CloseParent();
                }
                return null;
            default:
                Do(member, () => At.Unlink(parent, name));
                return null;
        }
    }

    /// <summary>
    /// The directory that holds an entry, made as needed (parents the archive does not list get 0755
    /// root:root). A symlink on the way, one an earlier entry made, is refused by the kernel
    /// (RESOLVE_NO_SYMLINKS) and reported as such. The last one is kept open: archives list a
    /// directory's entries together.
    /// </summary>
    private SafeFileHandle OpenParent(string member, string parentPath)
    {
        if (parentPath.Length == 0)
        {
            return root;
        }
        if (_parent is not null && _parentPath == parentPath)
        {
            return _parent;
        }
        CloseParent();
        SafeFileHandle parent;
        try
        {
            parent = Beneath.Open(root, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
        }
        catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOENT or Errno.ENOTDIR })
        {
            // Missing, or a link or a file on the way: made, or the culprit named, component by component.
            parent = MakeParents(member, parentPath);
        }
        _parent = parent;
        _parentPath = parentPath;
        return parent;
    }

    private SafeFileHandle MakeParents(string member, string parentPath)
    {
        var current = Do(member, () => Beneath.Open(root, "", Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));
        var walked = "";
        foreach (var part in parentPath.Split('/'))
        {
            using var dir = current;
            walked = LayerNames.Join(walked, part);
            var status = Do(member, () => At.TryStat(dir, part));
            switch (status?.Kind)
            {
                case null:
                    MakeDirectory(member, dir, part);
                    break;
                case EntryKind.Symlink:
                    throw new TemplateException(TemplateErrorCodes.LayerThroughLink,
                        $"the layer was refused: '{LayerNames.Shown(member)}' would be written through '{LayerNames.Shown(walked)}', " +
                        "a symbolic link made earlier in the same layer, and nothing is ever written through a link. " +
                        "Put the entry under the directory the link points to instead.");
                case not EntryKind.Directory:
                    throw new TemplateException(TemplateErrorCodes.LayerInvalidPath,
                        $"the layer was refused: '{LayerNames.Shown(member)}' would be written inside '{LayerNames.Shown(walked)}', " +
                        "which an earlier entry of the same layer made something other than a directory (a file, node or whiteout).");
            }
            current = Do(member, () => Beneath.Open(dir, part, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true));
        }
        return current;
    }

    private static void MakeDirectory(string member, SafeFileHandle parent, string name)
    {
        Do(member, () => At.MakeDirectory(parent, name, DefaultDirectoryMode));
        using var dir = Do(member, () => Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true));
        // Its mode exactly, whatever the daemon's umask.
        Do(member, () => At.Chmod(dir, DefaultDirectoryMode));
    }

    private void CloseParent()
    {
        _parent?.Dispose();
        _parent = null;
        _parentPath = null;
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
                catch (Exception e) when (LayerInput.IsBroken(e))
                {
                    throw LayerInput.Broken(e);
                }
                if (n == 0)
                {
                    return size;
                }
                try
                {
                    await RandomAccess.WriteAsync(file, buffer.AsMemory(0, n), size, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw Failed(member, e);
                }
                size += n;
                Bytes += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static TemplateException LinkOutside(string member, string target, string why) => new(TemplateErrorCodes.LayerLinkOutside,
        $"the layer was refused: '{LayerNames.Shown(member)}' is a hard link to '{LayerNames.Shown(target)}', {why}. " +
        "A hard link may only point to a regular file that comes earlier in the same layer.");

    /// <summary>A failed file call on an entry: a full disk is disk_full, a symlink on the way layer_through_link, a name too long layer_invalid_path.</summary>
    private static Exception Failed(string member, Exception e) => e switch
    {
        ContainmentException => new TemplateException(TemplateErrorCodes.LayerThroughLink,
            $"the layer was refused: '{LayerNames.Shown(member)}' would be written through a symbolic link made earlier in the same layer, " +
            "and nothing is ever written through a link.", e),
        LinuxException { Errno: Errno.ENOSPC or Errno.EDQUOT } => new TemplateException(ErrorCodes.DiskFull,
            $"the disk holding the template store is full (writing '{LayerNames.Shown(member)}'); free space or delete unused templates", e),
        IOException { HResult: Errno.ENOSPC or Errno.EDQUOT } => new TemplateException(ErrorCodes.DiskFull,
            $"the disk holding the template store is full (writing '{LayerNames.Shown(member)}'); free space or delete unused templates", e),
        LinuxException { Errno: Errno.ENAMETOOLONG } => LayerNames.Invalid(member, "an entry's name is too long for the file system"),
        _ => e,
    };

    private static T Do<T>(string member, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ContainmentException or LinuxException)
        {
            var mapped = Failed(member, e);
            if (ReferenceEquals(mapped, e))
            {
                throw;
            }
            throw mapped;
        }
    }

    private static void Do(string member, Action action) => Do(member, () =>
    {
        action();
        return 0;
    });
}
