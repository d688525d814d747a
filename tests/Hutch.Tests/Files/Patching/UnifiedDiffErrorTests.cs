using Hutch.Files.Patching;

namespace Hutch.Tests.Files.Patching;

/// <summary>Diffs that must be refused, each with the line of the diff that is wrong.</summary>
[Trait("Category", "Unit")]
public sealed class UnifiedDiffErrorTests
{
    private static PatchException Refused(string diff) => Assert.Throws<PatchException>(() => UnifiedDiff.Parse(diff));

    [Fact]
    public void Parse_HunkBeforeAnyFileHeader_IsRefusedAtThatLine()
    {
        var e = Refused("some text\n@@ -1 +1 @@\n-a\n+b\n");
        Assert.Equal(2, e.Line);
        Assert.Contains("before any file header", e.Message);
        Assert.StartsWith("line 2: ", e.Message);
    }

    [Fact]
    public void Parse_HunkWithMoreLinesThanItsHeaderSays_IsRefusedAtTheExtraLine()
    {
        var e = Refused("--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n+d\n");
        Assert.Equal(7, e.Line);
        Assert.Equal(("x.py", 1), (e.Path, e.HunkNumber));
        Assert.Contains("'@@ -1,2 +1,2 @@' are wrong", e.Message);
    }

    [Fact]
    public void Parse_HunkWithMoreOldLinesThanItsHeaderSays_SaysSo()
    {
        var e = Refused("--- a/x.py\n+++ b/x.py\n@@ -1 +1,2 @@\n a\n-b\n+c\n");
        Assert.Equal(5, e.Line);
        Assert.Contains("more old lines", e.Message);
    }

    [Fact]
    public void Parse_HunkWithFewerLinesThanItsHeaderSays_IsRefusedWhereItEnds()
    {
        var e = Refused("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\ndiff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n");
        Assert.Equal((8, "x", 1), (e.Line, e.Path, e.HunkNumber));
        Assert.Contains("ends early at 'diff --git a/y b/y'", e.Message);
    }

    [Fact]
    public void Parse_HunkCutShortByTheEndOfTheDiff_SaysHowManyLinesCame()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n");
        Assert.Equal(7, e.Line);
        Assert.Contains("ends early at the end of the diff", e.Message);
        Assert.Contains("only 2 old and 2 new lines came", e.Message);
    }

    [Fact]
    public void Parse_GarbageBetweenHunks_IsRefusedAtTheGarbage()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\nthis is not a diff line\n@@ -5 +5 @@\n-c\n+d\n");
        Assert.Equal(6, e.Line);
        Assert.Equal(("x", 1), (e.Path, e.HunkNumber));
        Assert.Contains("'this is not a diff line'", e.Message);
    }

    [Fact]
    public void Parse_GarbageInsideAHunk_IsRefusedAsAnEarlyEnd()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n*oops\n+b\n");
        Assert.Equal(5, e.Line);
        Assert.Contains("ends early at '*oops'", e.Message);
    }

    [Fact]
    public void Parse_MalformedHunkHeader_IsRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,a +1 @@\n-a\n+b\n");
        Assert.Equal(3, e.Line);
        Assert.Contains("malformed hunk header", e.Message);
    }

    [Fact]
    public void Parse_HunksOutOfOrder_AreRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -5 +5 @@\n-a\n+b\n@@ -2 +2 @@\n-c\n+d\n");
        Assert.Equal((6, 2), (e.Line, e.HunkNumber));
    }

    [Fact]
    public void Parse_HunkAfterTheNoNewlineEnd_IsRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n@@ -3 +3 @@\n-c\n+d\n");
        Assert.Equal(8, e.Line);
    }

    [Fact]
    public void Parse_LinesAfterTheNoNewlineMarkerOnTheSameSide_AreRefused()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n-a\n\\ No newline at end of file\n-b\n+c\n");
        Assert.Equal(6, e.Line);
    }

    [Fact]
    public void Parse_GitBinaryPatch_IsRefused()
    {
        var e = Refused("diff --git a/b.bin b/b.bin\nnew file mode 100644\nindex 0000000..87ae6b6\nGIT binary patch\nliteral 7\nOcmYew%wtF_sssQD(E^45\n\nliteral 0\n");
        Assert.Equal(4, e.Line);
        Assert.Contains("binary patches are not supported", e.Message);
    }

    [Fact]
    public void Parse_BinaryFilesDiffer_IsRefused()
    {
        var e = Refused("diff --git a/x.txt b/x.txt\nindex 1..2 100644\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/b.bin b/b.bin\nnew file mode 100644\nindex 0000000..87ae6b6\nBinary files /dev/null and b/b.bin differ\n");
        Assert.Equal(11, e.Line);
        Assert.Contains("binary", e.Message);
    }

    [Fact]
    public void Parse_PlainBinaryFilesDiffer_IsRefused()
    {
        Assert.Equal(1, Refused("Binary files x/a.bin and y/a.bin differ\n").Line);
    }

    [Fact]
    public void Parse_SymlinkMode_IsRefused()
    {
        var e = Refused("diff --git a/l b/l\nnew file mode 120000\nindex 0000000..1\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n");
        Assert.Equal(2, e.Line);
        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public void Parse_CopyPatch_IsRefused()
    {
        var e = Refused("diff --git a/x b/y\nsimilarity index 100%\ncopy from x\ncopy to y\n");
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Parse_CombinedMergeDiff_IsRefused()
    {
        Assert.Contains("combined", Refused("diff --cc x\nindex 1,2..3\n--- a/x\n+++ b/x\n@@@ -1,1 -1,1 +1,1 @@@\n").Message);
    }

    [Fact]
    public void Parse_UnknownGitHeaderLine_IsRefused()
    {
        var e = Refused("diff --git a/x b/x\nthis is junk\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n");
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Parse_GitHeaderWithHunkButNoFileLines_IsRefused()
    {
        Assert.Equal(2, Refused("diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b\n").Line);
    }

    [Fact]
    public void Parse_FileLinesWithoutHunk_AreRefused()
    {
        var e = Refused("diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\nsomething\n");
        Assert.Equal(5, e.Line);
        Assert.Contains("expected a hunk", e.Message);
    }

    [Fact]
    public void Parse_MinusLineWithoutPlusLine_IsRefused()
    {
        Assert.Equal(3, Refused("diff --git a/x b/x\n--- a/x\n@@ -1 +1 @@\n-a\n+b\n").Line);
    }

    [Fact]
    public void Parse_HeaderNamingTwoDifferentFiles_IsRefused()
    {
        var e = Refused("diff --git a/x b/x\nindex 1..2 100644\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n");
        Assert.Contains("two different old files", e.Message);
    }

    [Fact]
    public void Parse_SameFilePatchedTwice_IsRefusedAtTheSecondPatch()
    {
        var e = Refused("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/x\n+++ b/x\n@@ -3 +3 @@\n-c\n+d\n");
        Assert.Equal((6, "x"), (e.Line, e.Path));
        Assert.Contains("patched twice", e.Message);
    }

    [Fact]
    public void Parse_NewFileWithContextLines_IsRefused()
    {
        var e = Refused("--- /dev/null\n+++ b/x\n@@ -1,1 +1,2 @@\n a\n+b\n");
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Parse_QuotedNameThatIsNotUtf8_IsRefused()
    {
        Assert.Contains("not valid UTF-8", Refused("--- \"a/\\351t\\351\"\n+++ \"b/\\351t\\351\"\n@@ -1 +1 @@\n-a\n+b\n").Message);
    }
}
