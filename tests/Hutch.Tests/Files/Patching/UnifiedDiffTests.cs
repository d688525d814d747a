using System.Text;
using Hutch.Files.Patching;

namespace Hutch.Tests.Files.Patching;

/// <summary>Reading real git diff and diff -u output into file patches.</summary>
[Trait("Category", "Unit")]
public sealed class UnifiedDiffTests
{
    private static readonly IReadOnlyList<FilePatch> Many = UnifiedDiff.Parse(GitSamples.Many);

    private static FilePatch Find(string path) => Many.Single(p => (p.NewPath ?? p.OldPath) == path);

    [Fact]
    public void Parse_GitDiffOfTenFiles_ReturnsOnePatchPerFileInOrder()
    {
        Assert.Equal(
            ["added.txt", "café.txt", "crlf.txt", "del.txt", "mod.txt", "new_name.txt", "nonl.txt", "ren3.txt", "run.sh", "with space.txt"],
            Many.Select(p => p.NewPath ?? p.OldPath));
    }

    [Fact]
    public void Parse_NewFile_IsAddWithNoOldPathAndItsMode()
    {
        var patch = Find("added.txt");
        Assert.Equal(FilePatchKind.Add, patch.Kind);
        Assert.Null(patch.OldPath);
        Assert.Equal(0b110_100_100, patch.NewMode); // 0644
        var hunk = Assert.Single(patch.Hunks);
        Assert.Equal((0, 0, 1, 2), (hunk.OldStart, hunk.OldCount, hunk.NewStart, hunk.NewCount));
        Assert.Equal(["+brand", "+new"], hunk.Lines.Select(l => l.ToString()));
        Assert.True(hunk.NewNoNewlineAtEnd);
        Assert.False(hunk.OldNoNewlineAtEnd);
    }

    [Fact]
    public void Parse_DeletedFile_IsDeleteWithNoNewPath()
    {
        var patch = Find("del.txt");
        Assert.Equal(FilePatchKind.Delete, patch.Kind);
        Assert.Equal("del.txt", patch.OldPath);
        Assert.Null(patch.NewPath);
        Assert.Null(patch.NewMode);
        Assert.All(Assert.Single(patch.Hunks).Lines, l => Assert.Equal(HunkLineKind.Remove, l.Kind));
    }

    [Fact]
    public void Parse_QuotedPathWithOctalEscapes_DecodesUtf8AndStripsPrefix()
    {
        var patch = Find("café.txt");
        Assert.Equal(FilePatchKind.Modify, patch.Kind);
        Assert.Equal("café.txt", patch.OldPath);
        Assert.Equal("+café", Assert.Single(patch.Hunks).Lines[1].ToString());
    }

    [Fact]
    public void Parse_CrlfContent_KeepsTheCarriageReturnInTheLine()
    {
        var lines = Assert.Single(Find("crlf.txt").Hunks).Lines;
        Assert.Equal(["a\r", "b\r", "B\r", "c\r"], lines.Select(l => l.Text));
        Assert.Equal("a\r"u8.ToArray(), lines[0].Content.ToArray());
    }

    [Fact]
    public void Parse_TwoHunks_ReadsStartsCountsAndSection()
    {
        var hunks = Find("mod.txt").Hunks;
        Assert.Equal(2, hunks.Count);
        Assert.Equal((1, 5, 1, 5, ""), (hunks[0].OldStart, hunks[0].OldCount, hunks[0].NewStart, hunks[0].NewCount, hunks[0].Section));
        Assert.Equal((7, 4, 7, 5, "six"), (hunks[1].OldStart, hunks[1].OldCount, hunks[1].NewStart, hunks[1].NewCount, hunks[1].Section));
        Assert.Equal([" seven", " eight", " nine", "-ten", "+TEN", "+eleven"], hunks[1].Lines.Select(l => l.ToString()));
    }

    [Fact]
    public void Parse_PureRename_HasBothPathsAndNoHunks()
    {
        var patch = Find("new_name.txt");
        Assert.Equal(FilePatchKind.Rename, patch.Kind);
        Assert.Equal("old_name.txt", patch.OldPath);
        Assert.Empty(patch.Hunks);
        Assert.Null(patch.NewMode);
    }

