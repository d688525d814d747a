using System.Text;
using Hutch.Files.Patching;

namespace Hutch.Tests.Files.Patching;

/// <summary>Applying parsed hunks to current file bytes: exact matches, moved context, and refusals that say where.</summary>
[Trait("Category", "Unit")]
public sealed class HunkApplierTests
{
    private static string Apply(string diff, string? current) =>
        Encoding.UTF8.GetString(HunkApplier.Apply(Assert.Single(UnifiedDiff.Parse(diff)), current is null ? null : Encoding.UTF8.GetBytes(current)));

    private static PatchException Refused(string diff, string? current) =>
        Assert.Throws<PatchException>(() => Apply(diff, current));

    /// <summary>Lines "l1\n" … "lN\n".</summary>
    private static string Numbered(int count) => string.Concat(Enumerable.Range(1, count).Select(i => $"l{i}\n"));

    [Fact]
    public void Apply_GitSample_ReproducesEveryFileAsGitWroteIt()
    {
        var before = new Dictionary<string, string?>
        {
            ["added.txt"] = null,
            ["café.txt"] = "caf\n",
            ["crlf.txt"] = "a\r\nb\r\nc\r\n",
            ["del.txt"] = "gone\naway\n",
            ["mod.txt"] = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n",
            ["old_name.txt"] = "line1\nline2\nline3\nline4\nline5\n",
            ["nonl.txt"] = "keep\nlast",
            ["ren2.txt"] = "r1\nr2\nr3\nr4\nr5\nr6\nr7\n",
            ["run.sh"] = "#!/bin/sh\necho hi\n",
            ["with space.txt"] = "x\ny\n",
        };
        var after = new Dictionary<string, string>
        {
            ["added.txt"] = "brand\nnew",
            ["café.txt"] = "café\n",
            ["crlf.txt"] = "a\r\nB\r\nc\r\n",
            ["del.txt"] = "",
            ["mod.txt"] = "one\nTWO\nthree\nfour\nfive\nsix\nseven\neight\nnine\nTEN\neleven\n",
            ["new_name.txt"] = "line1\nline2\nline3\nline4\nline5\n",
            ["nonl.txt"] = "keep\nlast\n",
            ["ren3.txt"] = "r1\nr2\nr3\nR4\nr5\nr6\nr7\n",
            ["run.sh"] = "#!/bin/sh\necho hi\n",
            ["with space.txt"] = "x\nY\n",
        };
        foreach (var patch in UnifiedDiff.Parse(GitSamples.Many))
        {
            var old = patch.OldPath is null ? null : before[patch.OldPath];
            var result = HunkApplier.Apply(patch, old is null ? null : Encoding.UTF8.GetBytes(old));
            Assert.Equal(after[patch.NewPath ?? patch.OldPath!], Encoding.UTF8.GetString(result));
        }
    }

    [Fact]
    public void Apply_ContextMovedDown_AppliesWhereTheContextNowIs()
    {
        var diff = "--- a/x\n+++ b/x\n@@ -4,3 +4,3 @@\n l4\n-l5\n+five\n l6\n";
        var current = "new1\nnew2\nnew3\n" + Numbered(10);
        Assert.Equal("new1\nnew2\nnew3\nl1\nl2\nl3\nl4\nfive\nl6\nl7\nl8\nl9\nl10\n", Apply(diff, current));
    }

    [Fact]
    public void Apply_ContextMovedUp_AppliesWhereTheContextNowIs()
    {
        var diff = "--- a/x\n+++ b/x\n@@ -8,3 +8,3 @@\n l8\n-l9\n+nine\n l10\n";
        Assert.Equal("l4\nl5\nl6\nl7\nl8\nnine\nl10\nl11\nl12\n", Apply(diff, Numbered(12)[9..]));
    }

    [Fact]
    public void Apply_SecondHunk_IsLookedForWhereTheFirstHunksShiftPutsIt()
    {
        // "x y z" is at old lines 8 and 11; hunk 2 changes the one at 11. Three lines inserted at the
        // top shift hunk 1 by 3, so hunk 2 is looked for at 14, not at its stated 11, where the
        // shifted first copy now sits and would match too.
        var old = "a\nb\nc\nd\ne\nf\ng\nx\ny\nz\nx\ny\nz\nk\n";
        var diff = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -11,3 +11,3 @@\n x\n-y\n+Y\n z\n";
        Assert.Equal("N1\nN2\nN3\na\nB\nc\nd\ne\nf\ng\nx\ny\nz\nx\nY\nz\nk\n", Apply(diff, "N1\nN2\nN3\n" + old));
    }

