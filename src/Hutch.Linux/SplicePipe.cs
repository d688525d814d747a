using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>
/// A kernel pipe that moves bytes from one socket to another without copying them through user
/// space (splice(2)): socket → pipe → socket, the pages handed on by reference. Both ends are
/// non-blocking, as the sockets are: a call that would wait says so (-1) and the caller waits with
/// the socket's own async operations. Not thread-safe; one per direction of a connection.
/// </summary>
public sealed unsafe class SplicePipe : IDisposable
{
    /// <summary>The pipe's capacity: what one fill moves at most (pipe-max-size allows 1 MiB by default).</summary>
    public const int Capacity = 1 << 20;

    private readonly int _read;
    private readonly int _write;

    public SplicePipe()
    {
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0)
        {
            throw new LinuxException("pipe2", Marshal.GetLastPInvokeError());
        }
        (_read, _write) = (fds[0], fds[1]);
        // The default 64 KiB would mean a system call pair per 64 KiB; a smaller pipe still works.
        _ = Libc.Fcntl(_write, Libc.F_SETPIPE_SZ, Capacity);
    }

    /// <summary>Bytes in the pipe now, moved in and not yet out.</summary>
    public int Held { get; private set; }

    /// <summary>Moves what <paramref name="from"/> has now into the pipe.</summary>
    /// <returns>Bytes moved; 0 at the end of the stream; -1 when nothing is there yet.</returns>
    public long FillFrom(Socket from) => Move(from, filling: true);

    /// <summary>Moves what the pipe holds into <paramref name="to"/>, as much as it takes now.</summary>
    /// <returns>Bytes moved; -1 when <paramref name="to"/> has no room now.</returns>
    public long DrainTo(Socket to) => Move(to, filling: false);

    /// <summary>Takes bytes out of the pipe into <paramref name="buffer"/> (for a send that must wait for room).</summary>
    public int ReadInto(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var n = Libc.Read(_read, p, Math.Min(buffer.Length, Held));
            if (n < 0)
            {
                throw new LinuxException("read", Marshal.GetLastPInvokeError(), "pipe");
            }
            Held -= (int)n;
            return (int)n;
        }
    }

    /// <param name="filling">Socket → pipe (as much as the pipe has room for); else pipe → socket (what it holds).</param>
    private long Move(Socket socket, bool filling)
    {
        // The socket's descriptor must stay this socket's while the kernel uses it.
        var added = false;
        socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                var fd = (int)socket.Handle;
                var n = filling
                    ? Libc.Splice(fd, null, _write, null, (nuint)(Capacity - Held), Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK)
                    : Libc.Splice(_read, null, fd, null, (nuint)Held, Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK);
                if (n >= 0)
                {
                    Held += filling ? (int)n : -(int)n;
                    return n;
                }
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                {
                    continue;
                }
                if (errno == Errno.EAGAIN)
                {
                    return -1;
                }
                throw new SocketException((int)(errno is Errno.ECONNRESET or Errno.EPIPE ? SocketError.ConnectionReset : SocketError.SocketError));
            }
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        Libc.Close(_read);
        Libc.Close(_write);
    }
}
