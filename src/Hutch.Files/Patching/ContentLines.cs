namespace Hutch.Files.Patching;

/// <summary>
/// A file's bytes seen as lines split on "\n", without copying or decoding: a line is its bytes up
/// to the "\n" (a "\r" included) plus whether it has that "\n", which only the last line may lack.
/// Working on bytes keeps Latin-1 files and invalid UTF-8 intact byte for byte.
/// </summary>
internal sealed class ContentLines
{
    private readonly byte[] _bytes;
    private readonly List<int> _starts = [];

    public ContentLines(byte[] bytes)
    {
        _bytes = bytes;
        for (var start = 0; start < bytes.Length;)
        {
            _starts.Add(start);
            var newline = Array.IndexOf(bytes, (byte)'\n', start);
            start = newline < 0 ? bytes.Length : newline + 1;
        }
    }

    public int Count => _starts.Count;

    /// <summary>Where line <paramref name="index"/> begins; <see cref="Count"/> gives the end of the content.</summary>
    public int Start(int index) => index < Count ? _starts[index] : _bytes.Length;

    public bool Terminated(int index) => _bytes[Start(index + 1) - 1] == '\n';

    public ReadOnlySpan<byte> Content(int index) => _bytes.AsSpan(Start(index), Start(index + 1) - Start(index) - (Terminated(index) ? 1 : 0));

    /// <summary>Whether the last line lacks its "\n" (false for empty content).</summary>
    public bool EndsWithoutNewline => Count > 0 && !Terminated(Count - 1);

    public ReadOnlySpan<byte> Bytes(int fromLine, int toLine) => _bytes.AsSpan(Start(fromLine), Start(toLine) - Start(fromLine));
}
