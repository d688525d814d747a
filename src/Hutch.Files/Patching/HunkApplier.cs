namespace Hutch.Files.Patching;

/// <summary>
/// Applies a <see cref="FilePatch"/>'s hunks to a file's current bytes and returns the new bytes.
/// Pure, so the caller can compute every file of a diff first and write only when all of them apply.
/// </summary>
/// <remarks>
/// Matching is exact (patch's fuzz 0: every context and removed line, "\r" and final newline
/// included), but a hunk may move: if its old lines are not at the stated line (shifted by how far
/// the previous hunk moved), the nearest exact match above or below is taken, as patch and git apply
/// do for files edited since the diff was made. Like git apply, a hunk without context on a side is
/// pinned there: no leading context at line 1 means the top of the file, no trailing context means
/// the end, and a hunk with no context at all (diff -U0) is only tried where it says.
/// </remarks>
public static class HunkApplier
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="current"/>.</summary>
    /// <param name="patch">One file's patch, from <see cref="UnifiedDiff.Parse(string)"/> or built by hand.</param>
    /// <param name="current">
    /// The file's bytes, or null when it does not exist, which is required for
    /// <see cref="FilePatchKind.Add"/> and refused for every other kind.
    /// </param>
    /// <returns>The new content; empty for a deletion (the caller removes the file).</returns>
    /// <exception cref="PatchException">A hunk does not fit, naming the file, the hunk and the line that differs.</exception>
    public static byte[] Apply(FilePatch patch, byte[]? current)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var path = patch.DisplayPath;
        if (patch.Kind == FilePatchKind.Add)
        {
            if (current is not null)
            {
                throw new PatchException($"{path} cannot be created: it already exists", path);
            }
            current = [];
        }
        else if (current is null)
        {
            throw new PatchException($"{path} cannot be patched: it does not exist", path);
        }

        var file = new ContentLines(current);
        var sides = patch.Hunks.Select(h => new Sides(h)).ToArray();
        var positions = Locate(path, patch.Hunks, sides, file);

        if (patch.Kind == FilePatchKind.Delete)
        {
            // A deletion must remove exactly what the file holds, or it would throw away an edit made
            // after the diff was taken.
            if (FirstUntouched(positions, sides, file.Count) is { } kept)
            {
                throw new PatchException($"{path} cannot be deleted: it holds more than the patch removes; line {kept + 1} is {Shown.Quote(file.Content(kept))}", path);
            }
            return [];
        }

        var output = new MemoryStream(current.Length + sides.Sum(s => s.NewBytes));
        var cursor = 0;
        for (var k = 0; k < sides.Length; k++)
        {
            output.Write(file.Bytes(cursor, positions[k]));
            foreach (var line in sides[k].New)
            {
                output.Write(line.Content.Span);
                if (line.Terminated)
                {
                    output.WriteByte((byte)'\n');
                }
            }
            cursor = positions[k] + sides[k].Old.Length;
        }
        output.Write(file.Bytes(cursor, file.Count));
        return output.ToArray();
    }

    /// <summary>The index of the first line no hunk covers, or null when the hunks cover the whole file.</summary>
    private static int? FirstUntouched(int[] positions, Sides[] sides, int lineCount)
    {
        var cursor = 0;
        for (var k = 0; k < positions.Length; k++)
        {
            if (positions[k] > cursor)
            {
                return cursor;
            }
            cursor = positions[k] + sides[k].Old.Length;
        }
        return cursor < lineCount ? cursor : null;
    }

    /// <summary>Where each hunk's old lines are in the file, in order and without overlap.</summary>
    private static int[] Locate(string path, IReadOnlyList<Hunk> hunks, Sides[] sides, ContentLines file)
    {
        var positions = new int[hunks.Count];
        var (floor, offset) = (0, 0);
        for (var k = 0; k < hunks.Count; k++)
        {
            var (hunk, side) = (hunks[k], sides[k]);
            var stated = side.Old.Length == 0 ? hunk.OldStart : hunk.OldStart - 1;
            var last = file.Count - side.Old.Length;
            var expected = Math.Max(floor, Math.Min(stated + offset, last));
            var found = Candidates(hunk, side, expected, floor, last).FirstOrDefault(p => Mismatch(side, file, p) is null, -1);
            if (found < 0)
            {
                throw new PatchException($"hunk {k + 1} of {path} does not apply: {Mismatch(side, file, expected) ?? "its lines are not where it says"}", path, k + 1);
            }
            positions[k] = found;
            floor = found + side.Old.Length;
            offset = found - stated;
        }
        return positions;
    }

    /// <summary>The positions to try, nearest to the expected one first.</summary>
    private static IEnumerable<int> Candidates(Hunk hunk, Sides side, int expected, int floor, int last)
    {
        if (expected > last)
        {
            yield break;
        }
        yield return expected;
        if (side.Leading == 0 && side.Trailing == 0)
        {
            yield break;
        }
        if (side.Leading == 0 && hunk.OldStart <= 1)
        {
            if (floor == 0 && expected != 0)
            {
                yield return 0;
            }
            yield break;
        }
        if (side.Trailing == 0)
        {
            if (last != expected)
            {
                yield return last;
            }
            yield break;
        }
        for (var distance = 1; expected - distance >= floor || expected + distance <= last; distance++)
        {
            if (expected - distance >= floor)
            {
                yield return expected - distance;
            }
            if (expected + distance <= last)
            {
                yield return expected + distance;
            }
        }
    }

    /// <summary>Why the hunk does not fit at line index <paramref name="at"/>, or null if it does.</summary>
    private static string? Mismatch(Sides side, ContentLines file, int at)
    {
        for (var j = 0; j < side.Old.Length; j++)
        {
            var (expected, lineNumber) = (side.Old[j], at + j + 1);
            if (at + j >= file.Count)
            {
                return file.Count == 0
                    ? $"expected line {lineNumber} to be {Shown.Quote(expected.Content.Span)} but the file is empty"
                    : $"expected line {lineNumber} to be {Shown.Quote(expected.Content.Span)} but the file ends at line {file.Count}";
            }
            var actual = file.Content(at + j);
            if (!actual.SequenceEqual(expected.Content.Span))
            {
                return $"expected line {lineNumber} to be {Shown.Quote(expected.Content.Span)} but it is {Shown.Quote(actual)}{LineEndHint(expected.Content.Span, actual)}";
            }
            if (file.Terminated(at + j) != expected.Terminated)
            {
                return expected.Terminated
                    ? $"expected line {lineNumber}, {Shown.Quote(actual)}, to end with a newline but it is the last line and has none; mark it with '\\ No newline at end of file'"
                    : $"expected line {lineNumber}, {Shown.Quote(actual)}, to be the last line with no newline at end of file, but {(at + j + 1 < file.Count ? "more lines follow" : "it ends with a newline")}";
            }
        }
        var end = at + side.Old.Length;
        if (side.New.Length > 0 && !side.New[^1].Terminated && end != file.Count)
        {
            return $"the hunk ends its new content without a newline, so it must reach the end of the file, but line {end + 1} follows";
        }
        if (side.Old.Length == 0 && side.New.Length > 0 && at == file.Count && file.EndsWithoutNewline)
        {
            return $"line {file.Count}, the last line, has no newline at end of file, so lines cannot be added after it unless the hunk changes it too";
        }
        return null;
    }

    /// <summary>A hint when a line differs only by "\r", the usual CRLF-vs-LF mix-up.</summary>
    private static string LineEndHint(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual) =>
        expected.TrimEnd((byte)'\r').SequenceEqual(actual.TrimEnd((byte)'\r'))
            ? actual.EndsWith("\r"u8) ? " (the file has CRLF line ends and the patch has not)" : " (the patch has CRLF line ends and the file has not)"
            : "";

    /// <summary>One line of a side: its bytes and whether a "\n" follows.</summary>
    private readonly record struct SideLine(ReadOnlyMemory<byte> Content, bool Terminated);

    /// <summary>A hunk's old and new lines as they are in the file, plus how much context frames its change.</summary>
    private sealed class Sides
    {
        public Sides(Hunk hunk)
        {
            Old = Side(hunk, l => l.IsOld, hunk.OldNoNewlineAtEnd);
            New = Side(hunk, l => l.IsNew, hunk.NewNoNewlineAtEnd);
            Leading = hunk.Lines.TakeWhile(l => l.Kind == HunkLineKind.Context).Count();
            Trailing = Enumerable.Reverse(hunk.Lines).TakeWhile(l => l.Kind == HunkLineKind.Context).Count();
            NewBytes = New.Sum(l => l.Content.Length + 1);
        }

        public SideLine[] Old { get; }
        public SideLine[] New { get; }
        public int Leading { get; }
        public int Trailing { get; }
        public int NewBytes { get; }

        private static SideLine[] Side(Hunk hunk, Func<HunkLine, bool> onSide, bool noNewlineAtEnd)
        {
            var lines = hunk.Lines.Where(onSide).Select(l => new SideLine(l.Content, true)).ToArray();
            if (noNewlineAtEnd && lines.Length > 0)
            {
                lines[^1] = lines[^1] with { Terminated = false };
            }
            return lines;
        }
    }
}
