using System.Runtime.InteropServices;
using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// Mounts a sandbox's writable root: an overlay whose read-only layers are shared by every sandbox
/// of a template and shown to this one through an idmapped mount (mount_setattr(2) MOUNT_ATTR_IDMAP),
/// so a layer's root-owned files are the sandbox's own root's (its uid 0 is a host uid of its range),
/// while its upper layer, on the sandbox's quota, takes every change. Without the idmap a shared
/// layer's files would be owned by an id the sandbox does not map: read-only to even its root.
/// Built with the new mount API: the layers go to overlayfs as descriptors ("lowerdir+", Linux 6.8),
/// never attached anywhere a path could reach them.
/// </summary>
public static unsafe class IdMappedOverlay
{
    /// <param name="lowersTopFirst">Layer directories, the uppermost first (overlayfs' lowerdir order).</param>
    /// <param name="upper">The sandbox's upper directory (its changes); <paramref name="work"/> on the same file system.</param>
    /// <param name="target">An existing directory to mount the merged root on.</param>
    /// <param name="userNamespace">A user namespace whose id map is the sandbox's (<see cref="UserNamespaces.Create"/>).</param>
    /// <exception cref="LinuxException">A call failed; for the overlay's own refusal, the kernel's message is in it.</exception>
    public static void Mount(IReadOnlyList<string> lowersTopFirst, string upper, string work, string target, SafeFileHandle userNamespace)
    {
        ArgumentOutOfRangeException.ThrowIfZero(lowersTopFirst.Count);
        using var context = Configured([], lowersTopFirst, userNamespace, target, (upper, work));
        using var mount = Handle(Libc.Fsmount((int)context.DangerousGetHandle(), Libc.FSMOUNT_CLOEXEC,
            Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV), "fsmount", target);
        fixed (byte* empty = "\0"u8)
        fixed (byte* to = Utf8(target))
        {
            LinuxException.ThrowIfFailed(Libc.MoveMount((int)mount.DangerousGetHandle(), empty, Libc.AT_FDCWD, to, Libc.MOVE_MOUNT_F_EMPTY_PATH), "move_mount", target);
        }
    }

    /// <summary>
    /// A read-only overlay of layers only, never attached anywhere: the returned descriptor is the
    /// root directory of a detached mount, which dissolves when it is closed. Used to see a root as
    /// it was (a saved upper layer over the template's layers) without mounting it on a path.
    /// </summary>
    /// <param name="plainTopFirst">Directories used as they are (their owners already the sandbox's host ids), above the others.</param>
    /// <param name="idMappedTopFirst">Layer directories shown through the idmap, as in <see cref="Mount"/>.</param>
    /// <param name="userNamespace">The sandbox's id map (<see cref="UserNamespaces.Create"/>).</param>
    /// <param name="subject">Named in errors.</param>
    public static SafeFileHandle OpenView(IReadOnlyList<string> plainTopFirst, IReadOnlyList<string> idMappedTopFirst, SafeFileHandle userNamespace, string subject)
    {
        // overlayfs wants two lower layers at least when it has no upper one.
        ArgumentOutOfRangeException.ThrowIfLessThan(plainTopFirst.Count + idMappedTopFirst.Count, 2);
        using var context = Configured(plainTopFirst, idMappedTopFirst, userNamespace, subject, upperAndWork: null);
        return Handle(Libc.Fsmount((int)context.DangerousGetHandle(), Libc.FSMOUNT_CLOEXEC,
            Libc.MOUNT_ATTR_RDONLY | Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV | Libc.MOUNT_ATTR_NOEXEC), "fsmount", subject);
    }

