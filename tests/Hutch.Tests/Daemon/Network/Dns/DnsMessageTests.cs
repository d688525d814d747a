using System.Net;
using System.Text;
using Hutch.Daemon.Network.Dns;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>The wire format of the sandbox's resolver (docs/design/0009-egress.md, section 3): queries read, answers written byte by byte.</summary>
[Trait("Category", "Unit")]
public sealed class DnsMessageTests
{
    private static byte[] Bytes(byte[] bytes) => bytes;

    [Fact]
    public void Parse_ReadsTheIdFlagsQuestionAndOpt_KeepingTheQuestionAsSent()
    {
        var query = DnsMessage.Parse(DnsWire.Query(0xBEEF, "PkGs.Example.ORG", 28, udpSize: 4096))!;

        Assert.Equal((0xBEEF, true, "PkGs.Example.ORG", (ushort)28, (ushort)1), (query.Id, query.RecursionDesired, query.Name, query.Type, query.Class));
        Assert.Equal(new DnsEdns(4096, 0), query.Edns);
        Assert.Equal(DnsWire.Question("PkGs.Example.ORG", 28), query.Question);
        Assert.Null(DnsMessage.Parse(DnsWire.Query(1, "example.org", 1, udpSize: null))!.Edns);
    }

    [Fact]
    public void Parse_GivesNoName_ForLabelsThatAreNoHostName_OrTheRoot()
    {
        // A '.' or a NUL inside a label must not turn into a different dotted name.
        var dotted = DnsWire.Message(1, 0x0100, 1, [3, (byte)'a', (byte)'.', (byte)'b', 3, (byte)'o', (byte)'r', (byte)'g', 0, 0, 1, 0, 1], []);
        var nul = DnsWire.Message(1, 0x0100, 1, [2, (byte)'a', 0, 3, (byte)'o', (byte)'r', (byte)'g', 0, 0, 1, 0, 1], []);
        var root = DnsWire.Message(1, 0x0100, 1, [0, 0, 2, 0, 1], []);

        Assert.Null(DnsMessage.Parse(dotted)!.Name);
        Assert.Null(DnsMessage.Parse(nul)!.Name);
        Assert.Null(DnsMessage.Parse(root)!.Name);
        Assert.Equal("_dmarc.example-1.org", DnsMessage.Parse(DnsWire.Query(1, "_dmarc.example-1.org", 16))!.Name);
    }

    [Fact]
    public void NxDomainWithExtendedError_IsLaidOutAsSection3()
    {
        var query = DnsMessage.Parse(DnsWire.Query(0x1234, "pkgs.example.org", 1))!;
        const string text = "egress_dns_denied: pkgs.example.org is not in this sandbox's allowlist";
        var t = Encoding.UTF8.GetBytes(text);

        var answer = DnsMessage.Empty(query, DnsMessage.NxDomain, 15, text);

        byte[] expected =
        [
            0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 1, // id | QR RD RA, NXDOMAIN | 1 question, 0 answers, 0 authority, 1 additional
            .. DnsWire.Question("pkgs.example.org", 1),
            0, 0, 0x29, 0x04, 0xd0, 0, 0, 0, 0, // OPT: root, type 41, UDP 1232, extended rcode 0, version 0, no DO
            (byte)((6 + t.Length) >> 8), (byte)(6 + t.Length), // RDLEN
            0, 15, (byte)((2 + t.Length) >> 8), (byte)(2 + t.Length), 0, 15, // EDE option: code 15, length, INFO-CODE 15 (Blocked)
            .. t,
        ];
        Assert.Equal(expected, answer);
    }

    [Fact]
    public void NoData_HasNoAnswer_AndWithoutEdnsInTheQuery_NoOptRecord()
    {
        var withEdns = DnsMessage.Empty(DnsMessage.Parse(DnsWire.Query(7, "example.org", 16))!, DnsMessage.NoError, 21, "egress_dns_denied: only A/AAAA");
        var without = DnsMessage.Empty(DnsMessage.Parse(DnsWire.Query(7, "example.org", 16, udpSize: null))!, DnsMessage.NoError, 21, "egress_dns_denied: only A/AAAA");

        Assert.Equal((0x8180, 1, 0, 0, 1), (DnsWire.U16(withEdns, 2), DnsWire.U16(withEdns, 4), DnsWire.U16(withEdns, 6), DnsWire.U16(withEdns, 8), DnsWire.U16(withEdns, 10)));
        Assert.Equal(21, DnsWire.U16(withEdns, 12 + 17 + 15)); // header, question, OPT fixed part, option code and length
        // RFC 6891: no OPT in an answer to a query without one, so no place for the EDE either.
        Assert.Equal(Bytes([0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, .. DnsWire.Question("example.org", 16)]), without);
    }

