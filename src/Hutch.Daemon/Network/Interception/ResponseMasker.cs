using System.Buffers;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// Masks secret values in what a secret's host sends back, as the bytes stream: each value becomes
/// a mask of the same length (its placeholder's first bytes, or '*' where the placeholder is
/// shorter), so Content-Length and chunk sizes stay true. Only a read's last bytes that are the
/// start of a value are held, to be masked with the next read; on ordinary answers, none. The
/// caller gives them out anyway when the upstream pauses (<see cref="Release"/>): a response that
/// happens to end like a value's start must not wait for bytes that never come on a kept-alive
/// connection.
/// </summary>
public sealed class ResponseMasker
{
    private readonly (byte[] Value, byte[] Mask)[] _values;
    private byte[] _pending = [];

    public ResponseMasker(SubstitutionTable table) => _values = [.. table.Items.Select(s => (s.Value, Mask(s)))];

    /// <summary>Values masked so far.</summary>
    public int Masked { get; private set; }

    /// <summary>Bytes held back now.</summary>
    public int Held => _pending.Length;

    /// <summary>Masks <paramref name="chunk"/> (after what was held) into <paramref name="output"/>, holding back a possible start of a value.</summary>
    public void Push(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        var data = _pending.Length == 0 ? chunk.ToArray() : [.. _pending, .. chunk];
        MaskAll(data);
        var keep = LivePrefix(data);
        output.Write(data.AsSpan(0, data.Length - keep));
        _pending = data[(data.Length - keep)..];
    }

    /// <summary>What is held goes out as it is (the stream ended, or paused).</summary>
    public void Release(IBufferWriter<byte> output)
    {
        output.Write(_pending);
        _pending = [];
    }

    private void MaskAll(Span<byte> data)
    {
        foreach (var (value, mask) in _values)
        {
            var from = 0;
            int at;
            while ((at = data[from..].IndexOf(value)) >= 0)
            {
                mask.CopyTo(data[(from + at)..]);
                Masked++;
                from += at + value.Length;
            }
        }
    }

    /// <summary>The length of the longest end of <paramref name="data"/> that is a proper start of some value.</summary>
    private int LivePrefix(ReadOnlySpan<byte> data)
    {
        var longest = 0;
        foreach (var (value, _) in _values)
        {
            var tail = data[Math.Max(0, data.Length - (value.Length - 1))..];
            for (var p = tail.IndexOf(value[0]); p >= 0 && tail.Length - p > longest; p = NextOf(tail, value[0], p))
            {
                if (value.AsSpan().StartsWith(tail[p..]))
                {
                    longest = tail.Length - p;
                    break;
                }
            }
        }
        return longest;
    }

    private static int NextOf(ReadOnlySpan<byte> span, byte b, int after)
    {
        var next = span[(after + 1)..].IndexOf(b);
        return next < 0 ? -1 : after + 1 + next;
    }

    private static byte[] Mask(Substitution s)
    {
        var mask = new byte[s.Value.Length];
        mask.AsSpan().Fill((byte)'*');
        var placeholder = System.Text.Encoding.ASCII.GetBytes(s.Placeholder);
        placeholder.AsSpan(0, Math.Min(placeholder.Length, mask.Length)).CopyTo(mask);
        return mask;
    }
}