    /// <summary>An overlay file system context with its layers set and created, ready for fsmount.</summary>
    private static SafeFileHandle Configured(IReadOnlyList<string> plainTopFirst, IReadOnlyList<string> idMappedTopFirst, SafeFileHandle userNamespace,
        string subject, (string Upper, string Work)? upperAndWork)
    {
        SafeFileHandle context;
        fixed (byte* name = "overlay\0"u8)
        {
            context = Handle(Libc.Fsopen(name, Libc.FSOPEN_CLOEXEC), "fsopen", "overlay");
        }
        // Every layer's detached mount stays open until the overlay is made: closing the last
        // descriptor of a detached mount dissolves it, and overlayfs clones each layer at create.
        var layers = new List<SafeFileHandle>();
        try
        {
            foreach (var lower in plainTopFirst)
            {
                Configure(context, Libc.FSCONFIG_SET_STRING, "lowerdir+", lower, 0, lower);
            }
            foreach (var lower in idMappedTopFirst)
            {
                var layer = IdMappedTree(lower, userNamespace);
                layers.Add(layer);
                Configure(context, Libc.FSCONFIG_SET_FD, "lowerdir+", null, (int)layer.DangerousGetHandle(), lower);
            }
            if (upperAndWork is var (upper, work))
            {
                Configure(context, Libc.FSCONFIG_SET_STRING, "upperdir", upper, 0, upper);
                Configure(context, Libc.FSCONFIG_SET_STRING, "workdir", work, 0, work);
            }
            // No metacopy or redirects, whatever the module's defaults: copy-up copies data and a
            // renamed lower directory is copied, so an upper layer is whole on its own and a build
            // step's upper directory can become a layer (LayerStore.AddDirectoryAsync refuses
            // trusted.overlay.redirect and metacopy xattrs), and a checkpoint's copy of one can be
            // a lower layer again.
            Configure(context, Libc.FSCONFIG_SET_STRING, "redirect_dir", "off", 0, subject);
            Configure(context, Libc.FSCONFIG_SET_STRING, "metacopy", "off", 0, subject);
            Configure(context, Libc.FSCONFIG_CMD_CREATE, null, null, 0, subject);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
        finally
        {
            layers.ForEach(layer => layer.Dispose());
        }
    }

    /// <summary>Detaches the root mounted at <paramref name="target"/> (lazily: a sandbox's own mount namespace keeps its copy until it ends); nothing when none is.</summary>
    public static void Unmount(string target)
    {
        if (Libc.Umount2(target, Libc.MNT_DETACH) == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (Errno.EINVAL or Errno.ENOENT))
            {
                throw new LinuxException("umount2", errno, target);
            }
        }
    }

    /// <summary>Whether something is mounted at <paramref name="path"/> (its mount id differs from its parent's).</summary>
    public static bool IsMounted(string path) =>
        File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ') is { Length: > 4 } fields && Unescape(fields[4]) == path);

    private static string Unescape(string field) => field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
        .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);

    /// <summary>A detached, read-only, idmapped copy of the mount at <paramref name="directory"/>.</summary>
    private static SafeFileHandle IdMappedTree(string directory, SafeFileHandle userNamespace)
    {
        SafeFileHandle tree;
        fixed (byte* path = Utf8(directory))
        {
            tree = Handle(Libc.OpenTree(Libc.AT_FDCWD, path, Libc.OPEN_TREE_CLONE | Libc.OPEN_TREE_CLOEXEC), "open_tree", directory);
        }
        var attr = new Libc.MountAttr
        {
            AttrSet = Libc.MOUNT_ATTR_IDMAP | Libc.MOUNT_ATTR_RDONLY | Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV,
            UsernsFd = (ulong)userNamespace.DangerousGetHandle(),
        };
        int result;
        fixed (byte* empty = "\0"u8)
        {
            result = Libc.MountSetattr((int)tree.DangerousGetHandle(), empty, (uint)Libc.AT_EMPTY_PATH, &attr);
        }
        if (result == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            tree.Dispose();
            throw new LinuxException("mount_setattr(MOUNT_ATTR_IDMAP)", errno, directory);
        }
        return tree;
    }

    private static void Configure(SafeFileHandle context, uint command, string? key, string? value, int aux, string subject)
    {
        var keyBytes = key is null ? null : Utf8(key);
        var valueBytes = value is null ? null : Utf8(value);
        fixed (byte* k = keyBytes)
        fixed (byte* v = valueBytes)
        {
            if (Libc.Fsconfig((int)context.DangerousGetHandle(), command, k, v, aux) == -1)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new LinuxException($"fsconfig({key ?? "create"}){KernelMessage(context)}", errno, subject);
            }
        }
    }

    /// <summary>What the file system said about a refused configuration (read from the context, fsopen(2)).</summary>
    private static string KernelMessage(SafeFileHandle context)
    {
        var buffer = new byte[1024];
        var messages = new List<string>();
        while (true)
        {
            int read;
            fixed (byte* b = buffer)
            {
                read = (int)Libc.Read((int)context.DangerousGetHandle(), b, buffer.Length);
            }
            if (read <= 0)
            {
                break;
            }
            messages.Add(Encoding.UTF8.GetString(buffer, 0, read).TrimEnd('\0', '\n'));
        }
        return messages.Count == 0 ? "" : $" [{string.Join("; ", messages)}]";
    }

    private static SafeFileHandle Handle(int fd, string call, string subject) =>
        new(LinuxException.ThrowIfFailed(fd, call, subject), ownsHandle: true);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text + "\0");
}
