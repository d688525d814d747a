using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux.Netlink;

/// <summary>An address on an interface, as RTM_GETADDR lists it.</summary>
public readonly record struct InterfaceAddress(int InterfaceIndex, IPAddress Address, int PrefixLength);

/// <summary>A route of the main table, as RTM_GETROUTE lists it (only the fields Hutch checks).</summary>
public readonly record struct RouteEntry(int DestinationLength, int? OutputInterface, IPAddress? PreferredSource, int Type);

/// <summary>
/// rtnetlink (rtnetlink(7)) in the network namespace of the thread that opened it: a socket belongs
/// to the namespace it was created in, so open it inside <see cref="NetworkNamespace.RunInAsync"/>
/// to change a sandbox's addresses and routes. Requests are the ones `ip addr add` and `ip route add`
/// send, built by hand: two fixed messages do not justify a process per sandbox start (an `ip` run
/// costs 2-8 ms, these calls tens of microseconds). Messages are in host byte order, as netlink wants.
/// </summary>
public sealed class RouteNetlink : IDisposable
{
    private const ushort RTM_NEWADDR = 20, RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_GETROUTE = 26;
    private const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    private const ushort NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_DUMP = 0x300, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2;
    private const byte IFA_F_NODAD = 0x02; // no duplicate address detection: usable (not "tentative") at once, as a route's src must be
    private const ushort RTA_OIF = 4, RTA_PREFSRC = 7, RTA_TABLE = 15;
    private const byte RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253;

    /// <summary>RTN_UNICAST: an ordinary route (not unreachable, blackhole, local…).</summary>
    public const int RouteTypeUnicast = 1;

    private readonly SafeFileHandle _fd;
    private readonly byte[] _receive = new byte[64 * 1024];
    private uint _sequence;

    private RouteNetlink(SafeFileHandle fd) => _fd = fd;