    [Fact]
    public void Apply_HunkThatMatchesNowhere_NamesFileHunkAndTheLineThatDiffers()
    {
        var current = Numbered(20).Replace("l14\n", "bar\n");
        var diff = "--- a/src/a.py\n+++ b/src/a.py\n@@ -2,3 +2,3 @@\n l2\n-l3\n+three\n l4\n@@ -13,3 +13,3 @@\n l13\n-foo\n+FOO\n l15\n";
        var e = Refused(diff, current);
        Assert.Equal(("src/a.py", 2, null), (e.Path, e.HunkNumber, e.Line));
        Assert.Equal("hunk 2 of src/a.py does not apply: expected line 14 to be 'foo' but it is 'bar'", e.Message);
    }

    [Fact]
    public void Apply_LongMismatchingLines_AreCutShortInTheMessage()
    {
        var longLine = new string('x', 500);
        var e = Refused($"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-{longLine}\n+y\n", longLine + "z\n");
        Assert.True(e.Message.Length < 250, e.Message);
        Assert.Contains("…'", e.Message);
    }

    [Fact]
    public void Apply_LfPatchOnCrlfFile_SaysTheLineEndsDiffer()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n", "a\r\nb\r\n");
        Assert.Contains("expected line 1 to be 'a' but it is 'a\\r' (the file has CRLF line ends and the patch has not)", e.Message);
    }

    [Fact]
    public void Apply_HunkBeyondTheEndOfTheFile_SaysWhereTheFileEnds()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", "a\nb\n");
        Assert.Equal("hunk 1 of x does not apply: expected line 3 to be 'c' but the file ends at line 2", e.Message);
    }

    [Fact]
    public void Apply_OverlappingMatches_AreRefusedForTheLaterHunk()
    {
        // Both hunks' old lines are only at lines 1-2 of the file: they cannot both take them.
        var diff = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -5,2 +5,2 @@\n a\n-b\n+C\n";
        var e = Refused(diff, "a\nb\nq\nq\n");
        Assert.Equal(2, e.HunkNumber);
    }

    [Fact]
    public void Apply_AddOverExistingFile_IsRefused()
    {
        var e = Refused("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+n\n", "");
        Assert.Equal("n.txt", e.Path);
        Assert.Contains("already exists", e.Message);
    }

    [Fact]
    public void Apply_ModifyOfMissingFile_IsRefused()
    {
        Assert.Contains("does not exist", Refused("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", null).Message);
    }

    [Fact]
    public void Apply_Add_ReturnsTheAddedLines()
    {
        Assert.Equal("one\ntwo\n", Apply("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n", null));
    }

    [Fact]
    public void Apply_AddOfEmptyFile_ReturnsNothing()
    {
        Assert.Equal("", Apply("diff --git a/e b/e\nnew file mode 100644\nindex 0000000..e69de29\n", null));
    }

    [Fact]
    public void Apply_DeleteOfUnchangedFile_ReturnsEmpty()
    {
        Assert.Equal("", Apply("--- a/d\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n", "x\ny\n"));
    }

    [Fact]
    public void Apply_DeleteOfFileThatGrewSinceTheDiff_IsRefusedNamingTheExtraLine()
    {
        var e = Refused("--- a/d\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n", "x\ny\nadded later\n");
        Assert.Equal("d cannot be deleted: it holds more than the patch removes; line 3 is 'added later'", e.Message);
    }

    [Fact]
    public void Apply_DeleteOfFileChangedSinceTheDiff_IsRefused()
    {
        var e = Refused("--- a/d\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n", "x\nY\n");
        Assert.Equal(("d", 1), (e.Path, e.HunkNumber));
        Assert.Contains("expected line 2 to be 'y' but it is 'Y'", e.Message);
    }

    [Fact]
    public void Apply_DeleteOfEmptyFileThatIsNotEmpty_IsRefused()
    {
        var e = Refused("diff --git a/e b/e\ndeleted file mode 100644\nindex e69de29..0000000\n", "x\n");
        Assert.Contains("line 1 is 'x'", e.Message);
    }

    [Fact]
    public void Apply_RemovingTheFinalNewline_WritesTheLastLineWithoutOne()
    {
        Assert.Equal("a\nb", Apply("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n", "a\nb\n"));
    }

    [Fact]
    public void Apply_AddingTheFinalNewline_WritesIt()
    {
        Assert.Equal("a\nb\n", Apply("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", "a\nb"));
    }

    [Fact]
    public void Apply_ContextLineWithoutNewlineOnBothSides_KeepsTheFileEndAsItIs()
    {
        Assert.Equal("A\nb", Apply("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n", "a\nb"));
    }

    [Fact]
    public void Apply_FileWithoutFinalNewlineButHunkExpectsOne_IsRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n", "a\nb");
        Assert.Contains("expected line 2, 'b', to end with a newline but it is the last line and has none", e.Message);
    }

    [Fact]
    public void Apply_HunkExpectsNoFinalNewlineButFileHasOne_IsRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n", "a\nb\n");
        Assert.Contains("to be the last line with no newline at end of file, but it ends with a newline", e.Message);
    }

    [Fact]
    public void Apply_InsertAfterALastLineWithoutNewline_IsRefused()
    {
        Assert.Contains("has no newline at end of file", Refused("--- a/x\n+++ b/x\n@@ -1,0 +2 @@\n+b\n", "a").Message);
    }

    [Fact]
    public void Apply_ZeroContextHunk_AppliesOnlyWhereItSays()
    {
        Assert.Equal("a\nX\nc\nb\n", Apply("--- a/x\n+++ b/x\n@@ -2 +2 @@\n-b\n+X\n", "a\nb\nc\nb\n"));
        // Moved elsewhere, a hunk with no context is not searched for: "b" alone is no evidence.
        Assert.Equal(1, Refused("--- a/x\n+++ b/x\n@@ -2 +2 @@\n-b\n+X\n", "a\nq\nc\nb\n").HunkNumber);
    }

    [Fact]
    public void Apply_HunkWithoutTrailingContext_OnlyMatchesAtTheEndOfTheFile()
    {
        // git writes no trailing context only when the change reaches the end of the file.
        // Stated at line 4, where it does not match; "c", "d" is at lines 3-4 (nearer) and 6-7 (the end).
        var diff = "--- a/x\n+++ b/x\n@@ -4,2 +4,3 @@\n c\n d\n+e\n";
        Assert.Equal("q\nq\nc\nd\nq\nc\nd\ne\n", Apply(diff, "q\nq\nc\nd\nq\nc\nd\n"));
    }

    [Fact]
    public void Apply_HunkWithoutLeadingContextAtLineOne_OnlyMatchesAtTheTop()
    {
        var diff = "--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n+first\n a\n b\n";
        Assert.Contains("expected line 1 to be 'a' but it is 'z'", Refused(diff, "z\na\nb\n").Message);
    }

    [Fact]
    public void Apply_PureRenameAndModeChange_ReturnTheContentUnchanged()
    {
        var rename = UnifiedDiff.Parse("diff --git a/o b/n\nsimilarity index 100%\nrename from o\nrename to n\n")[0];
        var mode = UnifiedDiff.Parse("diff --git a/r b/r\nold mode 100644\nnew mode 100755\n")[0];
        byte[] content = [1, 2, 0xff, (byte)'\n', 3];
        Assert.Equal(content, HunkApplier.Apply(rename, content));
        Assert.Equal(content, HunkApplier.Apply(mode, content));
    }

    [Fact]
    public void Apply_Latin1AndInvalidUtf8AroundTheHunk_SurviveByteForByte()
    {
        byte[] before = [.. Encoding.Latin1.GetBytes("caf\xe9\n"), 0xff, 0xfe, 0xc3, (byte)'\n'];
        byte[] after = [.. Encoding.Latin1.GetBytes("na\xefve")];
        var patch = UnifiedDiff.Parse("--- a/x\n+++ b/x\n@@ -3 +3 @@\n-old\r\n+new\r\n")[0];

        var result = HunkApplier.Apply(patch, [.. before, .. "old\r\n"u8, .. after]);

        Assert.Equal([.. before, .. "new\r\n"u8, .. after], result);
    }

    [Fact]
    public void Apply_Latin1HunkParsedFromBytes_MatchesAndWritesLatin1()
    {
        var diff = Encoding.Latin1.GetBytes("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n caf\xe9\n-na\xefve\n+na\xeff\n");
        var result = HunkApplier.Apply(UnifiedDiff.Parse(diff)[0], Encoding.Latin1.GetBytes("caf\xe9\nna\xefve\n"));
        Assert.Equal(Encoding.Latin1.GetBytes("caf\xe9\nna\xeff\n"), result);
    }

    [Fact]
    public void Apply_HandBuiltPatch_WorksWithoutTheParser()
    {
        var hunk = new Hunk(2, 1, 2, 2, [new HunkLine(HunkLineKind.Remove, "b"), new HunkLine(HunkLineKind.Add, "B"), new HunkLine(HunkLineKind.Add, "B2")]);
        var patch = new FilePatch(FilePatchKind.Modify, "x", "x", null, [hunk]);
        Assert.Equal("a\nB\nB2\nc\n"u8.ToArray(), HunkApplier.Apply(patch, "a\nb\nc\n"u8.ToArray()));
    }
}
