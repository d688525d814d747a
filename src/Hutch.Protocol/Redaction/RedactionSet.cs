using System.Buffers.Binary;
using System.Text;

namespace Hutch.Protocol.Redaction;

/// <summary>A secret a sandbox holds, as redaction needs it: its name (for the marker) and its value.</summary>
public sealed record RedactedSecret(string Name, byte[] Value);

/// <summary>
/// What to find in a stream and what to put instead: every form (<see cref="SecretForms"/>) of every
/// secret, with a sampled q-gram filter in front of the exact comparison. The filter looks at one
/// q-byte gram every <c>shortest − q + 1</c> bytes (any occurrence of a form covers one) and checks
/// a 2²⁰-bit table of the grams of each form's first <c>shortest</c> bytes; only a hit is compared,
/// against the forms that start with the byte there. Immutable; shared by any number of
/// <see cref="Redactor"/>s.
/// </summary>
public sealed class RedactionSet
{
    /// <summary>Values shorter than this are refused by the store: redacting them would eat ordinary output.</summary>
    public const int MinValueBytes = 8;

    private const int TableBits = 20;

    private readonly ulong[] _grams = new ulong[(1 << TableBits) / 64];

    /// <summary>Forms by their first byte, longest first (leftmost-longest wins).</summary>
    private readonly Pattern[][] _byFirstByte = new Pattern[256][];

    private RedactionSet(IReadOnlyList<Pattern> patterns)
    {
        Count = patterns.Count;
        Shortest = patterns.Count == 0 ? 0 : patterns.Min(p => p.Bytes.Length);
        Longest = patterns.Count == 0 ? 0 : patterns.Max(p => p.Bytes.Length);
        GramBytes = Shortest >= 16 ? 8 : 4;
        for (var b = 0; b < 256; b++)
        {
            _byFirstByte[b] = [.. patterns.Where(p => p.Bytes[0] == b).OrderByDescending(p => p.Bytes.Length)];
        }
        foreach (var pattern in patterns)
        {
            for (var i = 0; i + GramBytes <= Shortest; i++)
            {
                var slot = Slot(pattern.Bytes.AsSpan(i));
                _grams[slot >> 6] |= 1UL << (int)(slot & 63);
            }
        }
    }

    /// <summary>A set that redacts nothing.</summary>
    public static RedactionSet Empty { get; } = new([]);

    /// <summary>The forms of each secret; a value shorter than <see cref="MinValueBytes"/> is an error (the store refuses them first).</summary>
    public static RedactionSet Of(IEnumerable<RedactedSecret> secrets)
    {
        var patterns = new List<Pattern>();
        foreach (var secret in secrets)
        {
            if (secret.Value.Length < MinValueBytes)
            {
                throw new ArgumentException($"secret {secret.Name}: a value to redact has at least {MinValueBytes} bytes", nameof(secrets));
            }
            var marker = Encoding.UTF8.GetBytes($"[REDACTED:{secret.Name}]");
            patterns.AddRange(SecretForms.Of(secret.Value).Select(form => new Pattern(form, marker)));
        }
        return new RedactionSet(patterns);
    }

    /// <summary>How many forms are looked for.</summary>
    public int Count { get; }

    /// <summary>The shortest form's length: the filter's window.</summary>
    public int Shortest { get; }

    /// <summary>The longest form's length: at most this less one byte is ever held back.</summary>
    public int Longest { get; }

    private int GramBytes { get; }

    private int Step => Shortest - GramBytes + 1;

    /// <summary>The leftmost (then longest) form that lies wholly in <paramref name="data"/> at or after <paramref name="from"/>.</summary>
    public bool TryFindNext(ReadOnlySpan<byte> data, int from, out int start, out Pattern pattern)
    {
        (start, pattern) = (-1, default);
        if (Count == 0)
        {
            return false;
        }
        var reach = Shortest - GramBytes; // a gram at i is inside an occurrence starting in [i − reach, i]
        for (var i = (from + Step - 1) / Step * Step; i + GramBytes <= data.Length; i += Step)
        {
            if (!Hit(data[i..]))
            {
                continue;
            }
            for (var s = Math.Max(from, i - reach); s <= i; s++)
            {
                foreach (var candidate in _byFirstByte[data[s]])
                {
                    if (s + candidate.Bytes.Length <= data.Length && data.Slice(s, candidate.Bytes.Length).SequenceEqual(candidate.Bytes))
                    {
                        (start, pattern) = (s, candidate);
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /// <summary>
    /// Where the bytes that may still become a form begin: the earliest position at or after
    /// <paramref name="from"/> from which the rest of <paramref name="data"/> is a proper prefix of a
    /// form (<paramref name="data"/>.Length when none). <paramref name="prefixOf"/> is that form.
    /// </summary>
    public int PartialStart(ReadOnlySpan<byte> data, int from, out Pattern prefixOf)
    {
        prefixOf = default;
        for (var p = Math.Max(from, data.Length - Longest + 1); p < data.Length; p++)
        {
            var tail = data[p..];
            foreach (var candidate in _byFirstByte[data[p]])
            {
                if (candidate.Bytes.Length > tail.Length && candidate.Bytes.AsSpan(0, tail.Length).SequenceEqual(tail))
                {
                    prefixOf = candidate;
                    return p;
                }
            }
        }
        return data.Length;
    }

    private bool Hit(ReadOnlySpan<byte> at)
    {
        var slot = Slot(at);
        return (_grams[slot >> 6] & (1UL << (int)(slot & 63))) != 0;
    }

    private uint Slot(ReadOnlySpan<byte> at)
    {
        var gram = GramBytes == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(at) : BinaryPrimitives.ReadUInt32LittleEndian(at);
        return (uint)((gram * 0x9E3779B97F4A7C15UL) >> (64 - TableBits));
    }

    /// <summary>One form of one secret and the marker that replaces it.</summary>
    public readonly record struct Pattern(byte[] Bytes, byte[] Marker);
}
