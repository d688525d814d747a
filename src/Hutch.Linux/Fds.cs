using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>Raw descriptor I/O for pipes, where a blocking read on a dedicated thread is what we want.</summary>
public static unsafe class Fds
{
    /// <summary>A pipe whose both ends are close-on-exec (the child gets its end through dup2).</summary>
    public static (SafeFileHandle Read, SafeFileHandle Write) CreatePipe()
    {
        var fds = stackalloc int[2];
        LinuxException.ThrowIfFailed(Libc.Pipe2(fds, Libc.O_CLOEXEC), "pipe2");
        return (new SafeFileHandle(fds[0], ownsHandle: true), new SafeFileHandle(fds[1], ownsHandle: true));
    }

    /// <summary>Reads what is there (blocking until something is); 0 at end of file.</summary>
    public static int Read(SafeFileHandle fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var handle = (int)fd.DangerousGetHandle();
            var ptr = p;
            var length = buffer.Length;
            return LinuxException.RetryOnEintr(() => (int)Libc.Read(handle, ptr, length), "read");
        }
    }

    /// <summary>Writes all bytes; false when the reader has gone (EPIPE).</summary>
    public static bool WriteAll(SafeFileHandle fd, ReadOnlySpan<byte> data)
    {
        var handle = (int)fd.DangerousGetHandle();
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = (int)Libc.Write(handle, p + done, data.Length - done);
                if (n < 0)
                {
                    var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    if (errno == Errno.EPIPE)
                    {
                        return false;
                    }
                    throw new LinuxException("write", errno);
                }
                done += n;
            }
        }
        return true;
    }

    /// <summary>
    /// Waits until any of the fds is readable or hung up, or the timeout (ms, -1 = forever) passes.
    /// Returns a bit mask: bit i set when fds[i] is ready.
    /// </summary>
    public static int PollReadable(ReadOnlySpan<SafeFileHandle?> fds, int timeoutMs)
    {
        var count = fds.Length;
        var polls = stackalloc Libc.PollFd[count];
        for (var i = 0; i < count; i++)
        {
            polls[i] = new Libc.PollFd { Fd = fds[i] is { IsClosed: false } h ? (int)h.DangerousGetHandle() : -1, Events = Libc.POLLIN };
        }
        var rc = Libc.Poll(polls, (nuint)count, timeoutMs);
        if (rc < 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                return 0;
            }
            throw new LinuxException("poll", errno);
        }
        var mask = 0;
        for (var i = 0; i < count; i++)
        {
            if ((polls[i].Revents & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) != 0)
            {
                mask |= 1 << i;
            }
        }
        return mask;
    }

    /// <summary>
    /// A second descriptor for the same open file (F_DUPFD_CLOEXEC), to be owned and closed by another
    /// thread independently: a pty master is read by one thread and written by another.
    /// </summary>
    public static SafeFileHandle Duplicate(SafeFileHandle fd) =>
        new(LinuxException.ThrowIfFailed(Libc.Fcntl((int)fd.DangerousGetHandle(), Libc.F_DUPFD_CLOEXEC, 3), "fcntl(F_DUPFD_CLOEXEC)"), ownsHandle: true);

    /// <summary>
    /// An anonymous file in memory (memfd_create(2), close-on-exec), charged to the caller's memory
    /// cgroup and gone with its last descriptor: content a child reads by descriptor, never by a path.
    /// </summary>
    public static SafeFileHandle CreateMemoryFile(string name) =>
        new(LinuxException.ThrowIfFailed(Libc.MemfdCreate(name, Libc.MFD_CLOEXEC), "memfd_create"), ownsHandle: true);

    /// <summary>Marks an inherited descriptor close-on-exec so commands we start never see it.</summary>
    public static void SetCloseOnExec(int fd)
    {
        var flags = LinuxException.ThrowIfFailed(Libc.Fcntl(fd, Libc.F_GETFD, 0), "fcntl(F_GETFD)");
        LinuxException.ThrowIfFailed(Libc.Fcntl(fd, Libc.F_SETFD, flags | Libc.FD_CLOEXEC), "fcntl(F_SETFD)");
    }
}
