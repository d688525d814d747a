using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Hutch.Protocol.Redaction;

/// <summary>A secret a sandbox holds, as redaction needs it: its name (for the marker) and its value.</summary>
public sealed record RedactedSecret(string Name, byte[] Value);

/// <summary>
/// What to find in a stream: every run of <see cref="Threshold"/> bytes or more that is part of a
/// form (<see cref="SecretForms"/>) of a secret, so a whole value is caught and so are its pieces
/// (half a key printed, the rest on the next line). Runs are found with a sampled filter: every run
/// of <see cref="Threshold"/> bytes holds a 4-byte gram at a position that is a multiple of
/// <c>Threshold − 3</c>; only a gram found in a 2²⁰-bit table of every form's grams is looked at,
/// and grown both ways against each form it occurs in. Immutable; shared by any number of
/// <see cref="Redactor"/>s.
/// </summary>
public sealed class RedactionSet
{
    /// <summary>The shortest value the store takes, and so the shortest form: a shorter one would eat ordinary output.</summary>
    public const int MinRun = 8;

    /// <summary>
    /// Pieces of a value this long are redacted wherever they appear (a whole form always is).
    /// Measured: at 8 the filter's every-5-bytes probe cost a quarter of an exec stream's throughput
    /// and turned common 8-byte text inside keys (<c>sk-live-</c>) into markers; at 12 it probes
    /// every 9 bytes.
    /// </summary>
    public const int PieceBytes = 12;

    private const int GramBytes = 4;
    private const int TableBits = 20;

    private readonly byte[][] _forms;
    private readonly byte[][] _markers;
    private readonly ulong[] _table = new ulong[(1 << TableBits) / 64];

    /// <summary>Where each 4-byte gram occurs: (form, offset) pairs.</summary>
    private readonly Dictionary<uint, List<(int Form, int Offset)>> _grams = [];

    /// <summary>Every 1- to 3-byte piece of a form, to hold a chunk's last bytes that may start a run.</summary>
    private readonly HashSet<uint> _shortPieces = [];

    /// <summary>Whether every form minus its first 3 bytes is still a run (see <see cref="TailStart"/>).</summary>
    private readonly bool _formsOutlastACut;

    private RedactionSet(List<(byte[] Form, byte[] Marker)> forms)
    {
        _forms = [.. forms.Select(f => f.Form)];
        _markers = [.. forms.Select(f => f.Marker)];
        Threshold = _forms.Length == 0 ? PieceBytes : Math.Min(PieceBytes, _forms.Min(f => f.Length));
        Longest = _forms.Length == 0 ? 0 : _forms.Max(f => f.Length);
        Step = Threshold - GramBytes + 1;
        _formsOutlastACut = _forms.Length > 0 && _forms.Min(f => f.Length) >= Threshold + GramBytes - 1;
        for (var f = 0; f < _forms.Length; f++)
        {
            var form = _forms[f];
            for (var i = 0; i + GramBytes <= form.Length; i++)
            {
                var gram = BinaryPrimitives.ReadUInt32LittleEndian(form.AsSpan(i));
                var slot = Slot(gram);
                _table[slot >> 6] |= 1UL << (int)(slot & 63);
                if (!_grams.TryGetValue(gram, out var at))
                {
                    _grams[gram] = at = [];
                }
                at.Add((f, i));
            }
            for (var length = 1; length < GramBytes; length++)
            {
                for (var i = 0; i + length <= form.Length; i++)
                {
                    _shortPieces.Add(Piece(form.AsSpan(i, length)));
                }
            }
        }
    }

    /// <summary>A set that redacts nothing.</summary>
    public static RedactionSet Empty { get; } = new([]);

    /// <summary>The forms of each secret; a value shorter than <see cref="MinRun"/> is an error (the store refuses them first).</summary>
    public static RedactionSet Of(IEnumerable<RedactedSecret> secrets)
    {
        var forms = new List<(byte[], byte[])>();
        foreach (var secret in secrets)
        {
            if (secret.Value.Length < MinRun)
            {
                throw new ArgumentException($"secret {secret.Name}: a value to redact has at least {MinRun} bytes", nameof(secrets));
            }
            var marker = Encoding.UTF8.GetBytes($"[REDACTED:{secret.Name}]");
            forms.AddRange(SecretForms.Of(secret.Value).Select(form => (form, marker)));
        }
        return new RedactionSet(forms);
    }

    /// <summary>How many forms are looked for.</summary>
    public int Count => _forms.Length;

    /// <summary>The shortest run that is redacted: <see cref="PieceBytes"/>, or less when a form is shorter (a short value is caught whole).</summary>
    public int Threshold { get; }

    private int Step { get; }

    /// <summary>The longest form: a range read with this less one byte of context each side sees any run that reaches into it.</summary>
    public int Longest { get; }

