using System.Text;

namespace Hutch.Files.Patching;

/// <summary>
/// Lines quoted in messages: decoded as UTF-8 for reading, control characters escaped (a stray "\r"
/// is the usual reason a line that looks right does not match) and long lines cut, so one bad line
/// cannot flood an error.
/// </summary>
internal static class Shown
{
    private const int MaxChars = 80;

    public static string Quote(ReadOnlySpan<byte> line)
    {
        var text = Encoding.UTF8.GetString(line);
        var shown = new StringBuilder("'");
        foreach (var c in text)
        {
            if (shown.Length > MaxChars)
            {
                shown.Append('…');
                break;
            }
            switch (c)
            {
                case '\r': shown.Append("\\r"); break;
                case '\t': shown.Append("\\t"); break;
                case < ' ' or '\x7f': shown.Append($"\\x{(int)c:x2}"); break;
                default: shown.Append(c); break;
            }
        }
        return shown.Append('\'').ToString();
    }
}
