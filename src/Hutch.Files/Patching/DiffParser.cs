namespace Hutch.Files.Patching;

/// <summary>
/// The file level of the diff grammar: which file each patch is about and what happens to it. Hunks
/// are read in DiffParser.Hunks.cs. One instance reads one diff, front to back.
/// </summary>
internal sealed partial class DiffParser(DiffText text)
{
    private const string DevNull = "/dev/null";
    private const string GitHeader = "diff --git ";

    private readonly DiffText _text = text;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    private int _i;

    public IReadOnlyList<FilePatch> Parse()
    {
        while (_i < _text.Count && !IsFileStart(_i))
        {
            if (_text.StartsWith(_i, "@@ "))
            {
                throw Error("a hunk comes before any file header ('diff --git' or '---' and '+++' lines)", _i);
            }
            _i++;
        }
        var patches = new List<FilePatch>();
        while (_i < _text.Count && !IsSignature(_i))
        {
            var start = _i;
            var patch = _text.StartsWith(_i, GitHeader) ? ParseGitFile() : ParsePlainFile();
            CheckTouchedOnce(patch, start);
            patches.Add(patch);
        }
        return patches;
    }

    /// <summary>A line that begins a file's patch: git's header, a ---/+++ pair, or the "diff …" line diff -r writes before one.</summary>
    private bool IsFileStart(int i) =>
        _text.StartsWith(i, GitHeader)
        || _text.StartsWith(i, "diff --cc ") || _text.StartsWith(i, "diff --combined ")
        || (_text.StartsWith(i, "--- ") && _text.StartsWith(i + 1, "+++ "))
        || (_text.StartsWith(i, "diff ") && ((_text.StartsWith(i + 1, "--- ") && _text.StartsWith(i + 2, "+++ ")) || _text.StartsWith(i + 1, "Binary files ")))
        || (_text.StartsWith(i, "Binary files ") && _text.Header(i).EndsWith(" differ", StringComparison.Ordinal));

