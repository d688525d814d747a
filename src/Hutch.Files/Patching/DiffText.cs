using System.Text;

namespace Hutch.Files.Patching;

/// <summary>
/// The diff as bytes split on "\n", addressed by 0-based index and reported by 1-based line
/// number. Content lines are sliced out of one shared array, so a large diff is not copied line by
/// line. Header lines are read as Latin-1 (one char per byte) so a quoted path's octal escapes and
/// its raw UTF-8 bytes can be decoded together, exactly once, into the path string.
/// </summary>
internal sealed class DiffText
{
    private readonly byte[] _bytes;
    private readonly List<(int Start, int Length)> _lines = [];

    public DiffText(byte[] bytes)
    {
        _bytes = bytes;
        var start = 0;
        while (start < bytes.Length)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', start);
            var end = newline < 0 ? bytes.Length : newline;
            _lines.Add((start, end - start));
            start = end + 1;
        }
    }

    public int Count => _lines.Count;

    /// <summary>The line's bytes without its "\n".</summary>
    public ReadOnlyMemory<byte> Memory(int index) => _bytes.AsMemory(_lines[index].Start, _lines[index].Length);

    public ReadOnlySpan<byte> Span(int index) => Memory(index).Span;

    public bool StartsWith(int index, string ascii)
    {
        if (index >= Count)
        {
            return false;
        }
        var span = Span(index);
        if (span.Length < ascii.Length)
        {
            return false;
        }
        for (var i = 0; i < ascii.Length; i++)
        {
            if (span[i] != ascii[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>True for "" and "\r": a line a text editor emptied (see the hunk parser).</summary>
    public bool IsBlank(int index) => Span(index) is [] or [(byte)'\r'];

    /// <summary>A header line as Latin-1 text, without a trailing "\r" (a diff saved with CRLF line ends).</summary>
    public string Header(int index)
    {
        var span = Span(index);
        if (span is [.., (byte)'\r'])
        {
            span = span[..^1];
        }
        return Encoding.Latin1.GetString(span);
    }

    /// <summary>The line quoted for a message.</summary>
    public string Shown(int index) => Patching.Shown.Quote(Span(index));

    /// <summary>The 1-based line number of an index (Count + 1 for the end of the text).</summary>
    public static int Number(int index) => index + 1;
}
