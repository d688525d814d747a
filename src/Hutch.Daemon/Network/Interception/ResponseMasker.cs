using System.Buffers;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// Masks secret values in what a secret's host sends back, as the bytes stream: each value becomes
/// a mask of the same length (its placeholder's first bytes, or '*' where the placeholder is
/// shorter), so Content-Length and chunk sizes stay true and nothing is buffered but the last
/// <c>longest value − 1</c> bytes of a read, which could be the start of a value split across reads.
/// </summary>
public sealed class ResponseMasker
{
    private readonly (byte[] Value, byte[] Mask)[] _values;
    private readonly int _hold;
    private byte[] _pending = [];

    public ResponseMasker(SubstitutionTable table)
    {
        _values = [.. table.Items.Select(s => (s.Value, Mask(s)))];
        _hold = _values.Length == 0 ? 0 : _values.Max(v => v.Value.Length) - 1;
    }

    /// <summary>Values masked so far.</summary>
    public int Masked { get; private set; }

    /// <summary>Masks <paramref name="chunk"/> (after what was held) into <paramref name="output"/>, holding back a possible start of a value.</summary>
    public void Push(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        var data = _pending.Length == 0 ? chunk.ToArray() : [.. _pending, .. chunk];
        MaskAll(data);
        var keep = Math.Min(_hold, data.Length);
        output.Write(data.AsSpan(0, data.Length - keep));
        _pending = data[(data.Length - keep)..];
    }

    /// <summary>The stream ended: what was held goes out.</summary>
    public void Flush(IBufferWriter<byte> output)
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

    private static byte[] Mask(Substitution s)
    {
        var mask = new byte[s.Value.Length];
        mask.AsSpan().Fill((byte)'*');
        var placeholder = System.Text.Encoding.ASCII.GetBytes(s.Placeholder);
        placeholder.AsSpan(0, Math.Min(placeholder.Length, mask.Length)).CopyTo(mask);
        return mask;
    }
}
