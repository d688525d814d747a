using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>Whole-file advisory locks (flock(2)), held for as long as the descriptor stays open.</summary>
public static class FileLocks
{
    /// <summary>Opens (creating, mode <paramref name="mode"/>) a close-on-exec descriptor on the file, read-write.</summary>
    public static SafeFileHandle Open(string path, UnixFileMode mode) =>
        new(LinuxException.RetryOnEintr(() => Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, (int)mode), "open", path), ownsHandle: true);

    /// <summary>Takes an exclusive lock without waiting: false when another open file description holds one.</summary>
    public static bool TryLockExclusive(SafeFileHandle file)
    {
        var fd = (int)file.DangerousGetHandle();
        while (Libc.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN) // EWOULDBLOCK: held elsewhere
            {
                return false;
            }
            if (errno != Errno.EINTR)
            {
                throw new LinuxException("flock", errno);
            }
        }
        return true;
    }

    /// <summary>
    /// Lets go of the lock now. Closing the descriptor alone is not enough: a child this process is
    /// forking at that moment holds a copy of it until its exec closes it (close-on-exec), and the
    /// lock lives as long as any copy does; an unlock releases it for every copy at once.
    /// </summary>
    public static void Unlock(SafeFileHandle file)
    {
        var fd = (int)file.DangerousGetHandle();
        while (Libc.Flock(fd, Libc.LOCK_UN) == -1 && Marshal.GetLastPInvokeError() == Errno.EINTR)
        {
        }
    }
}
