using System.Buffers.Binary;
using System.Text;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>Builds DNS queries byte by byte, as a stub resolver sends them (glibc with <c>options edns0</c> adds the OPT record).</summary>
internal static class DnsWire
{
    public static byte[] Question(string name, ushort type, ushort @class = 1)
    {
        var bytes = new List<byte>();
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }
        bytes.Add(0);
        bytes.AddRange([(byte)(type >> 8), (byte)type, (byte)(@class >> 8), (byte)@class]);
        return [.. bytes];
    }

    /// <summary>A query: header (RD set), the question, and an OPT record advertising <paramref name="udpSize"/> unless null.</summary>
    public static byte[] Query(ushort id, string name, ushort type, ushort? udpSize = 1232, byte ednsVersion = 0, ushort @class = 1) =>
        Message(id, 0x0100, 1, Question(name, type, @class), udpSize is { } size ? [Opt(size, ednsVersion)] : []);

    public static byte[] Message(ushort id, ushort flags, ushort questions, byte[] body, byte[][] additional)
    {
        var header = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), questions);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), (ushort)additional.Length);
        return [.. header, .. body, .. additional.SelectMany(a => a)];
    }

    /// <summary>An OPT pseudo-record: root owner, type 41, class = UDP size, TTL = extended rcode | version | flags, no options.</summary>
    public static byte[] Opt(ushort udpSize, byte version = 0) =>
        [0, 0, 41, (byte)(udpSize >> 8), (byte)udpSize, 0, version, 0, 0, 0, 0];

    public static int U16(byte[] message, int at) => BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at));
}