    /// <summary>A NETLINK_ROUTE socket in the calling thread's network namespace.</summary>
    public static RouteNetlink Open() =>
        new(new SafeFileHandle(LinuxException.ThrowIfFailed(
            Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE), "socket(AF_NETLINK, NETLINK_ROUTE)"), ownsHandle: true));

    /// <summary>
    /// `ip addr add ADDRESS/PREFIX dev INDEX nodad` (scope global). False when the interface already
    /// has that address (EEXIST), so a second call is harmless.
    /// </summary>
    public bool AddAddress(int interfaceIndex, IPAddress address, int prefixLength)
    {
        var message = new MessageBuilder(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ++_sequence);
        message.Bytes([Family(address), (byte)prefixLength, IFA_F_NODAD, RT_SCOPE_UNIVERSE]);
        message.UInt32((uint)interfaceIndex);
        message.Attribute(IFA_LOCAL, address.GetAddressBytes());
        message.Attribute(IFA_ADDRESS, address.GetAddressBytes());
        return Acknowledged(message.Finish(), $"RTM_NEWADDR {address}/{prefixLength} dev {interfaceIndex}");
    }

    /// <summary>
    /// `ip route add default dev INDEX src SOURCE` in the main table (scope link for IPv4, universe for
    /// IPv6, as ip chooses for a route without gateway). False when a default route is already there (EEXIST).
    /// </summary>
    public bool AddDefaultRoute(int interfaceIndex, IPAddress source)
    {
        var family = Family(source);
        var message = new MessageBuilder(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ++_sequence);
        var scope = family == Libc.AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        // struct rtmsg: family, dst_len 0 (default), src_len, tos, table, protocol, scope, type; flags.
        message.Bytes([family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, RouteTypeUnicast]);
        message.UInt32(0);
        message.Attribute(RTA_OIF, BitConverter.GetBytes((uint)interfaceIndex));
        message.Attribute(RTA_PREFSRC, source.GetAddressBytes());
        return Acknowledged(message.Finish(), $"RTM_NEWROUTE default dev {interfaceIndex} src {source}");
    }

    /// <summary>Every address of the family on every interface (RTM_GETADDR dump).</summary>
    public IReadOnlyList<InterfaceAddress> ListAddresses(AddressFamily family)
    {
        var message = new MessageBuilder(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, ++_sequence);
        message.Bytes([Family(family), 0, 0, 0]);
        message.UInt32(0);
        var found = new List<InterfaceAddress>();
        Dump(message.Finish(), "RTM_GETADDR", (header, attributes) =>
        {
            // struct ifaddrmsg: family, prefixlen, flags, scope, index (u32).
            var index = (int)BitConverter.ToUInt32(header[4..8]);
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer's on point-to-point links.
            var bytes = attributes.TryGetValue(IFA_LOCAL, out var local) ? local : attributes.GetValueOrDefault(IFA_ADDRESS);
            if (bytes is not null && header[0] == Family(family))
            {
                found.Add(new InterfaceAddress(index, new IPAddress(bytes), header[1]));
            }
        }, headerLength: 8);
        return found;
    }

    /// <summary>Every route of the family in the main table (RTM_GETROUTE dump).</summary>
    public IReadOnlyList<RouteEntry> ListRoutes(AddressFamily family)
    {
        var message = new MessageBuilder(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, ++_sequence);
        message.Bytes([Family(family), 0, 0, 0, 0, 0, 0, 0]);
        message.UInt32(0);
        var found = new List<RouteEntry>();
        Dump(message.Finish(), "RTM_GETROUTE", (header, attributes) =>
        {
            var table = attributes.TryGetValue(RTA_TABLE, out var t) ? BitConverter.ToUInt32(t) : header[4];
            if (header[0] != Family(family) || table != RT_TABLE_MAIN)
            {
                return;
            }
            int? oif = attributes.TryGetValue(RTA_OIF, out var o) ? (int)BitConverter.ToUInt32(o) : null;
            var source = attributes.TryGetValue(RTA_PREFSRC, out var s) ? new IPAddress(s) : null;
            found.Add(new RouteEntry(header[1], oif, source, header[7]));
        }, headerLength: 12);
        return found;
    }

    public void Dispose() => _fd.Dispose();

    private static byte Family(IPAddress address) => Family(address.AddressFamily);

    private static byte Family(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Libc.AF_INET,
        AddressFamily.InterNetworkV6 => Libc.AF_INET6,
        _ => throw new ArgumentException($"not an IP family: {family}", nameof(family)),
    };

    /// <summary>Sends a request with NLM_F_ACK; true on success, false on EEXIST, throws on any other error.</summary>
    private bool Acknowledged(byte[] request, string what)
    {
        Send(request);
        var sequence = _sequence;
        while (true)
        {
            var received = Receive();
            for (var at = 0; at + 16 <= received.Length;)
            {
                var (length, type, seq) = Header(received[at..]);
                if (type == NLMSG_ERROR && seq == sequence)
                {
                    var error = -BitConverter.ToInt32(received.Slice(at + 16, 4));
                    return error switch
                    {
                        0 => true,
                        Errno.EEXIST => false,
                        _ => throw new LinuxException(what, error),
                    };
                }
                at += Align(length);
            }
        }
    }

    /// <summary>Sends a dump request and hands each answer's fixed header and attributes to <paramref name="each"/>.</summary>
    private void Dump(byte[] request, string what, Action<ReadOnlySpan<byte>, Dictionary<ushort, byte[]>> each, int headerLength)
    {
        Send(request);
        var sequence = _sequence;
        while (true)
        {
            var received = Receive();
            for (var at = 0; at + 16 <= received.Length;)
            {
                var (length, type, seq) = Header(received[at..]);
                var body = received.Slice(at + 16, (int)length - 16);
                at += Align(length);
                if (seq != sequence)
                {
                    continue;
                }
                if (type == NLMSG_DONE)
                {
                    return;
                }
                if (type == NLMSG_ERROR)
                {
                    throw new LinuxException(what, -BitConverter.ToInt32(body[..4]));
                }
                var attributes = new Dictionary<ushort, byte[]>();
                for (var a = headerLength; a + 4 <= body.Length;)
                {
                    var attributeLength = BitConverter.ToUInt16(body[a..]);
                    if (attributeLength < 4 || a + attributeLength > body.Length)
                    {
                        break;
                    }
                    attributes[(ushort)(BitConverter.ToUInt16(body[(a + 2)..]) & 0x3fff)] = body.Slice(a + 4, attributeLength - 4).ToArray();
                    a += Align(attributeLength);
                }
                each(body[..headerLength], attributes);
            }
        }
    }

    private static (uint Length, ushort Type, uint Sequence) Header(ReadOnlySpan<byte> at)
    {
        var length = BitConverter.ToUInt32(at);
        if (length < 16 || length > at.Length)
        {
            throw new IOException($"malformed rtnetlink message ({length} bytes of {at.Length})");
        }
        return (length, BitConverter.ToUInt16(at[4..]), BitConverter.ToUInt32(at[8..]));
    }

    private static int Align(uint length) => (int)((length + 3) & ~3u);

    private unsafe void Send(byte[] request)
    {
        fixed (byte* p = request)
        {
            // With no address given, netlink sends to the kernel (port 0); the socket binds itself on first use.
            while (Libc.Write((int)_fd.DangerousGetHandle(), p, request.Length) < 0)
            {
                ThrowUnlessEintr("send(NETLINK_ROUTE)");
            }
        }
    }

    private unsafe ReadOnlySpan<byte> Receive()
    {
        fixed (byte* p = _receive)
        {
            while (true)
            {
                var n = Libc.Read((int)_fd.DangerousGetHandle(), p, _receive.Length);
                if (n >= 0)
                {
                    return _receive.AsSpan(0, (int)n);
                }
                ThrowUnlessEintr("recv(NETLINK_ROUTE)");
            }
        }
    }

    private static void ThrowUnlessEintr(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        if (errno != Errno.EINTR)
        {
            throw new LinuxException(call, errno);
        }
    }

    /// <summary>One netlink message: nlmsghdr (length filled in by <see cref="Finish"/>), a fixed header, attributes.</summary>
    private sealed class MessageBuilder
    {
        private readonly List<byte> _bytes = new(64);

        public MessageBuilder(ushort type, int flags, uint sequence)
        {
            UInt32(0); // nlmsg_len
            _bytes.AddRange(BitConverter.GetBytes(type));
            _bytes.AddRange(BitConverter.GetBytes((ushort)flags));
            UInt32(sequence);
            UInt32(0); // nlmsg_pid: 0 = let the kernel fill in our port
        }

        public void Bytes(ReadOnlySpan<byte> value) => _bytes.AddRange(value);

        public void UInt32(uint value) => _bytes.AddRange(BitConverter.GetBytes(value));

        public void Attribute(ushort type, byte[] payload)
        {
            _bytes.AddRange(BitConverter.GetBytes((ushort)(4 + payload.Length)));
            _bytes.AddRange(BitConverter.GetBytes(type));
            _bytes.AddRange(payload);
            while (_bytes.Count % 4 != 0)
            {
                _bytes.Add(0);
            }
        }

        public byte[] Finish()
        {
            var message = _bytes.ToArray();
            BitConverter.TryWriteBytes(message, (uint)message.Length);
            return message;
        }
    }
}
