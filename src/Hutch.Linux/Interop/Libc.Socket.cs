using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Unix stream sockets without System.Net.Sockets: socket(2), bind(2), listen(2) for the daemon's
// listener (see UnixListener), and accept4(2), send(2), shutdown(2), getsockopt(2) for the agent's
// serving side: the Socket class, with the thread pool and epoll engine behind it, adds ~200 KB to
// a NativeAOT binary that every sandbox maps (see UnixSockets).
internal static unsafe partial class Libc
{
    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int SunPathSize = 108;

    [LibraryImport(Name, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Name, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, byte* address, int length);

    [LibraryImport(Name, EntryPoint = "listen", SetLastError = true)]
    internal static partial int Listen(int fd, int backlog);

    internal const int SOL_SOCKET = 1;
    internal const int SO_TYPE = 3;
    internal const int SO_PEERCRED = 17;
    internal const int SO_ACCEPTCONN = 30;
    internal const int SO_DOMAIN = 39;
    internal const int MSG_NOSIGNAL = 0x4000;
    internal const int SHUT_RDWR = 2;

    // Inet sockets, read by NetworkNamespace.OriginalDestination: SO_ORIGINAL_DST (linux/netfilter_ipv4.h)
    // and IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h) are both 80, at their own levels.
    internal const int AF_INET6 = 10;
    internal const int SOL_IP = 0;
    internal const int SOL_IPV6 = 41;
    internal const int SO_ORIGINAL_DST = 80;

    // rtnetlink (netlink(7), rtnetlink(7)): adding and listing addresses and routes, see RouteNetlink.
    internal const int AF_NETLINK = 16;
    internal const int SOCK_RAW = 3;
    internal const int NETLINK_ROUTE = 0;

    [StructLayout(LayoutKind.Sequential)]
    internal struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    // TCP clients (see TcpSockets; AF_INET is with the namespace calls): connect(2) within SO_SNDTIMEO, TCP_NODELAY (tcp(7)), SO_ERROR.
    internal const int IPPROTO_TCP = 6;
    internal const int TCP_NODELAY = 1;
    internal const int SO_ERROR = 4;
    internal const int SO_SNDTIMEO = 21;
    internal const short POLLOUT = 0x004;

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport(Name, EntryPoint = "connect", SetLastError = true)]
    internal static partial int Connect(int fd, byte* address, int length);

    [LibraryImport(Name, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Name, EntryPoint = "accept4", SetLastError = true)]
    internal static partial int Accept4(int fd, void* address, uint* length, int flags);

    [LibraryImport(Name, EntryPoint = "send", SetLastError = true)]
    internal static partial nint Send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(Name, EntryPoint = "shutdown", SetLastError = true)]
    internal static partial int Shutdown(int fd, int how);

    [LibraryImport(Name, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);
}
