using System.Buffers.Binary;

namespace Hutch.Protocol.Agent;

/// <summary>
/// The control channel's framing, written by hand because it is tiny and must be exactly the same
/// in the NativeAOT agent and the daemon: a 9-byte header (payload length u32 LE, channel u32 LE,
/// kind u8) then the payload. Binary payloads (stdin/stdout/stderr) are raw bytes; control
/// payloads are UTF-8 JSON from <see cref="AgentJsonContext"/>. Many channels share one stream,
/// so one connection multiplexes every exec of a sandbox.
/// </summary>
public static class FrameCodec
{
    public const int HeaderSize = 9;

    /// <summary>Largest payload a peer may send; bigger output is split into several frames.</summary>
    public const int MaxPayload = 1 << 20;

    public static void WriteHeader(Span<byte> header, FrameKind kind, uint channel, int payloadLength)
    {
        if ((uint)payloadLength > MaxPayload)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength), $"frame payload of {payloadLength} bytes exceeds {MaxPayload}");
        }
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], channel);
        header[8] = (byte)kind;
    }

    /// <summary>Reads one frame, or returns null at a clean end of stream (between frames).</summary>
    public static async ValueTask<Frame?> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var header = new byte[HeaderSize];
        if (!await ReadExactlyOrEndAsync(stream, header, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > MaxPayload)
        {
            throw new InvalidDataException($"control channel frame of {length} bytes exceeds the {MaxPayload}-byte limit");
        }
        var channel = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        var payload = length == 0 ? Array.Empty<byte>() : new byte[length];
        if (length > 0 && !await ReadExactlyOrEndAsync(stream, payload, cancellationToken).ConfigureAwait(false))
        {
            throw new EndOfStreamException("control channel closed in the middle of a frame");
        }
        return new Frame((FrameKind)header[8], channel, payload);
    }

    private static async ValueTask<bool> ReadExactlyOrEndAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                {
                    return false;
                }
                throw new EndOfStreamException("control channel closed in the middle of a frame");
            }
            read += n;
        }
        return true;
    }
}