    [Fact]
    public void AddressAnswers_PointAtTheQuestion_WithTtl300()
    {
        var a = DnsMessage.Address(DnsMessage.Parse(DnsWire.Query(9, "Example.org", 1, udpSize: null))!, IPAddress.Parse("198.18.1.5"));
        var aaaa = DnsMessage.Address(DnsMessage.Parse(DnsWire.Query(9, "example.org", 28))!, IPAddress.Parse("fd68:7574:6368:1::5"));

        var question = DnsWire.Question("Example.org", 1);
        Assert.Equal(Bytes([0, 9, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, .. question, 0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 198, 18, 1, 5]), a);
        var rr = 12 + DnsWire.Question("example.org", 28).Length;
        Assert.Equal(Bytes([0xC0, 12, 0, 28, 0, 1, 0, 0, 1, 0x2C, 0, 16, .. IPAddress.Parse("fd68:7574:6368:1::5").GetAddressBytes()]), aaaa[rr..(rr + 28)]);
        Assert.Equal(1, DnsWire.U16(aaaa, 10)); // and the OPT record after it
        Assert.Equal(rr + 28 + 11, aaaa.Length);
    }

    [Fact]
    public void TheExtendedErrorText_IsCutToTheClientsUdpSize_AtACharacterBoundary()
    {
        var query = DnsMessage.Parse(DnsWire.Query(1, "example.org", 1, udpSize: 100))!;
        var answer = DnsMessage.Empty(query, DnsMessage.NxDomain, 15, new string('é', 2000));

        Assert.Equal(512, answer.Length);
        Assert.Equal(0, (answer.Length - (12 + 17 + 17)) % 2); // whole two-byte characters only
        var big = DnsMessage.Empty(DnsMessage.Parse(DnsWire.Query(1, "example.org", 1, udpSize: 65000))!, DnsMessage.NxDomain, 15, new string('x', 5000));
        Assert.Equal(DnsMessage.MaxUdpAnswer, big.Length);
    }

    [Fact]
    public void AnEdnsVersionAbove0_GetsBadVers()
    {
        var answer = DnsMessage.Address(DnsMessage.Parse(DnsWire.Query(1, "example.org", 1, ednsVersion: 1))!, IPAddress.Parse("198.18.1.0"));

        Assert.Equal(0x8180, DnsWire.U16(answer, 2));
        Assert.Equal(0, DnsWire.U16(answer, 6));
        Assert.Equal(Bytes([0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0]), answer[^11..]); // extended RCODE 1 << 4 = 16, BADVERS
    }

    [Fact]
    public void EveryTruncation_OfAQuery_IsRefusedWithoutThrowing()
    {
        var query = DnsWire.Query(1, "pkgs.example.org", 1);
        for (var length = 0; length < query.Length; length++)
        {
            Assert.Null(DnsMessage.Parse(query.AsSpan(0, length)));
        }
        Assert.NotNull(DnsMessage.Parse(query));
    }

    [Fact]
    public void CompressionInTheQuestion_IsRefused_LoopsIncluded()
    {
        byte[] self = [0xC0, 12, 0, 1, 0, 1];                         // a pointer to itself
        byte[] ahead = [1, (byte)'a', 0xC0, 12, 0, 1, 0, 1];          // a label, then back to the start
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 1, self, [])));
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 1, ahead, [])));
        // In the additional section a pointer is stepped over, never followed.
        byte[] optWithPointer = [0xC0, 12, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 1, DnsWire.Question("a.org", 1), [optWithPointer])));
    }

    [Fact]
    public void MoreThanOneQuestion_HugeLabelsAndNames_TwoOpts_AreRefused()
    {
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 2, [.. DnsWire.Question("a.org", 1), .. DnsWire.Question("b.org", 1)], [])));
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 0, [], [])));
        Assert.Null(DnsMessage.Parse(DnsWire.Query(1, new string('a', 64) + ".org", 1)));
        Assert.NotNull(DnsMessage.Parse(DnsWire.Query(1, new string('a', 63) + ".org", 1)));
        var longName = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)); // 4 × 64 + 1 = 257 bytes on the wire
        Assert.Null(DnsMessage.Parse(DnsWire.Query(1, longName, 1)));
        Assert.Null(DnsMessage.Parse(DnsWire.Message(1, 0x0100, 1, DnsWire.Question("a.org", 1), [DnsWire.Opt(1232), DnsWire.Opt(1232)])));
    }

    [Fact]
    public void Reject_AnswersFormErrOrNotImp_AndNothingToResponsesOrScraps()
    {
        var twoQuestions = DnsWire.Message(0xABCD, 0x0100, 2, [], []);
        Assert.Equal(Bytes([0xAB, 0xCD, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]), DnsMessage.Reject(twoQuestions));
        var notify = DnsWire.Message(5, 4 << 11, 1, DnsWire.Question("a.org", 6), []);
        Assert.Null(DnsMessage.Parse(notify));
        Assert.Equal(Bytes([0, 5, 0xA0, 0x84, 0, 0, 0, 0, 0, 0, 0, 0]), DnsMessage.Reject(notify));
        Assert.Null(DnsMessage.Reject(DnsWire.Message(1, 0x8180, 1, DnsWire.Question("a.org", 1), [])));
        Assert.Null(DnsMessage.Reject(new byte[11]));
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        var random = new Random(11);
        var valid = DnsWire.Query(1, "pkgs.example.org", 1);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = i % 2 == 0 ? new byte[random.Next(0, 300)] : (byte[])valid.Clone();
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            if (DnsMessage.Parse(bytes) is { } query)
            {
                DnsMessage.Empty(query, DnsMessage.NxDomain, 15, "x");
            }
            DnsMessage.Reject(bytes);
        }
    }
}
