namespace Hutch.Files.Patching;

/// <summary>
/// A diff that cannot be read, or a hunk that does not fit the file it is meant for. The message
/// is written for whoever produced the diff (often a model): it names the file, the hunk and the
/// line, so the diff can be fixed and sent again. Only this library throws it, hence the internal
/// constructor.
/// </summary>
public sealed class PatchException : Exception
{
    internal PatchException(string message, string? path = null, int? hunkNumber = null, int? line = null)
        : base(line is { } l ? $"line {l}: {message}" : message)
    {
        Path = path;
        HunkNumber = hunkNumber;
        Line = line;
    }

    /// <summary>The file the failing patch is for, when known (without the a/ or b/ prefix).</summary>
    public string? Path { get; }

    /// <summary>The failing hunk, counted from 1 within its file, when the failure is about one hunk.</summary>
    public int? HunkNumber { get; }

    /// <summary>The 1-based line of the diff text where parsing failed; null for failures to apply.</summary>
    public int? Line { get; }
}