    /// <summary>The "-- " that git format-patch puts before its version trailer, with no patch after it.</summary>
    private bool IsSignature(int i)
    {
        if (!_text.Span(i).SequenceEqual("-- "u8) && !_text.Span(i).SequenceEqual("-- \r"u8))
        {
            return false;
        }
        for (var j = i + 1; j < _text.Count; j++)
        {
            if (IsFileStart(j) || _text.StartsWith(j, "@@ "))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Where a file's patch may end: the end of the diff, the next file, or format-patch's trailer, after any blank lines.</summary>
    private bool EndsFile(int i, out int next)
    {
        next = i;
        while (next < _text.Count && _text.IsBlank(next))
        {
            next++;
        }
        return next == _text.Count || IsFileStart(next) || IsSignature(next);
    }

    private FilePatch ParseGitFile()
    {
        var headerIndex = _i;
        var (headerOld, headerNew) = GitPath.SplitHeader(_text.Header(_i)[GitHeader.Length..]);
        var header = new GitHeaderFields { HeaderOld = headerOld, HeaderNew = headerNew };
        _i++;
        while (_i < _text.Count)
        {
            var line = _text.Header(_i);
            if (line.StartsWith("--- ", StringComparison.Ordinal))
            {
                if (!_text.StartsWith(_i + 1, "+++ "))
                {
                    throw Error("a '---' line must be followed by a '+++' line", _i + 1);
                }
                header.Minus = FileLinePath(_i);
                header.Plus = FileLinePath(_i + 1);
                _i += 2;
                var (kind, oldPath, newPath) = Resolve(header, headerIndex);
                var hunks = ParseHunks(kind, oldPath ?? newPath!);
                return new FilePatch(kind, oldPath, newPath, header.NewMode, hunks);
            }
            if (EndsFile(_i, out var next))
            {
                _i = next;
                break;
            }
            if (line.StartsWith("old mode ", StringComparison.Ordinal))
            {
                Mode(line["old mode ".Length..], _i);
            }
            else if (line.StartsWith("new mode ", StringComparison.Ordinal))
            {
                header.NewMode = Mode(line["new mode ".Length..], _i);
            }
            else if (line.StartsWith("deleted file mode ", StringComparison.Ordinal))
            {
                Mode(line["deleted file mode ".Length..], _i);
                header.Deleted = true;
            }
            else if (line.StartsWith("new file mode ", StringComparison.Ordinal))
            {
                header.NewMode = Mode(line["new file mode ".Length..], _i);
                header.Added = true;
            }
            else if (AfterAny(line, "rename from ", "rename old ") is { } from)
            {
                header.RenameFrom = RestPath(from, _i);
            }
            else if (AfterAny(line, "rename to ", "rename new ") is { } to)
            {
                header.RenameTo = RestPath(to, _i);
            }
            else if (line.StartsWith("copy from ", StringComparison.Ordinal) || line.StartsWith("copy to ", StringComparison.Ordinal))
            {
                throw Error("copy patches are not supported; send the copy as a new file", _i);
            }
            else if (line.StartsWith("Binary files ", StringComparison.Ordinal) || line == "GIT binary patch")
            {
                throw Error("binary patches are not supported", _i);
            }
            else if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                throw Error("a hunk must come after '---' and '+++' lines naming its file", _i);
            }
            else if (!line.StartsWith("index ", StringComparison.Ordinal)
                && !line.StartsWith("similarity index ", StringComparison.Ordinal)
                && !line.StartsWith("dissimilarity index ", StringComparison.Ordinal))
            {
                throw Error($"unexpected {_text.Shown(_i)} in the header of a file patch", _i);
            }
            _i++;
        }
        var (k, o, n) = Resolve(header, headerIndex);
        return new FilePatch(k, o, n, header.NewMode, []);
    }

    private FilePatch ParsePlainFile()
    {
        if (_text.StartsWith(_i, "diff --cc ") || _text.StartsWith(_i, "diff --combined "))
        {
            throw Error("combined (merge) diffs are not supported", _i);
        }
        if (_text.StartsWith(_i, "diff "))
        {
            _i++;
        }
        if (_text.StartsWith(_i, "Binary files "))
        {
            throw Error("binary patches are not supported", _i);
        }
        var headerIndex = _i;
        var minus = FileLinePath(_i);
        var plus = FileLinePath(_i + 1);
        _i += 2;
        var prefixed = (minus == DevNull || GitPath.HasPrefix(minus, 'a')) && (plus == DevNull || GitPath.HasPrefix(plus, 'b'));
        var oldPath = minus == DevNull ? null : Decoded(prefixed ? minus[2..] : minus, headerIndex);
        var newPath = plus == DevNull ? null : Decoded(prefixed ? plus[2..] : plus, headerIndex + 1);
        var (kind, path) = (oldPath, newPath) switch
        {
            (null, null) => throw Error("both sides of the patch are /dev/null", headerIndex),
            (null, { } n) => (FilePatchKind.Add, n),
            ({ } o, null) => (FilePatchKind.Delete, o),
            ({ } o, { } n) => (FilePatchKind.Modify, Likelier(o, n)),
        };
        var hunks = ParseHunks(kind, path);
        if (kind != FilePatchKind.Modify)
        {
            return new FilePatch(kind, oldPath, newPath, null, hunks);
        }
        // diff -N writes a missing file as an empty one dated at the epoch instead of /dev/null.
        if (PlainTimestamps.IsEpoch(_text.Header(headerIndex)) && hunks.All(h => h.OldCount == 0) && newPath is not null)
        {
            return new FilePatch(FilePatchKind.Add, null, newPath, null, hunks);
        }
        if (PlainTimestamps.IsEpoch(_text.Header(headerIndex + 1)) && hunks.All(h => h.NewCount == 0) && oldPath is not null)
        {
            return new FilePatch(FilePatchKind.Delete, oldPath, null, null, hunks);
        }
        return new FilePatch(kind, path, path, null, hunks);
    }

    /// <summary>
    /// The file a plain diff with two different names patches ("--- foo.c.orig" / "+++ foo.c"), by
    /// GNU patch's rule without its look at the disk: fewest directories, then shortest base name,
    /// then shortest name, then the old one. A plain diff has no way to say "rename".
    /// </summary>
    private static string Likelier(string old, string @new)
    {
        static (int, int, int) Rank(string p) => (p.Count(c => c == '/'), p.Length - p.LastIndexOf('/') - 1, p.Length);
        return Rank(@new).CompareTo(Rank(old)) < 0 ? @new : old;
    }

    /// <summary>What the header lines, taken together, say the patch does to which file.</summary>
    private (FilePatchKind Kind, string? Old, string? New) Resolve(GitHeaderFields h, int headerIndex)
    {
        if ((h.RenameFrom is null) != (h.RenameTo is null))
        {
            throw Error("a rename needs both 'rename from' and 'rename to'", headerIndex);
        }
        // git writes a/ and b/ on every path or (--no-prefix) on none; strip only in the first case, so
        // a file that really lives in a directory "a" keeps its name.
        var prefixed = true;
        var any = false;
        foreach (var (path, side) in new[] { (h.HeaderOld, 'a'), (h.Minus, 'a'), (h.HeaderNew, 'b'), (h.Plus, 'b') })
        {
            if (path is not null && path != DevNull)
            {
                any = true;
                prefixed &= GitPath.HasPrefix(path, side);
            }
        }
        prefixed &= any;
        string? Strip(string? p) => p is null || p == DevNull ? null : prefixed ? p[2..] : p;

        var added = h.Added || h.Minus == DevNull;
        var deleted = h.Deleted || h.Plus == DevNull;
        if (added && deleted)
        {
            throw Error("a patch cannot both create and delete its file", headerIndex);
        }
        var old = Agree("old", headerIndex, h.RenameFrom, Strip(h.Minus), Strip(h.HeaderOld));
        var @new = Agree("new", headerIndex, h.RenameTo, Strip(h.Plus), Strip(h.HeaderNew));
        if ((!added && old is null) || (!deleted && @new is null))
        {
            throw Error($"cannot tell which file {_text.Shown(headerIndex)} is about", headerIndex);
        }
        old = added ? null : Decoded(old!, headerIndex);
        @new = deleted ? null : Decoded(@new!, headerIndex);
        if ((added || deleted) && h.RenameFrom is not null)
        {
            throw Error("a patch cannot both rename its file and create or delete it", headerIndex);
        }
        // git diff --no-index of two differently named files has no rename lines, and git apply
        // treats it as a rename: so do we.
        var kind = added ? FilePatchKind.Add
            : deleted ? FilePatchKind.Delete
            : h.RenameFrom is not null || old != @new ? FilePatchKind.Rename
            : FilePatchKind.Modify;
        return (kind, old, @new);
    }

    /// <summary>The one name that every header line naming a side gives it.</summary>
    private string? Agree(string side, int headerIndex, params string?[] names)
    {
        string? agreed = null;
        foreach (var name in names)
        {
            if (name is null)
            {
                continue;
            }
            if (agreed is not null && agreed != name)
            {
                throw Error($"the header names two different {side} files, '{GitPath.Decode(agreed) ?? agreed}' and '{GitPath.Decode(name) ?? name}'", headerIndex);
            }
            agreed = name;
        }
        return agreed;
    }

    /// <summary>The rest of the line after whichever prefix it starts with (git once wrote "rename old/new").</summary>
    private static string? AfterAny(string line, params string[] prefixes) =>
        prefixes.FirstOrDefault(p => line.StartsWith(p, StringComparison.Ordinal)) is { } prefix ? line[prefix.Length..] : null;

    private string FileLinePath(int i) =>
        GitPath.FromFileLine(_text.Header(i)[4..]) ?? throw Error($"cannot read the file name in {_text.Shown(i)}", i);

    private string RestPath(string rest, int i) =>
        GitPath.FromRest(rest) ?? throw Error($"cannot read the file name in {_text.Shown(i)}", i);

    private string Decoded(string latin1, int i) =>
        GitPath.Decode(latin1) ?? throw Error($"the file name in {_text.Shown(i)} is not valid UTF-8", i);

    /// <summary>
    /// The permission bits of a git mode ("100755" → 0o755). Only regular files: a symbolic link
    /// (120000) written as a file would hold its target as text, and a submodule (160000) is not a
    /// file at all.
    /// </summary>
    private int Mode(string text, int i)
    {
        var mode = 0;
        if (text.Length is 0 or > 7 || !text.All(c => c is >= '0' and <= '7'))
        {
            throw Error($"{_text.Shown(i)} does not end with an octal file mode", i);
        }
        foreach (var c in text)
        {
            mode = (mode << 3) | (c - '0');
        }
        return (mode & 0xF000) switch
        {
            0x8000 => mode & 0xFFF, // S_IFREG
            0xA000 => throw Error("symbolic link patches are not supported", i),
            0xE000 => throw Error("submodule patches are not supported", i),
            _ => throw Error($"{_text.Shown(i)} is not the mode of a regular file", i),
        };
    }

    /// <summary>
    /// Each path may be read by one patch and written by one patch: the caller computes every file's
    /// new content from its current content before writing any, so a second patch of the same file
    /// would silently overwrite the first one's result.
    /// </summary>
    private void CheckTouchedOnce(FilePatch patch, int start)
    {
        if ((patch.OldPath is { } o && !_read.Add(o)) || (patch.NewPath is { } n && !_written.Add(n)))
        {
            throw Error($"{patch.DisplayPath} is patched twice in this diff; put all of its changes in one patch", start, patch.DisplayPath);
        }
    }

    private static PatchException Error(string message, int index, string? path = null, int? hunk = null) =>
        new(message, path, hunk, DiffText.Number(index));

    /// <summary>What the extended header lines of one "diff --git" said, as read (Latin-1, prefixes on).</summary>
    private sealed class GitHeaderFields
    {
        public string? HeaderOld, HeaderNew, Minus, Plus, RenameFrom, RenameTo;
        public bool Added, Deleted;
        public int? NewMode;
    }
}
