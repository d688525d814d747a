using System.Text;
using System.Text.Unicode;

namespace Hutch.Mcp.Tools;

/// <summary>
/// One output stream as an answer shows it: text that fits a context window. Over the budget, the
/// head and the tail with a marker between that says how much was cut and how to read it; output
/// that is not text (a NUL byte, or bytes that are not UTF-8) is never dumped, only counted.
/// </summary>
internal static class ShownOutput
{
    /// <summary>How much of a cut stream's end is shown after the marker.</summary>
    public const int TailBytes = 2048;

    /// <summary>No NUL, and UTF-8 but for a character cut at either end (a budget cuts anywhere).</summary>
    public static bool IsText(ReadOnlySpan<byte> bytes) => !bytes.Contains((byte)0) && Whole(bytes).End >= 0;

    /// <param name="head">The stream's first bytes, as forwarded (up to the exec's budget).</param>
    /// <param name="tail">Its last bytes when it was cut (null when whole).</param>
    /// <param name="total">Its whole length.</param>
    /// <param name="read">How to read the cut part: the tool call to make, with {offset} for where the head ends.</param>
    public static string Of(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long total, string stream, string? read)
    {
        if (!IsText(head) || !IsText(tail))
        {
            return $"[{total:N0} bytes of binary {stream} not shown{(read is null ? "" : $": read it with {Fill(read, 0)} (base64)")}]";
        }
        var text = DecodeWhole(head);
        if (total <= head.Length + tail.Length)
        {
            return text + DecodeWhole(tail);
        }
        var cut = total - head.Length - tail.Length;
        return $"{text}\n[… {cut:N0} bytes of {stream} cut here ({total:N0} in all){(read is null ? "" : $": read them with {Fill(read, head.Length)}")} …]\n{DecodeWhole(tail)}";
    }

    private static string Fill(string read, long offset) => read.Replace("{offset}", offset.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>A head cut mid-character loses its partial last character, a tail its partial first: never a U+FFFD of our making.</summary>
    private static string DecodeWhole(ReadOnlySpan<byte> bytes)
    {
        var (start, end) = Whole(bytes);
        return Encoding.UTF8.GetString(bytes[start..end]);
    }

    /// <summary>The longest valid UTF-8 run left when up to 3 continuation bytes are dropped at the start and up to 3 bytes at the end.</summary>
    private static (int Start, int End) Whole(ReadOnlySpan<byte> bytes)
    {
        var start = 0;
        while (start < bytes.Length && start < 3 && (bytes[start] & 0xC0) == 0x80)
        {
            start++;
        }
        for (var end = bytes.Length; end >= Math.Max(start, bytes.Length - 3); end--)
        {
            // What is dropped at the end must be the start of a character: a lead byte, then continuations.
            var cutCharacter = end == bytes.Length || (bytes[end] >= 0xC0 && !bytes[(end + 1)..].ContainsAnyExceptInRange((byte)0x80, (byte)0xBF));
            if (cutCharacter && Utf8.IsValid(bytes[start..end]))
            {
                return (start, end);
            }
        }
        return (0, -1); // not text
    }
}
