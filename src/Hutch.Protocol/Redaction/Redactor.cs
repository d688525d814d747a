using System.Buffers;
using System.Text;

namespace Hutch.Protocol.Redaction;

/// <summary>
/// Redacts one byte stream as it goes: each run of <see cref="RedactionSet.Threshold"/> bytes or more
/// of a secret's form becomes <c>[REDACTED:NAME]</c>, even when it arrives split across chunks (a
/// value printed one byte at a time, across frames or log segments). Everything before the last
/// bytes that could still grow into such a run is given out at once; only those are held, to be
/// replaced or released with the next chunk. <see cref="Flush"/> at the stream's end replaces a held
/// run that is long enough and gives out a shorter one. One per stream; not thread-safe.
/// </summary>
public sealed class Redactor(RedactionSet set)
{
    private byte[] _held = [];
    private int _heldLength;
    private byte[] _heldMarker = [];

    /// <summary>Bytes held back now, waiting for the next chunk.</summary>
    public int Held => _heldLength;

    /// <summary>How many forms were replaced so far.</summary>
    public long Replaced { get; private set; }

    /// <summary>
    /// Redacts <paramref name="chunk"/> (after what is held) and returns what goes out now. One scan,
    /// and no copy in the common case: with nothing held and nothing replaced, what goes out is a
    /// slice of <paramref name="chunk"/> itself (all of it, or all but a held end that may start a
    /// form). After a held end, the two are joined once (no zeroing); only a chunk with a run to
    /// replace is written out anew. What is returned stays valid after later pushes.
    /// </summary>
    public ReadOnlyMemory<byte> Push(ReadOnlyMemory<byte> chunk)
    {
        if (set.Count == 0)
        {
            return chunk;
        }
        var data = chunk;
        if (_heldLength > 0)
        {
            // Common after a chunk cut mid-line (a letter or digit may start a form): one copy of both.
            var joined = GC.AllocateUninitializedArray<byte>(_heldLength + chunk.Length);
            _held.AsSpan(0, _heldLength).CopyTo(joined);
            chunk.Span.CopyTo(joined.AsSpan(_heldLength));
            data = joined;
            _heldLength = 0;
        }
        var span = data.Span;
        if (set.TryFindNext(span, 0, out var start, out var length, out _) && start + length < span.Length)
        {
            var output = new ArrayBufferWriter<byte>(span.Length + 64);
            Process(span, output);
            return output.WrittenMemory;
        }
        // Nothing to replace: all goes out but what may still grow into a run with the next chunk.
        var hold = set.TailStart(span, 0, out _heldMarker);
        Hold(span[hold..]);
        return data[..hold];
    }

    /// <summary>Redacts <paramref name="chunk"/> (after what is held) into <paramref name="output"/>.</summary>
    public void Push(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        if (set.Count == 0)
        {
            output.Write(chunk);
            return;
        }
        if (_heldLength == 0)
        {
            Process(chunk, output);
            return;
        }
        // Rare (only after a chunk ended in what could be a form's start): join the held bytes to the new ones.
        var joined = ArrayPool<byte>.Shared.Rent(_heldLength + chunk.Length);
        try
        {
            _held.AsSpan(0, _heldLength).CopyTo(joined);
            chunk.CopyTo(joined.AsSpan(_heldLength));
            var length = _heldLength + chunk.Length;
            _heldLength = 0;
            Process(joined.AsSpan(0, length), output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <summary>The stream ended: what is held goes out, replaced when it is a long enough start of a form.</summary>
    public void Flush(IBufferWriter<byte> output)
    {
        if (_heldLength == 0)
        {
            return;
        }
        if (_heldLength >= set.Threshold)
        {
            output.Write(_heldMarker);
            Replaced++;
        }
        else
        {
            output.Write(_held.AsSpan(0, _heldLength));
        }
        _heldLength = 0;
    }

    /// <summary>Redacts a whole text (an error message, a record's field) with <paramref name="set"/>.</summary>
    public static string Redact(RedactionSet set, string text)
    {
        if (set.Count == 0 || text.Length == 0)
        {
            return text;
        }
        var output = new ArrayBufferWriter<byte>(text.Length + 16);
        var redactor = new Redactor(set);
        redactor.Push(Encoding.UTF8.GetBytes(text), output);
        redactor.Flush(output);
        return redactor.Replaced == 0 ? text : Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>
    /// Redacts the range [<paramref name="start"/>, +<paramref name="length"/>) of
    /// <paramref name="data"/>, whose bytes around the range are context only (a file read in ranges:
    /// a run that crosses the range's edge is replaced by its marker where it enters the range).
    /// </summary>
    public static (byte[] Bytes, int Replaced) RedactRange(RedactionSet set, ReadOnlySpan<byte> data, int start, int length)
    {
        var output = new ArrayBufferWriter<byte>(length + 32);
        var (end, at, from, replaced) = (start + length, start, 0, 0);
        while (at < end && set.TryFindNext(data, from, out var runStart, out var runLength, out var marker))
        {
            from = runStart + runLength;
            if (from <= at)
            {
                continue; // wholly before the range
            }
            if (runStart >= end)
            {
                break;
            }
            output.Write(data[at..Math.Max(runStart, at)]);
            output.Write(marker);
            replaced++;
            at = Math.Min(from, end);
        }
        output.Write(data[at..end]);
        return (output.WrittenSpan.ToArray(), replaced);
    }

    private void Process(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var emitted = 0;
        while (set.TryFindNext(data, emitted, out var start, out var length, out var marker) && start + length < data.Length)
        {
            output.Write(data[emitted..start]);
            output.Write(marker);
            Replaced++;
            emitted = start + length;
        }
        // A run that reaches the end may go on in the next chunk: it is held with whatever could start one.
        var hold = set.TailStart(data, emitted, out _heldMarker);
        output.Write(data[emitted..hold]);
        Hold(data[hold..]);
    }

    private void Hold(ReadOnlySpan<byte> bytes)
    {
        if (_held.Length < bytes.Length)
        {
            _held = new byte[Math.Max(bytes.Length, 2 * _held.Length)];
        }
        bytes.CopyTo(_held);
        _heldLength = bytes.Length;
    }
}
