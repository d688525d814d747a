using System.Text;

namespace Hutch.Cli.Output;

/// <summary>
/// Names that come from a sandbox, made safe to print on a terminal: whatever runs inside chooses its
/// file names, and a name holding escape sequences must not drive the user's terminal (as ls(1) shows
/// such characters as '?'). JSON output needs none of this: the serializer escapes control characters.
/// </summary>
internal static class SafeText
{
    public static string Show(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }
        var shown = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            shown.Append(char.IsControl(c) ? '?' : c);
        }
        return shown.ToString();
    }
}
