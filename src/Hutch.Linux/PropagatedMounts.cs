using System.Runtime.InteropServices;
using System.Text;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>
/// Read-only bind mounts made on the host that reach running sandboxes by mount propagation
/// (mount_namespaces(7), Documentation/filesystems/sharedsubtree.rst): a host directory made a
/// shared mount of its own, and sandboxes that bind parts of it as slaves, see every mount made
/// below it afterwards. The mounts are made with the new mount API: a detached clone of the source
/// (open_tree), read-only, nosuid and nodev before it is attached anywhere (mount_setattr), then
/// moved onto its target, so no sandbox ever sees it writable, not even for an instant.
/// Written by hand: .NET has no mount API.
/// </summary>
public static unsafe class PropagatedMounts
{
    /// <summary>
    /// Makes <paramref name="directory"/> a shared mount (a bind of itself, then MS_SHARED) unless it
    /// is a mount point already (a previous daemon's: binding it again would hide what is mounted in it).
    /// </summary>
    /// <returns>True when this call mounted it.</returns>
    public static bool EnsureShared(string directory)
    {
        var made = false;
        if (!IdMappedOverlay.IsMounted(directory))
        {
            using var clone = Clone(directory);
            Attach(clone, directory, beneath: false);
            made = true;
        }
        var attr = new Libc.MountAttr { Propagation = Libc.MS_SHARED };
        fixed (byte* path = Utf8(directory))
        {
            LinuxException.ThrowIfFailed(Libc.MountSetattr(Libc.AT_FDCWD, path, 0, &attr), "mount_setattr(MS_SHARED)", directory);
        }
        return made;
    }

    /// <summary>
    /// Makes the directory <paramref name="path"/> (0755) for a mount to go on, and its parents when
    /// missing; nothing when it is there. One mkdirat in the usual case (the parent exists): the
    /// five of a create with five bundles cost 0.75 ms through Directory.CreateDirectory, which
    /// looks at every parent first, and ~0.1 ms so.
    /// </summary>
    public static void MakeMountPoint(string path)
    {
        int result;
        fixed (byte* p = Utf8(path))
        {
            result = Libc.MkdirAt(Libc.AT_FDCWD, p, 0x1ed);
        }
        if (result == -1 && Marshal.GetLastPInvokeError() is var errno && errno != Errno.EEXIST)
        {
            if (errno != Errno.ENOENT)
            {
                throw new LinuxException("mkdir", errno, path);
            }
            Directory.CreateDirectory(path);
        }
    }

    /// <summary>Mounts <paramref name="source"/> read-only (nosuid, nodev) on the directory <paramref name="target"/>.</summary>
    public static void MountReadOnly(string source, string target)
    {
        using var clone = ReadOnlyClone(source);
        Attach(clone, target, beneath: false);
    }

    /// <summary>
    /// Replaces what is mounted on <paramref name="target"/> with a read-only mount of
    /// <paramref name="source"/> without a moment where the path is empty: the new mount is put
    /// beneath the one on top (move_mount MOVE_MOUNT_BENEATH, Linux 6.5), then the old one is
    /// detached (umount2 MNT_DETACH). Both steps propagate to the sandboxes' slave copies. A process
    /// that holds a file of the old mount open keeps reading it (a detached mount lives as long as
    /// something uses it); a path looked up after the first step resolves in the old mount, after the
    /// second in the new one.
    /// </summary>
    public static void Replace(string source, string target)
    {
        using (var clone = ReadOnlyClone(source))
        {
            Attach(clone, target, beneath: true);
        }
        Unmount(target);
    }

    /// <summary>Detaches the mount on top of <paramref name="target"/>, lazily; nothing when none is there.</summary>
    public static void Unmount(string target) => IdMappedOverlay.Unmount(target);

    /// <summary>Detaches every mount at or below <paramref name="directory"/>, deepest (and topmost) first.</summary>
    public static void UnmountAllUnder(string directory)
    {
        var prefix = directory.TrimEnd('/') + "/";
        while (MountPointsUnder(prefix).FirstOrDefault() is { } mountPoint)
        {
            if (Libc.Umount2(mountPoint, Libc.MNT_DETACH) == -1)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new LinuxException("umount2", errno, mountPoint);
            }
        }
    }

    /// <summary>Mount points below a prefix, the most recently mounted (highest in a stack) and deepest first.</summary>
    private static IEnumerable<string> MountPointsUnder(string prefix) =>
        File.ReadLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4)
            .Select((fields, order) => (Path: Unescape(fields[4]), Order: order))
            .Where(m => m.Path.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(m => m.Path.Count(c => c == '/')).ThenByDescending(m => m.Order)
            .Select(m => m.Path)
            .ToList();

    private static string Unescape(string field) => field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
        .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    /// <summary>Whether something is mounted on <paramref name="path"/>.</summary>
    public static bool IsMounted(string path) => IdMappedOverlay.IsMounted(path);

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Clone(string source)
    {
        fixed (byte* path = Utf8(source))
        {
            return new(LinuxException.ThrowIfFailed(Libc.OpenTree(Libc.AT_FDCWD, path, Libc.OPEN_TREE_CLONE | Libc.OPEN_TREE_CLOEXEC), "open_tree", source),
                ownsHandle: true);
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle ReadOnlyClone(string source)
    {
        var clone = Clone(source);
        // Private, so the clone is in no peer group of the source: a mount made later in a bundle's
        // tree (none is) could never travel along it.
        var attr = new Libc.MountAttr
        {
            AttrSet = Libc.MOUNT_ATTR_RDONLY | Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV,
            Propagation = Libc.MS_PRIVATE,
        };
        int result;
        fixed (byte* empty = "\0"u8)
        {
            result = Libc.MountSetattr((int)clone.DangerousGetHandle(), empty, (uint)Libc.AT_EMPTY_PATH, &attr);
        }
        if (result == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            clone.Dispose();
            throw new LinuxException("mount_setattr(MOUNT_ATTR_RDONLY)", errno, source);
        }
        return clone;
    }

    private static void Attach(Microsoft.Win32.SafeHandles.SafeFileHandle mount, string target, bool beneath)
    {
        fixed (byte* empty = "\0"u8)
        fixed (byte* to = Utf8(target))
        {
            LinuxException.ThrowIfFailed(Libc.MoveMount((int)mount.DangerousGetHandle(), empty, Libc.AT_FDCWD, to,
                Libc.MOVE_MOUNT_F_EMPTY_PATH | (beneath ? Libc.MOVE_MOUNT_BENEATH : 0)), beneath ? "move_mount(MOVE_MOUNT_BENEATH)" : "move_mount", target);
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text + "\0");
}
