using System.Text;

namespace Hutch.Daemon.Services;

/// <summary>
/// The last lines of a byte stream, and never more than <paramref name="maxBytes"/> of them: a
/// service may print one line of a gigabyte, or 100,000 long ones, and neither may become memory
/// the daemon holds. A line longer than the budget is represented by its end. Bytes, not text,
/// until the end, so a character split between two log chunks is decoded whole.
/// </summary>
public sealed class LogTail(int lines, int maxBytes = LogTail.DefaultMaxBytes)
{
    /// <summary>Bytes of a stream's tail kept and answered.</summary>
    public const int DefaultMaxBytes = 1 << 20;

    private readonly Queue<byte[]> _lines = new();
    private readonly MemoryStream _partial = new();
    private long _bytes;

    public void Add(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var end = data.IndexOf((byte)'\n');
            var piece = end < 0 ? data : data[..(end + 1)];
            AppendPartial(piece);
            data = data[piece.Length..];
            if (end >= 0)
            {
                var line = _partial.ToArray();
                _partial.SetLength(0);
                _lines.Enqueue(line);
                _bytes += line.Length;
                Trim();
            }
        }
    }

    public override string ToString()
    {
        var all = new MemoryStream();
        // An unfinished last line counts as one of the lines asked for.
        foreach (var line in _lines.Skip(_partial.Length > 0 && _lines.Count >= lines ? 1 : 0))
        {
            all.Write(line);
        }
        all.Write(_partial.GetBuffer(), 0, (int)_partial.Length);
        var bytes = all.GetBuffer().AsSpan(0, (int)all.Length);
        if (bytes.Length > maxBytes)
        {
            bytes = bytes[^maxBytes..];
            // Cut inside a character: start at the next whole one rather than with a replacement character.
            for (var i = 0; i < 3 && bytes.Length > 0 && (bytes[0] & 0xC0) == 0x80; i++)
            {
                bytes = bytes[1..];
            }
        }
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Grows the unfinished line, keeping only its last maxBytes (compacted when twice that).</summary>
    private void AppendPartial(ReadOnlySpan<byte> piece)
    {
        if (piece.Length >= maxBytes)
        {
            _partial.SetLength(0);
            _partial.Write(piece[^maxBytes..]);
            return;
        }
        _partial.Write(piece);
        if (_partial.Length > 2L * maxBytes)
        {
            var keep = _partial.GetBuffer().AsSpan((int)_partial.Length - maxBytes, maxBytes).ToArray();
            _partial.SetLength(0);
            _partial.Write(keep);
        }
    }

    /// <summary>Drops the oldest lines past the line count, and those not needed to fill the byte budget.</summary>
    private void Trim()
    {
        while (_lines.Count > lines || (_lines.Count > 0 && _bytes - _lines.Peek().Length >= maxBytes))
        {
            _bytes -= _lines.Dequeue().Length;
        }
    }
}
