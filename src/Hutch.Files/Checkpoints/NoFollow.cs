using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Opens one name in a pinned directory without ever following a symlink (openat2 with
/// RESOLVE_NO_SYMLINKS and O_NOFOLLOW). A sandbox process may swap any entry of its workspace at
/// any time; these return null when the entry is no longer what the caller expects, so the caller
/// looks again instead of acting on whatever the name now leads to (security invariant 4).
/// </summary>
internal static class NoFollow
{
    public const int DirectoryFlags = Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW;

    /// <summary>Non-blocking and no controlling terminal: a FIFO or device that slipped in is opened harmlessly, then refused.</summary>
    public const int FileFlags = Beneath.O_RDONLY | Beneath.O_NOFOLLOW | Beneath.O_NONBLOCK | Beneath.O_NOCTTY;


    /// <summary>The directory <paramref name="pathOnly"/> is open on (O_PATH, or a detached mount) opened again for reading; takes ownership of <paramref name="pathOnly"/>.</summary>
    public static SafeFileHandle Reopen(SafeFileHandle pathOnly)
    {
        using (pathOnly)
        {
            return Beneath.Open(pathOnly, "", DirectoryFlags, noSymlinks: true);
        }
    }

    /// <summary>The directory <paramref name="name"/> opened for reading; null when it is gone or no longer a directory.</summary>
    public static SafeFileHandle? Directory(SafeFileHandle dir, string name)
    {
        try
        {
            return Beneath.Open(dir, name, DirectoryFlags, noSymlinks: true);
        }
        catch (ContainmentException)
        {
            return null;
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or ELOOP)
        {
            return null;
        }
    }

    /// <summary>The regular file <paramref name="name"/> opened for reading, with its status; null when it is gone or not a regular file.</summary>
    public static (SafeFileHandle Handle, EntryStatus Status)? File(SafeFileHandle dir, string name)
    {
        SafeFileHandle handle;
        try
        {
            handle = Beneath.Open(dir, name, FileFlags, noSymlinks: true);
        }
        catch (ContainmentException)
        {
            return null;
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or ENXIO or ELOOP)
        {
            return null;
        }
        var status = At.Stat(handle, "");
        if (status.Kind != EntryKind.File)
        {
            handle.Dispose();
            return null;
        }
        return (handle, status);
    }

    /// <summary>The symlink <paramref name="name"/> with its target; null when it is gone or no longer a symlink.</summary>
    public static (EntryStatus Status, string Target)? Symlink(SafeFileHandle dir, string name)
    {
        try
        {
            var status = At.Stat(dir, name);
            return status.Kind == EntryKind.Symlink ? (status, At.ReadLink(dir, name)) : null;
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or EINVAL)
        {
            return null;
        }
    }
}
