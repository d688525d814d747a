using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>Who is at the other end of a Unix socket (SO_PEERCRED), as the caller's namespaces see it.</summary>
/// <param name="Pid">0 when the peer's process is not visible in the caller's PID namespace.</param>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid);

/// <summary>
/// The serving side of blocking Unix stream sockets on plain descriptors, for the NativeAOT agent
/// (listen with <see cref="UnixListener"/>): a dedicated thread per connection reads with
/// <see cref="Fds.Read"/> and writes with <see cref="SendAll"/>. Code that can afford it should
/// use System.Net.Sockets instead.
/// </summary>
public static unsafe class UnixSockets
{
    private const int ECONNABORTED = 103;
    private const int ECONNRESET = 104;

    /// <summary>True when <paramref name="fd"/> is a listening Unix stream socket.</summary>
    public static bool IsListeningUnixStream(int fd) =>
        GetIntOption(fd, Libc.SO_DOMAIN) == Libc.AF_UNIX &&
        GetIntOption(fd, Libc.SO_TYPE) == Libc.SOCK_STREAM &&
        GetIntOption(fd, Libc.SO_ACCEPTCONN) == 1;

    /// <summary>Blocks until a peer connects; the new descriptor is close-on-exec.</summary>
    public static SafeFileHandle Accept(SafeFileHandle listener)
    {
        var fd = (int)listener.DangerousGetHandle();
        while (true)
        {
            var client = Libc.Accept4(fd, null, null, Libc.SOCK_CLOEXEC);
            if (client >= 0)
            {
                return new SafeFileHandle(client, ownsHandle: true);
            }
            var errno = Marshal.GetLastPInvokeError();
            // accept(2): a connection that was reset before we took it is not our failure.
            if (errno is Errno.EINTR or ECONNABORTED)
            {
                continue;
            }
            throw new LinuxException("accept4", errno);
        }
    }

    /// <summary>The peer's pid, uid and gid (socket(7), SO_PEERCRED).</summary>
    public static PeerCredentials GetPeerCredentials(SafeFileHandle socket)
    {
        Libc.UCred cred;
        var length = (uint)sizeof(Libc.UCred);
        LinuxException.ThrowIfFailed(Libc.GetSockOpt((int)socket.DangerousGetHandle(), Libc.SOL_SOCKET, Libc.SO_PEERCRED, &cred, &length), "getsockopt(SO_PEERCRED)");
        return new PeerCredentials(cred.Pid, cred.Uid, cred.Gid);
    }

    /// <summary>Sends every byte (MSG_NOSIGNAL: a gone peer is EPIPE, never SIGPIPE); false when the peer has gone.</summary>
    public static bool SendAll(SafeFileHandle socket, ReadOnlySpan<byte> data)
    {
        var fd = (int)socket.DangerousGetHandle();
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = (int)Libc.Send(fd, p + done, data.Length - done, Libc.MSG_NOSIGNAL);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    if (errno is Errno.EPIPE or ECONNRESET)
                    {
                        return false;
                    }
                    throw new LinuxException("send", errno);
                }
                done += n;
            }
        }
        return true;
    }

    /// <summary>shutdown(SHUT_RDWR): wakes a thread blocked reading the socket (it reads end of file).</summary>
    public static void Shutdown(SafeFileHandle socket) => Libc.Shutdown((int)socket.DangerousGetHandle(), Libc.SHUT_RDWR);

    private static int GetIntOption(int fd, int name)
    {
        int value;
        var length = (uint)sizeof(int);
        return Libc.GetSockOpt(fd, Libc.SOL_SOCKET, name, &value, &length) == 0 ? value : -1;
    }
}
