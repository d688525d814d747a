using System.Text;

namespace Hutch.Files.Patching;

/// <summary>
/// Reads unified diffs as <c>git diff</c> and <c>diff -u</c> write them, one <see cref="FilePatch"/>
/// per file. Pure: nothing here touches the file system, so every hunk of every file can be checked
/// (with <see cref="HunkApplier"/>) before the caller changes anything.
/// </summary>
/// <remarks>
/// Strict where a lenient reader would guess: a hunk whose line counts do not match its header, or
/// text between hunks, is an error naming the line, because skipping it could silently drop part of
/// a change. Text before the first file header (a commit message, mail headers, a diffstat) is
/// skipped as git apply skips it. Binary patches, copies, symbolic links and submodules are refused.
/// </remarks>
public static class UnifiedDiff
{
    /// <summary>Parses a diff given as text; content lines are matched as their UTF-8 bytes.</summary>
    /// <exception cref="PatchException">The diff is malformed or asks for something not supported; <see cref="PatchException.Line"/> says where.</exception>
    public static IReadOnlyList<FilePatch> Parse(string text) => new DiffParser(new DiffText(Encoding.UTF8.GetBytes(text))).Parse();

    /// <summary>
    /// Parses a diff given as bytes, keeping content lines as the exact bytes they are: the way to
    /// patch files that are not UTF-8 (Latin-1 sources, generated data) byte for byte.
    /// </summary>
    /// <exception cref="PatchException">The diff is malformed or asks for something not supported; <see cref="PatchException.Line"/> says where.</exception>
    public static IReadOnlyList<FilePatch> Parse(ReadOnlySpan<byte> text) => new DiffParser(new DiffText(text.ToArray())).Parse();
}
