using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hutch.Daemon.Network.Dns;

/// <summary>The EDNS(0) part of a query (RFC 6891): present only when the query carried an OPT record.</summary>
/// <param name="UdpSize">The largest UDP answer the client takes (values below 512 count as 512).</param>
public readonly record struct DnsEdns(ushort UdpSize, byte Version);

/// <summary>A standard query with exactly one question, as read by <see cref="DnsMessage.Parse"/>.</summary>
/// <param name="Question">The question's bytes as sent (name, QTYPE, QCLASS): echoed unchanged, so a client's 0x20 case mixing matches.</param>
/// <param name="Name">The name as dotted text, as asked (not normalized); every byte of it is a letter, digit, '-' or '_', or the name is null.</param>
public sealed record DnsQuery(ushort Id, bool RecursionDesired, byte[] Question, string? Name, ushort Type, ushort Class, DnsEdns? Edns);

/// <summary>
/// The little of DNS the sandbox's resolver needs (docs/design/0009-egress.md, section 3): read a
/// query with one question and an optional OPT record; write A/AAAA answers, NXDOMAIN and NODATA
/// with an Extended DNS Error (RFC 8914), and header-only FORMERR/NOTIMP. Hand-written on purpose:
/// the DNS libraries available to us are full resolvers or zone servers, and none both refuses
/// compression in a question and writes EDE; this is ~250 lines we can read whole. Nothing here
/// throws on input: whatever is not a well-formed query comes back as null.
/// </summary>
public static class DnsMessage
{
    /// <summary>The largest UDP answer written (the DNS flag day 2020 size): no fragmentation, and what we advertise in OPT.</summary>
    public const int MaxUdpAnswer = 1232;
    public const int HeaderLength = 12;
    public const ushort TypeA = 1, TypeAaaa = 28, TypeOpt = 41, TypeSvcb = 64, TypeHttps = 65, ClassIn = 1;
    public const byte NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5;
    /// <summary>EDNS option code of an Extended DNS Error (RFC 8914 section 2).</summary>
    public const ushort EdeOption = 15;

    private const int MaxNameLength = 255;
    private const ushort FlagQr = 0x8000, FlagRd = 0x0100, FlagRa = 0x0080;

