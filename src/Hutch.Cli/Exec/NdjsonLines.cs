namespace Hutch.Cli.Exec;

/// <summary>
/// The lines of an NDJSON body, read as they come, as Hutch.Client's NdjsonReader reads them: blank
/// lines skipped, a last line without its newline still counted, no size limit on a line.
/// </summary>
internal sealed class NdjsonLines(Http1Exchange body)
{
    private byte[] _buffer = new byte[16 * 1024];
    private int _start, _end, _scanned; // unread lines in [_start, _end); no newline in [_start, _start + _scanned)
    private bool _ended;

    /// <summary>The next non-blank line, without its newline; valid until the next call. False at the end.</summary>
    public bool TryRead(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start + _scanned, _end - _start - _scanned).IndexOf((byte)'\n');
            if (newline >= 0 || (_ended && _end > _start))
            {
                var length = newline >= 0 ? _scanned + newline : _end - _start;
                line = _buffer.AsSpan(_start, length);
                _start += newline >= 0 ? length + 1 : length;
                _scanned = 0;
                if (!IsBlank(line))
                {
                    return true;
                }
                continue;
            }
            if (_ended)
            {
                line = default;
                return false;
            }
            _scanned = _end - _start;
            MakeRoom();
            var n = body.ReadBody(_buffer.AsSpan(_end));
            _end += n;
            _ended = n == 0;
        }
    }

    /// <summary>Moves the unread bytes to the front, and doubles the buffer when they fill it (a long line).</summary>
    private void MakeRoom()
    {
        var unread = _end - _start;
        if (_end < _buffer.Length)
        {
            return;
        }
        var target = unread < _buffer.Length / 2 ? _buffer : new byte[_buffer.Length * 2];
        Buffer.BlockCopy(_buffer, _start, target, 0, unread);
        (_buffer, _start, _end) = (target, 0, unread);
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;
}