    /// <summary>
    /// The leftmost run (then the longest) at or after <paramref name="from"/> in
    /// <paramref name="data"/> that is part of a form and at least <see cref="Threshold"/> long.
    /// </summary>
    public bool TryFindNext(ReadOnlySpan<byte> data, int from, out int start, out int length, out byte[] marker)
    {
        (start, length, marker) = (-1, 0, []);
        if (Count == 0)
        {
            return false;
        }
        ref var first = ref MemoryMarshal.GetReference(data);
        var table = _table;
        var step = Step;
        for (var i = (from + step - 1) / step * step; i + GramBytes <= data.Length; i += step)
        {
            // The hot loop: one unaligned read, a multiply and a bit test per 9 bytes (no bounds checks: i + 4 <= Length).
            var gram = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref first, i));
            var slot = Slot(gram);
            if ((Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), (int)(slot >> 6)) & (1UL << (int)(slot & 63))) == 0
                || !_grams.TryGetValue(gram, out var occurrences))
            {
                continue;
            }
            foreach (var (f, offset) in occurrences)
            {
                var (left, right) = Grow(data, from, i, _forms[f], offset);
                var runStart = i - left;
                var runLength = left + GramBytes + right;
                // Leftmost, then longest, then a whole form (a value that is also part of another is named as itself).
                var whole = runLength == _forms[f].Length;
                if (runLength >= Threshold && (start < 0 || runStart < start || (runStart == start && (runLength > length || (runLength == length && whole)))))
                {
                    (start, length, marker) = (runStart, runLength, _markers[f]);
                }
            }
            if (start >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Chunks at least this long are bulk output (a stream at full speed, cut wherever a read ended).</summary>
    public const int BulkChunk = 4096;

    /// <summary>
    /// Where the last bytes of <paramref name="data"/> that are part of a form begin (not before
    /// <paramref name="from"/>): what may be the start of a run that the next chunk completes.
    /// <paramref name="data"/>.Length when its last byte is in no form.
    /// In bulk output, an end of 1 to 3 bytes is not held when every form is at least
    /// <see cref="Threshold"/> + 3 bytes long: the rest of a form cut there is still a run, replaced
    /// in the next chunk, so only those bytes show before its marker, and a chunk cut mid-word (nearly
    /// every one, as most single bytes are part of some form) goes out without being joined to the
    /// next. Short chunks (a value printed a byte at a time) are always held, so they read as one marker.
    /// </summary>
    public int TailStart(ReadOnlySpan<byte> data, int from, out byte[] marker)
    {
        marker = [];
        var available = data.Length - from;
        if (Count == 0 || available <= 0)
        {
            return data.Length;
        }
        if (available >= GramBytes)
        {
            var at = data.Length - GramBytes;
            var longest = 0;
            if (_grams.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(data[at..]), out var occurrences))
            {
                foreach (var (f, offset) in occurrences)
                {
                    var (left, _) = Grow(data, from, at, _forms[f], offset);
                    if (left + GramBytes > longest)
                    {
                        (longest, marker) = (left + GramBytes, _markers[f]);
                    }
                }
            }
            if (longest > 0)
            {
                return data.Length - longest;
            }
        }
        if (data.Length >= BulkChunk && _formsOutlastACut)
        {
            return data.Length;
        }
        for (var length = Math.Min(GramBytes - 1, available); length > 0; length--)
        {
            if (_shortPieces.Contains(Piece(data[^length..])))
            {
                return data.Length - length; // shorter than a run: never replaced, so no marker
            }
        }
        return data.Length;
    }

    /// <summary>
    /// How far the match of <paramref name="data"/>[<paramref name="at"/>..+4] with
    /// <paramref name="form"/>[<paramref name="offset"/>..+4] goes on to the left (not before
    /// <paramref name="from"/>) and to the right.
    /// </summary>
    private static (int Left, int Right) Grow(ReadOnlySpan<byte> data, int from, int at, byte[] form, int offset)
    {
        var left = 0;
        while (at - left - 1 >= from && offset - left - 1 >= 0 && data[at - left - 1] == form[offset - left - 1])
        {
            left++;
        }
        var tail = data[(at + GramBytes)..];
        var rest = form.AsSpan(offset + GramBytes);
        var right = tail.CommonPrefixLength(rest);
        return (left, right);
    }

    private static uint Slot(uint gram) => (uint)((gram * 0x9E3779B97F4A7C15UL) >> (64 - TableBits));

    private static uint Piece(ReadOnlySpan<byte> bytes)
    {
        uint piece = (uint)bytes.Length << 24;
        for (var i = 0; i < bytes.Length; i++)
        {
            piece |= (uint)bytes[i] << (8 * i);
        }
        return piece;
    }
}
