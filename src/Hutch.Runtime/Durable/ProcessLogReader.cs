using System.Buffers.Binary;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Durable;

/// <summary>One piece of a log: output of a stream, or a gap the size cap left (<see cref="Dropped"/> bytes).</summary>
/// <param name="Next">The cursor just after this piece.</param>
public readonly record struct LogChunk(FrameKind Kind, ReadOnlyMemory<byte> Data, long Dropped, long Next)
{
    public bool IsGap => Dropped > 0;
}

/// <summary>A cursor that cannot be read from: not 0, not the start of a frame, or past the end.</summary>
public sealed class InvalidCursorException(string message) : Exception(message);

/// <summary>
/// Reads a durable process's log (frames in segments, <see cref="ProcessRecords"/>) from any cursor
/// it has handed out, while the agent may be appending and rotating. Reads only whole frames: a
/// frame still being written is left for the next read.
/// </summary>
public sealed class ProcessLogReader(SafeFileHandle directory) : IDisposable
{
    private readonly byte[] _header = new byte[FrameCodec.HeaderSize];

    /// <summary>The cursor of the end of the log as it is now.</summary>
    public long End() => End(directory);

    internal static long End(SafeFileHandle directory)
    {
        var segments = Segments(directory);
        if (segments.Count == 0)
        {
            return 0;
        }
        var last = segments[^1];
        return At.TryStat(directory, ProcessRecords.SegmentName(last)) is { } status ? last + status.Size : last;
    }

    /// <summary>
    /// The whole frames available from <paramref name="cursor"/>, up to about <paramref name="maxBytes"/>
    /// of output; empty when there is nothing new yet.
    /// </summary>
    /// <exception cref="InvalidCursorException">The cursor is not one this log handed out.</exception>
    public List<LogChunk> Read(long cursor, long maxBytes)
    {
        var chunks = new List<LogChunk>();
        long total = 0;
        while (total < maxBytes)
        {
            var segments = Segments(directory);
            if (segments.Count == 0)
            {
                if (cursor != 0)
                {
                    throw Invalid(cursor);
                }
                break;
            }
            if (cursor < segments[0])
            {
                // Dropped by the size cap: say how much, and go on from the oldest output kept.
                chunks.Add(new LogChunk(FrameKind.Stdout, ReadOnlyMemory<byte>.Empty, segments[0] - cursor, segments[0]));
                cursor = segments[0];
            }
            var index = segments.FindLastIndex(start => start <= cursor);
            SafeFileHandle segment;
            try
            {
                segment = Beneath.Open(directory, ProcessRecords.SegmentName(segments[index]), Beneath.O_RDONLY | Beneath.O_NONBLOCK, noSymlinks: true);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                continue; // rotated away between the listing and the open: list again
            }
            var hasNext = index + 1 < segments.Count;
            using (segment)
            {
                var position = cursor - segments[index];
                var size = RandomAccess.GetLength(segment);
                if (position > size || (hasNext && cursor > segments[index + 1]))
                {
                    throw Invalid(cursor);
                }
                while (total < maxBytes && position + FrameCodec.HeaderSize <= size)
                {
                    RandomAccess.Read(segment, _header, position);
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_header);
                    var kind = (FrameKind)_header[8];
                    if (BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4)) != (uint)cursor
                        || kind is not (FrameKind.Stdout or FrameKind.Stderr) || length > FrameCodec.MaxPayload)
                    {
                        throw Invalid(cursor);
                    }
                    if (position + FrameCodec.HeaderSize + length > size)
                    {
                        break; // still being written
                    }
                    var data = new byte[length];
                    RandomAccess.Read(segment, data, position + FrameCodec.HeaderSize);
                    position += FrameCodec.HeaderSize + length;
                    cursor += FrameCodec.HeaderSize + length;
                    total += length;
                    chunks.Add(new LogChunk(kind, data, 0, cursor));
                }
                if (!hasNext || cursor != segments[index + 1])
                {
                    break;
                }
            }
        }
        return chunks;
    }

    private static InvalidCursorException Invalid(long cursor) =>
        new($"Cursor {cursor} is not a position in this log. Start at 0, or use a cursor that an earlier read returned.");

    private static List<long> Segments(SafeFileHandle directory)
    {
        var segments = new List<long>();
        foreach (var entry in At.ReadDirectory(directory))
        {
            if (entry.Kind == EntryKind.File && ProcessRecords.SegmentOffset(entry.Name) is >= 0 and var offset)
            {
                segments.Add(offset);
            }
        }
        segments.Sort();
        return segments;
    }

    public void Dispose() => directory.Dispose();
}
