using System.Buffers.Binary;
using System.Text;

namespace Hutch.Daemon.Network.Inspect;

/// <summary>What the first bytes of a TLS connection told so far.</summary>
public enum HelloState
{
    /// <summary>The ClientHello is not complete yet: give more bytes.</summary>
    NeedMore,
    /// <summary>A complete ClientHello, with the server name it carries (or none).</summary>
    Complete,
    /// <summary>Not a readable ClientHello (or larger than <see cref="TlsClientHello.MaxBytes"/>).</summary>
    Malformed,
}

/// <summary>
/// Reads the server name (SNI, RFC 6066) from a TLS ClientHello as the client sends it: handshake
/// records (<c>16 03 xx | length | fragment</c>) whose fragments together hold one handshake message
/// of type 1. A hello may span records and reads, so the caller passes all the bytes seen so far.
/// Kernel-free and allocation-light: it runs on the first bytes of every connection to a name.
/// </summary>
public static class TlsClientHello
{
    /// <summary>The most of a connection's first bytes read to find the hello (post-quantum key shares make hellos of 1.5–2 KiB; 64 KiB is far past any real one).</summary>
    public const int MaxBytes = 64 * 1024;

    private const byte HandshakeRecord = 0x16;
    private const byte ClientHelloType = 1;
    private const ushort ServerNameExtension = 0;

    /// <summary>True when a connection's first byte says TLS (a handshake record).</summary>
    public static bool LooksLikeTls(ReadOnlySpan<byte> first) => first.Length > 0 && first[0] == HandshakeRecord;

    /// <param name="bytes">Everything the client sent so far.</param>
    /// <param name="serverName">With <see cref="HelloState.Complete"/>: the SNI host name as sent, or null when the hello names none.</param>
    public static HelloState Read(ReadOnlySpan<byte> bytes, out string? serverName)
    {
        serverName = null;
        // Join the fragments of the leading handshake records into the message they carry.
        var message = new byte[Math.Min(bytes.Length, MaxBytes)];
        int have = 0, at = 0;
        while (bytes.Length - at >= 5 && !(have >= 4 && have >= MessageLength(message)))
        {
            var fragment = BinaryPrimitives.ReadUInt16BigEndian(bytes[(at + 3)..]);
            if (bytes[at] != HandshakeRecord || bytes[at + 1] != 3 || fragment is 0 or > 16384 + 2048)
            {
                return HelloState.Malformed;
            }
            var available = Math.Min(fragment, bytes.Length - at - 5);
            if (have + available > message.Length)
            {
                return HelloState.Malformed;
            }
            bytes.Slice(at + 5, available).CopyTo(message.AsSpan(have));
            have += available;
            at += 5 + available;
        }
        if (have >= 4)
        {
            var length = MessageLength(message);
            if (message[0] != ClientHelloType || length > MaxBytes)
            {
                return HelloState.Malformed;
            }
            if (have >= length)
            {
                return ReadHello(message.AsSpan(4, length - 4), out serverName) ? HelloState.Complete : HelloState.Malformed;
            }
        }
        return bytes.Length >= MaxBytes ? HelloState.Malformed : HelloState.NeedMore;
    }

    /// <summary>The handshake message's whole length, its 4-byte header included.</summary>
    private static int MessageLength(byte[] message) => 4 + (message[1] << 16 | message[2] << 8 | message[3]);

    /// <summary>The ClientHello body: version, random, session id, cipher suites, compression, extensions.</summary>
    private static bool ReadHello(ReadOnlySpan<byte> hello, out string? serverName)
    {
        serverName = null;
        var r = new SpanReader(hello);
        if (!r.Skip(2 + 32) || !r.SkipVector8() || !r.SkipVector16() || !r.SkipVector8())
        {
            return false;
        }
        if (r.Remaining == 0)
        {
            return true; // no extensions at all: no SNI
        }
        if (!r.Vector16(out var extensions) || r.Remaining != 0)
        {
            return false;
        }
        var e = new SpanReader(extensions);
        var seen = false;
        while (e.Remaining > 0)
        {
            if (!e.UInt16(out var type) || !e.Vector16(out var data))
            {
                return false;
            }
            if (type != ServerNameExtension)
            {
                continue;
            }
            if (seen)
            {
                return false; // two SNI extensions: which one the server reads is not ours to guess
            }
            seen = true;
            if (!ReadServerName(data, out serverName))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>server_name_list: exactly one host_name entry (RFC 6066 allows no two of a type).</summary>
    private static bool ReadServerName(ReadOnlySpan<byte> data, out string? serverName)
    {
        serverName = null;
        var r = new SpanReader(data);
        if (!r.Vector16(out var list) || r.Remaining != 0)
        {
            return false;
        }
        var l = new SpanReader(list);
        while (l.Remaining > 0)
        {
            if (!l.Byte(out var nameType) || !l.Vector16(out var name))
            {
                return false;
            }
            if (nameType != 0)
            {
                continue;
            }
            if (serverName is not null || name.Length == 0 || name.ContainsAnyExceptInRange((byte)0x21, (byte)0x7e))
            {
                return false;
            }
            serverName = Encoding.ASCII.GetString(name);
        }
        return true;
    }

    private ref struct SpanReader(ReadOnlySpan<byte> span)
    {
        private ReadOnlySpan<byte> _rest = span;

        public readonly int Remaining => _rest.Length;

        public bool Skip(int n)
        {
            if (_rest.Length < n)
            {
                return false;
            }
            _rest = _rest[n..];
            return true;
        }

        public bool Byte(out byte value)
        {
            value = _rest.Length > 0 ? _rest[0] : (byte)0;
            return Skip(1);
        }

        public bool UInt16(out ushort value)
        {
            value = _rest.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(_rest) : (ushort)0;
            return Skip(2);
        }

        public bool SkipVector8() => Byte(out var n) && Skip(n);

        public bool SkipVector16() => Vector16(out _);

        public bool Vector16(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (!UInt16(out var n) || _rest.Length < n)
            {
                return false;
            }
            value = _rest[..n];
            _rest = _rest[n..];
            return true;
        }
    }
}