    [Fact]
    public void Parse_RenameWithHunk_HasBothPathsAndTheHunk()
    {
        var patch = Find("ren3.txt");
        Assert.Equal(FilePatchKind.Rename, patch.Kind);
        Assert.Equal("ren2.txt", patch.OldPath);
        var lines = Assert.Single(patch.Hunks).Lines;
        Assert.Equal(["-r4", "+R4"], lines.Where(l => l.Kind != HunkLineKind.Context).Select(l => l.ToString()));
        Assert.Equal(8, lines.Count);
    }

    [Fact]
    public void Parse_ModeChangeOnly_IsModifyWithNewModeAndNoHunks()
    {
        var patch = Find("run.sh");
        Assert.Equal(FilePatchKind.Modify, patch.Kind);
        Assert.Equal("run.sh", patch.OldPath);
        Assert.Equal(0b111_101_101, patch.NewMode); // 0755
        Assert.Empty(patch.Hunks);
    }

    [Fact]
    public void Parse_NoNewlineMarkerAfterRemovedLine_MarksOnlyTheOldSide()
    {
        var hunk = Assert.Single(Find("nonl.txt").Hunks);
        Assert.True(hunk.OldNoNewlineAtEnd);
        Assert.False(hunk.NewNoNewlineAtEnd);
        Assert.Equal([" keep", "-last", "+last"], hunk.Lines.Select(l => l.ToString()));
    }

    [Fact]
    public void Parse_NameWithSpaceAndGitsTrailingTab_KeepsTheSpaceDropsTheTab()
    {
        var patch = Find("with space.txt");
        Assert.Equal(("with space.txt", "with space.txt"), (patch.OldPath, patch.NewPath));
    }

    [Fact]
    public void Parse_PlainDiffWithTimestampsAndTwoNames_PatchesOneFileWithoutPrefixStripping()
    {
        var patch = Assert.Single(UnifiedDiff.Parse(GitSamples.PlainTwoNames));
        Assert.Equal(FilePatchKind.Modify, patch.Kind);
        // GNU patch's choice between two names: same depth and length, so the old name.
        Assert.Equal(("old.txt", "old.txt"), (patch.OldPath, patch.NewPath));
        Assert.Equal(4, patch.Hunks[0].NewCount);
    }

