using System.Text;
using System.Text.RegularExpressions;

namespace Hutch.Files.Patching;

/// <summary>The hunk level of the diff grammar: "@@" headers, their lines and the no-newline markers.</summary>
internal sealed partial class DiffParser
{
    // [0-9], not \d: \d also matches other scripts' digits, which int.Parse would then refuse.
    [GeneratedRegex(@"^@@ -([0-9]+)(?:,([0-9]+))? \+([0-9]+)(?:,([0-9]+))? @@(.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex HunkHeader();

    /// <summary>The hunks of one file, from the "@@" line at the cursor to the end of that file's patch.</summary>
    private List<Hunk> ParseHunks(FilePatchKind kind, string path)
    {
        if (!_text.StartsWith(_i, "@@ "))
        {
            throw Error(_i < _text.Count
                ? $"expected a hunk ('@@ -start,count +start,count @@') for {path} but found {_text.Shown(_i)}"
                : $"the patch of {path} has no hunk", _i, path);
        }
        var hunks = new List<Hunk>();
        while (true)
        {
            var headerIndex = _i;
            var hunk = ParseHunk(path, hunks.Count + 1);
            if (hunks.Count > 0)
            {
                var previous = hunks[^1];
                if (previous.OldNoNewlineAtEnd || previous.NewNoNewlineAtEnd)
                {
                    throw Error($"hunk {hunks.Count + 1} of {path} comes after hunk {hunks.Count}, which ends the file (no newline at end of file)", headerIndex, path, hunks.Count + 1);
                }
                if (FirstOldIndex(hunk) < FirstOldIndex(previous) + previous.OldCount)
                {
                    throw Error($"hunk {hunks.Count + 1} of {path} starts at old line {hunk.OldStart}, inside or before hunk {hunks.Count}; hunks must be in file order and must not overlap", headerIndex, path, hunks.Count + 1);
                }
            }
            if (kind == FilePatchKind.Add && hunk.OldCount != 0)
            {
                throw Error($"hunk {hunks.Count + 1} of new file {path} has old lines; a new file's hunk may only add", headerIndex, path, hunks.Count + 1);
            }
            if (kind == FilePatchKind.Delete && hunk.NewCount != 0)
            {
                throw Error($"hunk {hunks.Count + 1} of deleted file {path} has new lines; a deleted file's hunk may only remove", headerIndex, path, hunks.Count + 1);
            }
            hunks.Add(hunk);

            if (EndsFile(_i, out var next))
            {
                _i = next;
                return hunks;
            }
            if (_text.StartsWith(next, "@@ "))
            {
                _i = next;
                continue;
            }
            throw Error($"unexpected {_text.Shown(next)} after hunk {hunks.Count} of {path}; if the line belongs to the hunk, the line counts in its header '{hunk.Header}' are wrong", next, path, hunks.Count);
        }
    }

    /// <summary>The 0-based index of the first old line the hunk covers (for an empty side, the line it goes before).</summary>
    internal static int FirstOldIndex(Hunk hunk) => hunk.OldCount == 0 ? hunk.OldStart : hunk.OldStart - 1;

    private Hunk ParseHunk(string path, int number)
    {
        var headerIndex = _i;
        var match = HunkHeader().Match(_text.Header(_i));
        if (!match.Success)
        {
            throw Error($"malformed hunk header {_text.Shown(_i)}; expected '@@ -start,count +start,count @@'", _i, path, number);
        }
        var oldStart = Number(match.Groups[1], 0);
        var oldCount = Number(match.Groups[2], 1);
        var newStart = Number(match.Groups[3], 0);
        var newCount = Number(match.Groups[4], 1);
        if ((oldCount > 0 && oldStart == 0) || (newCount > 0 && newStart == 0))
        {
            throw Error($"hunk header {_text.Shown(_i)} starts a non-empty side at line 0; lines count from 1", _i, path, number);
        }
        var section = Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(match.Groups[5].Value.TrimStart()));
        _i++;

        var lines = new List<HunkLine>();
        var (oldLeft, newLeft) = (oldCount, newCount);
        var (oldEnded, newEnded) = (false, false);
        while (true)
        {
            if (_i < _text.Count && _text.StartsWith(_i, "\\"))
            {
                // "\ No newline at end of file" (or its translation): the line before it has no "\n".
                if (lines.Count == 0 || (lines[^1].IsOld && oldEnded) || (lines[^1].IsNew && newEnded))
                {
                    throw Error($"{_text.Shown(_i)} must follow the line it is about, once", _i, path, number);
                }
                oldEnded |= lines[^1].IsOld;
                newEnded |= lines[^1].IsNew;
                _i++;
                continue;
            }
            if (oldLeft == 0 && newLeft == 0)
            {
                break;
            }
            var (kind, content) = _i >= _text.Count ? (null, default) : Classify(_i);
            if (kind is null)
            {
                var where = _i < _text.Count ? $"at {_text.Shown(_i)}" : "at the end of the diff";
                throw Error($"hunk {number} of {path} ends early {where}: its header '{HeaderOf(oldStart, oldCount, newStart, newCount)}' announces {oldCount} old and {newCount} new lines but only {oldCount - oldLeft} old and {newCount - newLeft} new lines came", _i, path, number);
            }
            var line = new HunkLine(kind.Value, content);
            if ((line.IsOld && oldLeft == 0) || (line.IsNew && newLeft == 0))
            {
                var side = line.IsOld && oldLeft == 0 ? "old" : "new";
                throw Error($"hunk {number} of {path} has more {side} lines than its header '{HeaderOf(oldStart, oldCount, newStart, newCount)}' announces", _i, path, number);
            }
            if ((line.IsOld && oldEnded) || (line.IsNew && newEnded))
            {
                throw Error($"hunk {number} of {path} goes on after its 'No newline at end of file' marker", _i, path, number);
            }
            oldLeft -= line.IsOld ? 1 : 0;
            newLeft -= line.IsNew ? 1 : 0;
            lines.Add(line);
            _i++;
        }
        return new Hunk(oldStart, oldCount, newStart, newCount, lines)
        {
            OldNoNewlineAtEnd = oldEnded,
            NewNoNewlineAtEnd = newEnded,
            Section = section,
        };

        int Number(Group group, int absent) =>
            !group.Success ? absent
            : int.TryParse(group.ValueSpan, out var n) ? n
            : throw Error($"line number too large in {_text.Shown(headerIndex)}", headerIndex, path, number);
    }

    /// <summary>
    /// A hunk line's side and content, or null for a line that cannot be in a hunk. An empty line
    /// (or a lone "\r") is an empty context line: editors strip the lone space diff writes for one,
    /// and git apply and patch both accept that.
    /// </summary>
    private (HunkLineKind?, ReadOnlyMemory<byte>) Classify(int i)
    {
        var memory = _text.Memory(i);
        if (_text.IsBlank(i))
        {
            return (HunkLineKind.Context, memory);
        }
        HunkLineKind? kind = memory.Span[0] switch
        {
            (byte)' ' => HunkLineKind.Context,
            (byte)'-' => HunkLineKind.Remove,
            (byte)'+' => HunkLineKind.Add,
            _ => null,
        };
        return (kind, kind is null ? default : memory[1..]);
    }

    private static string HeaderOf(int oldStart, int oldCount, int newStart, int newCount) =>
        new Hunk(oldStart, oldCount, newStart, newCount, []).Header;
}
