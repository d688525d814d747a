using System.Text;

namespace Hutch.Artifacts;

/// <summary>A Content-Disposition value that names a download's file safely, whatever characters a sandbox put in its name.</summary>
public static class ContentDisposition
{
    /// <summary><c>attachment; filename="ascii"; filename*=UTF-8''percent-encoded</c> (RFC 6266): never inline, so a browser never renders a sandbox's bytes as a page.</summary>
    public static string Attachment(string fileName)
    {
        var ascii = new StringBuilder();
        foreach (var c in fileName)
        {
            ascii.Append(c is >= ' ' and < (char)127 and not '"' and not '\\' ? c : '_');
        }
        return $"attachment; filename=\"{ascii}\"; filename*=UTF-8''{Uri.EscapeDataString(fileName)}";
    }
}