    /// <summary>The query in <paramref name="message"/>, or null when it is not one well-formed standard query (QR clear, opcode 0, one question, no answers).</summary>
    public static DnsQuery? Parse(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderLength)
        {
            return null;
        }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & FlagQr) != 0 || Opcode(flags) != 0 || Count(message, 4) != 1 || Count(message, 6) != 0 || Count(message, 8) != 0)
        {
            return null;
        }
        var at = HeaderLength;
        if (ReadQuestionName(message, ref at) is not { } name || at + 4 > message.Length)
        {
            return null;
        }
        var type = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
        var @class = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
        var question = message[HeaderLength..(at + 4)].ToArray();
        at += 4;
        DnsEdns? edns = null;
        for (var i = Count(message, 10); i > 0; i--)
        {
            // Additional records (OPT, perhaps a TSIG we do not check): names here may be compressed; skip, never follow.
            var owner = at;
            if (!SkipName(message, ref at) || at + 10 > message.Length)
            {
                return null;
            }
            var rrType = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var rdLength = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            if (at + 10 + rdLength > message.Length)
            {
                return null;
            }
            if (rrType == TypeOpt)
            {
                if (edns is not null || at != owner + 1)
                {
                    return null; // two OPT records, or one not owned by the root (RFC 6891 section 6.1.1): FORMERR
                }
                edns = new DnsEdns(BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]), message[at + 5]);
            }
            at += 10 + rdLength;
        }
        return new DnsQuery(BinaryPrimitives.ReadUInt16BigEndian(message), (flags & FlagRd) != 0, question, name.Length == 0 ? null : name, type, @class, edns);
    }

    /// <summary>
    /// The answer to a message <see cref="Parse"/> refused: NOTIMP for another opcode, FORMERR
    /// otherwise, header only, ID and RD copied. Null when it is no query at all (shorter than a
    /// header, or a response: answering those could make two resolvers talk to each other forever).
    /// </summary>
    public static byte[]? Reject(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderLength || (BinaryPrimitives.ReadUInt16BigEndian(message[2..]) & FlagQr) != 0)
        {
            return null;
        }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        var answer = new byte[HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(answer, BinaryPrimitives.ReadUInt16BigEndian(message));
        var rcode = Opcode(flags) != 0 ? NotImp : FormErr;
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(2), (ushort)(FlagQr | (flags & 0x7800) | (flags & FlagRd) | FlagRa | rcode));
        return answer;
    }

    /// <summary>NOERROR with one A (IPv4) or AAAA (IPv6) record for the question's name.</summary>
    public static byte[] Address(DnsQuery query, IPAddress address, uint ttl = 300)
    {
        var rdata = address.GetAddressBytes();
        var answer = new byte[2 + 10 + rdata.Length];
        BinaryPrimitives.WriteUInt16BigEndian(answer, 0xC000 | HeaderLength); // a pointer to the question's name
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(2), address.AddressFamily == AddressFamily.InterNetwork ? TypeA : TypeAaaa);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(4), ClassIn);
        BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(6), ttl);
        BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(10), (ushort)rdata.Length);
        rdata.CopyTo(answer.AsSpan(12));
        return Write(query, NoError, answer, null, null);
    }

    /// <summary>
    /// An answer without records: NXDOMAIN, NODATA (<see cref="NoError"/>), SERVFAIL or REFUSED, with an
    /// Extended DNS Error when the query had EDNS (RFC 6891 forbids an OPT record otherwise). The
    /// text is cut, at a character boundary, so the whole fits the client's UDP size and 1232 bytes.
    /// </summary>
    public static byte[] Empty(DnsQuery query, byte rcode, ushort? edeInfoCode = null, string? edeText = null) =>
        Write(query, rcode, [], edeInfoCode, edeText);

    private static byte[] Write(DnsQuery query, byte rcode, byte[] answer, ushort? edeInfoCode, string? edeText)
    {
        var limit = query.Edns is { } edns ? Math.Min(MaxUdpAnswer, Math.Max(512, (int)edns.UdpSize)) : 512;
        var badVersion = query.Edns is { Version: > 0 };
        answer = badVersion ? [] : answer;
        var optFixed = 11;
        var edeFixed = edeInfoCode is null || badVersion ? 0 : 6;
        var head = HeaderLength + query.Question.Length + answer.Length;
        var text = edeFixed == 0 ? [] : Cut(edeText ?? "", limit - head - optFixed - edeFixed);
        var total = head + (query.Edns is null ? 0 : optFixed + edeFixed + text.Length);
        var message = new byte[total];
        var span = message.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, query.Id);
        // BADVERS (16) is an extended RCODE: its upper 8 bits go in the OPT record, its lower 4 (0) here.
        var headerRcode = badVersion ? 0 : rcode;
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(FlagQr | (query.RecursionDesired ? FlagRd : 0) | FlagRa | headerRcode));
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(span[6..], (ushort)(answer.Length == 0 ? 0 : 1));
        BinaryPrimitives.WriteUInt16BigEndian(span[8..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], (ushort)(query.Edns is null ? 0 : 1));
        query.Question.CopyTo(span[HeaderLength..]);
        var at = HeaderLength + query.Question.Length;
        answer.CopyTo(span[at..]);
        at += answer.Length;
        if (query.Edns is not null)
        {
            span[at] = 0; // owner: the root
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 1)..], TypeOpt);
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 3)..], MaxUdpAnswer);
            BinaryPrimitives.WriteUInt32BigEndian(span[(at + 5)..], badVersion ? 0x01000000u : 0u); // extended RCODE 1 = BADVERS, version 0, DO clear
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 9)..], (ushort)(edeFixed + text.Length));
            if (edeFixed > 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(span[(at + 11)..], EdeOption);
                BinaryPrimitives.WriteUInt16BigEndian(span[(at + 13)..], (ushort)(2 + text.Length));
                BinaryPrimitives.WriteUInt16BigEndian(span[(at + 15)..], edeInfoCode!.Value);
                text.CopyTo(span[(at + 17)..]);
            }
        }
        return message;
    }

    /// <summary>The question's name: labels only (a compression pointer in a question is refused), each byte a letter, digit, '-' or '_'; otherwise the name is "" (not a host name, but still a query to answer).</summary>
    private static string? ReadQuestionName(ReadOnlySpan<byte> message, ref int at)
    {
        var start = at;
        var text = new StringBuilder();
        var plain = true;
        while (true)
        {
            if (at >= message.Length)
            {
                return null;
            }
            var length = message[at];
            if (length == 0)
            {
                at++;
                break;
            }
            if (length > 63 || at + 1 + length > message.Length || at + 1 + length - start + 1 > MaxNameLength)
            {
                return null; // a pointer (0xC0), a reserved label type, past the end, or a name over 255 bytes
            }
            foreach (var b in message.Slice(at + 1, length))
            {
                plain &= b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_';
            }
            if (plain)
            {
                text.Append(text.Length == 0 ? "" : ".").Append(Encoding.ASCII.GetString(message.Slice(at + 1, length)));
            }
            at += 1 + length;
        }
        return plain ? text.ToString() : "";
    }

    /// <summary>Steps over a name that may end in a compression pointer, without following it (so no loop can form).</summary>
    private static bool SkipName(ReadOnlySpan<byte> message, ref int at)
    {
        var start = at;
        while (at < message.Length && at - start < MaxNameLength)
        {
            var length = message[at];
            if (length == 0)
            {
                at++;
                return true;
            }
            if ((length & 0xC0) == 0xC0)
            {
                at += 2;
                return at <= message.Length;
            }
            if (length > 63)
            {
                return false;
            }
            at += 1 + length;
        }
        return false;
    }

    private static byte[] Cut(string text, int room)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length <= room)
        {
            return bytes;
        }
        var end = Math.Max(0, room);
        while (end > 0 && (bytes[end] & 0xC0) == 0x80)
        {
            end--; // never split a UTF-8 sequence
        }
        return bytes[..end];
    }

    private static int Opcode(ushort flags) => (flags >> 11) & 0xF;

    private static int Count(ReadOnlySpan<byte> message, int offset) => BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
}
