using System.Text;

namespace Hutch.Files.Patching;

/// <summary>Which side of the diff a hunk line belongs to.</summary>
public enum HunkLineKind
{
    /// <summary>" text": on both sides, must match and is kept.</summary>
    Context,
    /// <summary>"-text": on the old side only, must match and is removed.</summary>
    Remove,
    /// <summary>"+text": on the new side only, inserted.</summary>
    Add,
}

/// <summary>
/// One line of a hunk. The content is bytes, not a string, so a diff of a Latin-1 file or of invalid
/// UTF-8 (parsed from bytes) still matches and writes that file byte for byte.
/// </summary>
public sealed class HunkLine
{
    /// <param name="kind">Which side the line is on.</param>
    /// <param name="content">The line without its "\n" (a "\r" before it is content and stays).</param>
    /// <exception cref="ArgumentException">The content holds a "\n": one line cannot be two.</exception>
    public HunkLine(HunkLineKind kind, ReadOnlyMemory<byte> content)
    {
        if (content.Span.Contains((byte)'\n'))
        {
            throw new ArgumentException("a hunk line cannot contain a newline", nameof(content));
        }
        Kind = kind;
        Content = content;
    }

    /// <summary>A line given as text, stored as its UTF-8 bytes.</summary>
    public HunkLine(HunkLineKind kind, string text)
        : this(kind, Encoding.UTF8.GetBytes(text))
    {
    }

    public HunkLineKind Kind { get; }

    /// <summary>The line's bytes without the leading ' ', '-' or '+' and without the "\n".</summary>
    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>The content as UTF-8 text (invalid bytes shown as U+FFFD), for display and tests.</summary>
    public string Text => Encoding.UTF8.GetString(Content.Span);

    /// <summary>True on the old side of the diff (context and removed lines).</summary>
    public bool IsOld => Kind != HunkLineKind.Add;

    /// <summary>True on the new side of the diff (context and added lines).</summary>
    public bool IsNew => Kind != HunkLineKind.Remove;

    public override string ToString() => (Kind switch { HunkLineKind.Add => "+", HunkLineKind.Remove => "-", _ => " " }) + Text;
}

/// <summary>
/// One "@@ -OldStart,OldCount +NewStart,NewCount @@" block. Starts are 1-based line numbers; when a
/// side has no lines its start is the line after which the change goes (0 for the top of the file),
/// as diff(1) writes it.
/// </summary>
/// <param name="Lines">The hunk's lines in order; its context and removed lines are the old side, its context and added lines the new side.</param>
public sealed record Hunk(int OldStart, int OldCount, int NewStart, int NewCount, IReadOnlyList<HunkLine> Lines)
{
    /// <summary>The old side's last line has no "\n" ("\ No newline at end of file" after it): the hunk ends the old file.</summary>
    public bool OldNoNewlineAtEnd { get; init; }

    /// <summary>The new side's last line has no "\n": the hunk ends the new file, which ends without a newline.</summary>
    public bool NewNoNewlineAtEnd { get; init; }

    /// <summary>The text after the closing "@@" (usually the enclosing function), for display only.</summary>
    public string Section { get; init; } = "";

    /// <summary>The header as diff writes it, for messages.</summary>
    public string Header => $"@@ -{Range(OldStart, OldCount)} +{Range(NewStart, NewCount)} @@";

    private static string Range(int start, int count) => count == 1 ? $"{start}" : $"{start},{count}";
}
