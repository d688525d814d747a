using System.Buffers.Binary;
using System.Net;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>struct sockaddr_in and sockaddr_in6 as the kernel writes them: family in host order, port in network order.</summary>
internal static class SocketAddresses
{
    /// <summary>The endpoint in a sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes).</summary>
    /// <exception cref="IOException">Another family, or too few bytes for the family.</exception>
    public static IPEndPoint Parse(ReadOnlySpan<byte> sockaddr)
    {
        var family = sockaddr.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(sockaddr) : -1;
        if (family == Libc.AF_INET && sockaddr.Length >= 8)
        {
            return new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]));
        }
        if (family == Libc.AF_INET6 && sockaddr.Length >= 28)
        {
            var scope = BinaryPrimitives.ReadUInt32LittleEndian(sockaddr[24..]);
            return new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16), scope), BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]));
        }
        throw new IOException($"unexpected socket address: family {family}, {sockaddr.Length} bytes");
    }

    /// <summary>Writes the endpoint as a sockaddr_in or sockaddr_in6 into <paramref name="sockaddr"/> (28 bytes suffice) and returns its length.</summary>
    public static int Write(IPEndPoint endpoint, Span<byte> sockaddr)
    {
        var v6 = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var length = v6 ? 28 : 16;
        sockaddr[..length].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, (ushort)(v6 ? Libc.AF_INET6 : Libc.AF_INET));
        BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], (ushort)endpoint.Port);
        if (v6)
        {
            endpoint.Address.TryWriteBytes(sockaddr.Slice(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(sockaddr[24..], (uint)endpoint.Address.ScopeId);
        }
        else
        {
            endpoint.Address.TryWriteBytes(sockaddr.Slice(4, 4), out _);
        }
        return length;
    }
}
