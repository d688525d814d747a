using System.Runtime.InteropServices;
using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>Why a path was refused by <see cref="Beneath"/>.</summary>
public enum ContainmentViolation
{
    /// <summary>The path (through "..", an absolute path or a symlink's target) leads outside the root (EXDEV).</summary>
    Escapes,
    /// <summary>A symlink is on the way where none is allowed, or a /proc magic link (ELOOP).</summary>
    Symlink,
}

/// <summary>A path refused because following it would leave the root it must stay in.</summary>
public sealed class ContainmentException(string path, ContainmentViolation violation)
    : IOException(violation == ContainmentViolation.Escapes
        ? $"'{path}' resolves outside the directory it must stay in"
        : $"'{path}' goes through a symbolic link, which is not allowed here")
{
    public string Path { get; } = path;
    public ContainmentViolation Violation { get; } = violation;
}

/// <summary>
/// Opens paths beneath a root directory with the kernel enforcing containment (openat2(2),
/// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): every component, ".." and symlink target included, is
/// resolved by the kernel at open time, so a process that swaps a directory for a symlink between a
/// check and a use still cannot make the caller open a file outside the root. Written by hand
/// because no .NET API exposes openat2 (security invariant 4).
/// </summary>
public static unsafe class Beneath
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200;
    public const int O_NOFOLLOW = 0x20000, O_DIRECTORY = 0x10000, O_PATH = 0x200000;
    public const int O_NONBLOCK = 0x800, O_NOCTTY = 0x100, O_APPEND = 0x400;
    private const int EXDEV = 18, ELOOP = 40;

    /// <summary>Opens a directory to resolve beneath (O_PATH: no read rights needed, nothing readable through it).</summary>
    public static SafeFileHandle OpenRoot(string directory) =>
        Open(null, directory, O_PATH | O_DIRECTORY, 0, resolve: 0, shown: directory);

    /// <summary>
    /// Opens <paramref name="relativePath"/> beneath <paramref name="root"/>. With
    /// <paramref name="noSymlinks"/>, any symlink on the way is refused too (for writes, which must
    /// never pass through a symlinked parent).
    /// </summary>
    /// <exception cref="ContainmentException">The path leaves the root, or meets a symlink where none is allowed.</exception>
    /// <exception cref="LinuxException">Any other failure (ENOENT, EACCES, …).</exception>
    public static SafeFileHandle Open(SafeFileHandle root, string relativePath, int flags, int mode = 0, bool noSymlinks = false) =>
        Open(root, relativePath.Length == 0 ? "." : relativePath, flags, mode,
            Libc.RESOLVE_BENEATH | Libc.RESOLVE_NO_MAGICLINKS | (noSymlinks ? Libc.RESOLVE_NO_SYMLINKS : 0), relativePath);

    private static SafeFileHandle Open(SafeFileHandle? root, string path, int flags, int mode, ulong resolve, string shown)
    {
        if (path.Contains('\0'))
        {
            throw new ArgumentException("a path cannot contain NUL", nameof(path));
        }
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var how = new Libc.OpenHow { Flags = (ulong)(flags | Libc.O_CLOEXEC), Mode = (ulong)mode, Resolve = resolve };
        var added = false;
        root?.DangerousAddRef(ref added);
        try
        {
            var dirfd = root is null ? Libc.AT_FDCWD : (int)root.DangerousGetHandle();
            for (var attempt = 0; ; attempt++)
            {
                int fd;
                fixed (byte* p = bytes)
                {
                    fd = Libc.Openat2(dirfd, p, &how);
                }
                if (fd >= 0)
                {
                    return new SafeFileHandle(fd, ownsHandle: true);
                }
                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    // EAGAIN: a rename raced a ".." lookup and the kernel could not prove containment;
                    // retry, but a bounded number of times, so a sandbox renaming in a loop cannot spin us.
                    case Errno.EINTR:
                    case Errno.EAGAIN when attempt < 1000:
                        continue;
                    case EXDEV:
                        throw new ContainmentException(shown, ContainmentViolation.Escapes);
                    case ELOOP when resolve != 0:
                        throw new ContainmentException(shown, ContainmentViolation.Symlink);
                    default:
                        throw new LinuxException("openat2", errno, shown);
                }
            }
        }
        finally
        {
            if (added)
            {
                root!.DangerousRelease();
            }
        }
    }
}