    [Fact]
    public void Parse_PlainDiffOfOriginalBackup_PatchesTheFileNotTheBackup()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("--- foo.c.orig\n+++ foo.c\n@@ -1 +1 @@\n-a\n+b\n"));
        Assert.Equal("foo.c", patch.OldPath);
    }

    [Fact]
    public void Parse_RecursiveDiffWithEpochDatedSide_ReadsTheNewFileAsAdd()
    {
        var patches = UnifiedDiff.Parse(GitSamples.PlainRecursiveWithNewFile);
        Assert.Equal(2, patches.Count);
        Assert.Equal((FilePatchKind.Modify, "x/f", "x/f"), (patches[0].Kind, patches[0].OldPath, patches[0].NewPath));
        Assert.Equal((FilePatchKind.Add, null, "y/g"), (patches[1].Kind, patches[1].OldPath, patches[1].NewPath));
    }

    [Fact]
    public void Parse_PlainDiffWithABPrefixes_StripsThem()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("--- a/src/x.py\n+++ b/src/x.py\n@@ -1 +1 @@\n-a\n+b\n"));
        Assert.Equal(("src/x.py", "src/x.py"), (patch.OldPath, patch.NewPath));
    }

    [Fact]
    public void Parse_OnlyOneSidePrefixed_KeepsNamesAsWritten()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("--- a/x.py\n+++ a/x.py\n@@ -1 +1 @@\n-a\n+b\n"));
        Assert.Equal("a/x.py", patch.OldPath);
    }

    [Fact]
    public void Parse_GitNoPrefix_KeepsADirectoryNamedA()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("diff --git a/x a/x\nindex 1..2 100644\n--- a/x\n+++ a/x\n@@ -1 +1 @@\n-a\n+b\n"));
        Assert.Equal(("a/x", "a/x"), (patch.OldPath, patch.NewPath));
    }

    [Fact]
    public void Parse_PlainNewAndDeletedFilesAgainstDevNull_AreAddAndDelete()
    {
        var patches = UnifiedDiff.Parse("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+n\n--- a/d.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-d\n");
        Assert.Equal((FilePatchKind.Add, null, "n.txt"), (patches[0].Kind, patches[0].OldPath, patches[0].NewPath));
        Assert.Equal((FilePatchKind.Delete, "d.txt", null), (patches[1].Kind, patches[1].OldPath, patches[1].NewPath));
    }

    [Fact]
    public void Parse_HunkHeaderWithoutCounts_DefaultsThemToOne()
    {
        var hunk = UnifiedDiff.Parse("--- a/x\n+++ b/x\n@@ -3 +3 @@\n-a\n+b\n")[0].Hunks[0];
        Assert.Equal((3, 1, 3, 1), (hunk.OldStart, hunk.OldCount, hunk.NewStart, hunk.NewCount));
    }

    [Fact]
    public void Parse_EmptyLineInsideHunk_IsAnEmptyContextLine()
    {
        // Editors strip the single space diff writes for an empty context line.
        var hunk = UnifiedDiff.Parse("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n")[0].Hunks[0];
        Assert.Equal([" a", " ", "-b", "+c"], hunk.Lines.Select(l => l.ToString()));
    }

    [Fact]
    public void Parse_FormatPatchMail_SkipsMailHeadersAndSignature()
    {
        var mail = $$"""
            From 3f2a Mon Sep 17 00:00:00 2001
            From: A <a@example.com>
            Subject: [PATCH] change x

            ---
             x | 2 +-
             1 file changed, 1 insertion(+), 1 deletion(-)

            diff --git a/x b/x
            index 1..2 100644
            --- a/x
            +++ b/x
            @@ -1 +1 @@
            -a
            +b
            -- {{""}}
            2.39.5

            """;
        var patch = Assert.Single(UnifiedDiff.Parse(mail));
        Assert.Equal(["-a", "+b"], patch.Hunks[0].Lines.Select(l => l.ToString()));
    }

    [Fact]
    public void Parse_NewExecutableFile_ReturnsItsMode()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("diff --git a/run b/run\nnew file mode 100755\nindex 0000000..e69de29\n"));
        Assert.Equal((FilePatchKind.Add, null, "run", 0b111_101_101), (patch.Kind, patch.OldPath, patch.NewPath, patch.NewMode));
        Assert.Empty(patch.Hunks);
    }

    [Fact]
    public void Parse_RenameWithQuotedNamesAndModeChange_ReadsAllOfIt()
    {
        var text = """
            diff --git "a/d\303\251j\303\240 vu.sh" "b/new \"name\".sh"
            old mode 100644
            new mode 100755
            similarity index 100%
            rename from "d\303\251j\303\240 vu.sh"
            rename to "new \"name\".sh"

            """;
        var patch = Assert.Single(UnifiedDiff.Parse(text));
        Assert.Equal((FilePatchKind.Rename, "déjà vu.sh", "new \"name\".sh", 0b111_101_101), (patch.Kind, patch.OldPath, patch.NewPath, patch.NewMode));
    }

    [Fact]
    public void Parse_GitNoIndexOfTwoNames_IsARenameAsGitApplyReadsIt()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("diff --git a/a.txt b/b.txt\nindex ce01362..e45c9c2 100644\n--- a/a.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-hello\n+other\n"));
        Assert.Equal((FilePatchKind.Rename, "a.txt", "b.txt"), (patch.Kind, patch.OldPath, patch.NewPath));
    }

    [Fact]
    public void Parse_Latin1BytesInContent_KeepsThemAsBytes()
    {
        var diff = Encoding.Latin1.GetBytes("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-caf\xe9\n+th\xe9\n");
        var hunk = UnifiedDiff.Parse(diff)[0].Hunks[0];
        Assert.Equal(new byte[] { (byte)'c', (byte)'a', (byte)'f', 0xe9 }, hunk.Lines[0].Content.ToArray());
    }

    [Fact]
    public void Parse_CrlfDiffFile_ReadsHeadersAndKeepsCrInContent()
    {
        var patch = Assert.Single(UnifiedDiff.Parse("diff --git a/x b/x\r\nindex 1..2 100644\r\n--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n"));
        Assert.Equal("x", patch.OldPath);
        Assert.Equal(["a\r", "b\r"], patch.Hunks[0].Lines.Select(l => l.Text));
    }

    [Fact]
    public void Parse_EmptyText_ReturnsNoPatches()
    {
        Assert.Empty(UnifiedDiff.Parse(""));
    }
}
