using System.Net;
using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// A blocking TCP client connection without System.Net.Sockets, read with <see cref="Fds.Read"/> and
/// written with <see cref="UnixSockets.SendAll"/>. For `hutch exec`'s one request: creating the first
/// Socket runs the socket engine's static constructor, which starts its epoll thread, and a thread's
/// start is paid in full by a process that lives ~5 ms.
/// </summary>
public static unsafe class TcpSockets
{
    /// <summary>errno values of a connect that did not get through.</summary>
    public const int ECONNREFUSED = 111, EHOSTUNREACH = 113, ENETUNREACH = 101, ETIMEDOUT = 110;

    private const int EINPROGRESS = 115;

    /// <summary>
    /// Connects within <paramref name="timeout"/> (Linux bounds a blocking connect by SO_SNDTIMEO, and
    /// fails it with EINPROGRESS, reported here as ETIMEDOUT), with TCP_NODELAY set.
    /// </summary>
    /// <exception cref="LinuxException">The connect failed: its errno (ECONNREFUSED, ETIMEDOUT, …).</exception>
    public static SafeFileHandle Connect(IPEndPoint endpoint, TimeSpan timeout)
    {
        var family = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? Libc.AF_INET6 : Libc.AF_INET;
        var socket = new SafeFileHandle(LinuxException.ThrowIfFailed(Libc.Socket(family, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket"), ownsHandle: true);
        try
        {
            var fd = (int)socket.DangerousGetHandle();
            var one = 1;
            LinuxException.ThrowIfFailed(Libc.SetSockOpt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, &one, sizeof(int)), "setsockopt(TCP_NODELAY)");
            SetSendTimeout(fd, timeout);
            var address = stackalloc byte[28];
            var length = SocketAddresses.Write(endpoint, new Span<byte>(address, 28));
            if (Libc.Connect(fd, address, length) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // A signal's handler interrupted it: the connect goes on in the kernel, so wait for its outcome.
                errno = errno == Errno.EINTR ? Outcome(fd, timeout) : errno;
                if (errno != 0)
                {
                    throw new LinuxException("connect", errno == EINPROGRESS ? ETIMEDOUT : errno, endpoint.ToString());
                }
            }
            SetSendTimeout(fd, TimeSpan.Zero); // Sends then wait as long as the peer takes to read.
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void SetSendTimeout(int fd, TimeSpan timeout)
    {
        var value = new Libc.TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Microseconds + timeout.Milliseconds * 1000L };
        LinuxException.ThrowIfFailed(Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, &value, (uint)sizeof(Libc.TimeVal)), "setsockopt(SO_SNDTIMEO)");
    }

    /// <summary>Waits for a connect in progress to end and returns its errno (0: connected).</summary>
    private static int Outcome(int fd, TimeSpan timeout)
    {
        var poll = new Libc.PollFd { Fd = fd, Events = Libc.POLLOUT };
        var rc = Libc.Poll(&poll, 1, (int)timeout.TotalMilliseconds);
        if (rc <= 0)
        {
            return rc == 0 ? ETIMEDOUT : Marshal.GetLastPInvokeError();
        }
        int error = 0;
        var size = (uint)sizeof(int);
        LinuxException.ThrowIfFailed(Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, &error, &size), "getsockopt(SO_ERROR)");
        return error;
    }
}
