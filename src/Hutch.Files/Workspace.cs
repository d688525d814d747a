using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

/// <summary>
/// A sandbox's workspace as seen from the host: its directory pinned by an O_PATH handle, and the
/// host ids that new entries must belong to so the sandbox's user owns what the API writes. Every
/// operation (partial files Workspace.*.cs) names places with <see cref="WorkspacePath"/> and reaches
/// them with openat2 beneath the pinned root (security invariant 4): reads may follow symlinks that
/// stay inside; writes never pass through a symlinked directory.
/// </summary>
public sealed partial class Workspace : IDisposable
{
    internal const int DirectoryMode = 0x1ed;   // 0755
    internal const int FileMode = 0x1a4;        // 0644

    private readonly SafeFileHandle _root;
    private readonly SafeFileHandle? _staging;

    /// <param name="hostDirectory">The workspace's directory on the host.</param>
    /// <param name="ownerUid">Host uid that new entries get (the sandbox user's mapped id).</param>
    /// <param name="stagingDirectory">
    /// Where temp files and import staging go while they are written: a directory the sandbox cannot
    /// reach (never mounted into it), on the workspace's file system so that the final rename stays
    /// atomic. Null, or on another file system, puts them beside their targets in the workspace,
    /// hidden by name (<see cref="Archives.Staging.IsInFlight"/>).
    /// </param>
    public Workspace(string hostDirectory, int ownerUid, int ownerGid, string? stagingDirectory = null)
    {
        HostDirectory = hostDirectory;
        OwnerUid = ownerUid;
        OwnerGid = ownerGid;
        _root = Beneath.OpenRoot(hostDirectory);
        _staging = stagingDirectory is null ? null : OpenStaging(stagingDirectory);
    }

    public string HostDirectory { get; }
    public int OwnerUid { get; }
    public int OwnerGid { get; }

    /// <summary>True when in-flight files are staged outside the workspace (see the constructor).</summary>
    public bool StagesOutside => _staging is not null;

    public void Dispose()
    {
        _root.Dispose();
        _staging?.Dispose();
    }

    /// <summary>The staging directory, pinned, or null when it is on another file system than the workspace (renames would fail with EXDEV).</summary>
    private SafeFileHandle? OpenStaging(string directory)
    {
        var staging = Beneath.OpenRoot(directory);
        if (At.Stat(staging, "").Device == At.Stat(_root, "").Device)
        {
            return staging;
        }
        staging.Dispose();
        return null;
    }

    /// <summary>Where a temp file or staging directory for a change in <paramref name="targetDir"/> is made.</summary>
    internal SafeFileHandle StagingFor(SafeFileHandle targetDir) => _staging ?? targetDir;

    /// <summary>Opens a directory for reading its entries; symlinks inside the workspace may be followed.</summary>
    internal SafeFileHandle OpenDirectory(string relative, string shown) =>
        Guard(shown, () => Beneath.Open(_root, relative, Beneath.O_RDONLY | Beneath.O_DIRECTORY));

    /// <summary>
    /// Opens the directory that holds <paramref name="relative"/> for changing it: no symlink anywhere
    /// on the way, so a sandbox that swaps a parent for a link cannot redirect the write. With
    /// <paramref name="createParents"/>, missing directories are made (owned by the sandbox user).
    /// </summary>
    internal (SafeFileHandle Dir, string Name) OpenParentForChange(string relative, string shown, bool createParents)
    {
        if (relative.Length == 0)
        {
            throw new WorkspaceException(ErrorCodes.InvalidPath,
                $"'{shown}' is the workspace root itself; name a file or directory inside it, like 'src/a.py'.");
        }
        var (parent, name) = WorkspacePath.Split(relative);
        CheckName(name, shown);
        var dir = createParents
            ? MakeDirectories(parent, shown)
            : Guard(shown, () => Beneath.Open(_root, parent, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));
        return (dir, name);
    }

    /// <summary>Creates every missing directory of <paramref name="relative"/>, never through a symlink, and returns the last one.</summary>
    internal SafeFileHandle MakeDirectories(string relative, string shown)
    {
        var current = Guard(shown, () => Beneath.Open(_root, "", Beneath.O_PATH | Beneath.O_DIRECTORY));
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            CheckName(part, shown);
            using var parent = current;
            if (At.TryStat(parent, part) is null)
            {
                try
                {
                    At.MakeDirectory(parent, part, DirectoryMode);
                    At.Chown(parent, part, OwnerUid, OwnerGid);
                }
                catch (LinuxException e) when (e.Errno == Errno.EEXIST)
                {
                    // Made by the sandbox meanwhile: fine, it is opened below like any other.
                }
                catch (LinuxException e)
                {
                    throw Errors.From(e, shown);
                }
            }
            current = Guard(shown, () => Beneath.Open(parent, part, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));
        }
        return current;
    }

    internal static void CheckName(string name, string shown)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(name) > WorkspacePath.MaxNameBytes)
        {
            throw new WorkspaceException(ErrorCodes.NameTooLong,
                $"A name in '{Errors.Shorten(shown)}' is longer than 255 bytes, the file system's limit. Use a shorter name.");
        }
    }

    /// <summary>Runs a file system call and turns its failure into a <see cref="WorkspaceException"/> about <paramref name="shown"/>.</summary>
    internal static T Guard<T>(string shown, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            throw Errors.From(e, shown);
        }
    }

    internal static void Guard(string shown, Action action) => Guard(shown, () =>
    {
        action();
        return 0;
    });

    internal static string TypeName(EntryKind kind) => kind switch
    {
        EntryKind.File => FileTypes.File,
        EntryKind.Directory => FileTypes.Directory,
        EntryKind.Symlink => FileTypes.Symlink,
        _ => FileTypes.Other,
    };

    private FileEntry Describe(SafeFileHandle dir, string name, string relative, EntryStatus status)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new(relative, TypeName(status.Kind), status.Size, Modes.Format(status.Permissions), status.Mtime,
                    status.Kind == EntryKind.Symlink ? At.ReadLink(dir, name) : null);
            }
            catch (LinuxException e) when (e.Errno == Errno.EINVAL && attempt < 3)
            {
                // The symlink was replaced by something else between the stat and the readlink (a
                // sandbox process racing the API): describe what is there now.
                status = At.Stat(dir, name);
            }
        }
    }
}
