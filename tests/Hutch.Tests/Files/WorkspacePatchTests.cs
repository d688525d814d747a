using System.Text;
using Hutch.Files;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files;

/// <summary>Unified diffs applied to a workspace: all or nothing, never through a symlink.</summary>
[Trait("Category", "Unit")]
public sealed class WorkspacePatchTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-patch");
    private readonly Workspace _workspace;

    public WorkspacePatchTests()
    {
        _workspace = new Workspace(_dir, 0, 0);
        Write("src/a.py", "def a():\n    return 1\n");
        Write("src/old.txt", "moving\n");
        Write("gone.txt", "bye\n");
    }

    public void Dispose()
    {
        _workspace.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private const string GoodPatch = """
        diff --git a/src/a.py b/src/a.py
        index 1111111..2222222 100644
        --- a/src/a.py
        +++ b/src/a.py
        @@ -1,2 +1,2 @@
         def a():
        -    return 1
        +    return 2
        diff --git a/new/tool.sh b/new/tool.sh
        new file mode 100755
        index 0000000..3333333
        --- /dev/null
        +++ b/new/tool.sh
        @@ -0,0 +1,2 @@
        +#!/bin/sh
        +echo tool
        diff --git a/gone.txt b/gone.txt
        deleted file mode 100644
        index 4444444..0000000
        --- a/gone.txt
        +++ /dev/null
        @@ -1 +0,0 @@
        -bye
        diff --git a/src/old.txt b/src/new.txt
        similarity index 100%
        rename from src/old.txt
        rename to src/new.txt

        """;

    [Fact]
    public void AGitPatch_ModifiesAddsDeletesAndRenames()
    {
        var result = _workspace.ApplyPatch(Encoding.UTF8.GetBytes(GoodPatch));

        Assert.Equal(["src/a.py modified", "new/tool.sh added", "gone.txt deleted", "src/new.txt renamed"],
            result.Files.Select(f => $"{f.Path} {f.Change}"));
        Assert.Equal("def a():\n    return 2\n", Read("src/a.py"));
        Assert.Equal("#!/bin/sh\necho tool\n", Read("new/tool.sh"));
        Assert.True(File.GetUnixFileMode(Path.Join(_dir, "new/tool.sh")).HasFlag(UnixFileMode.UserExecute));
        Assert.False(File.Exists(Path.Join(_dir, "gone.txt")));
        Assert.False(File.Exists(Path.Join(_dir, "src/old.txt")));
        Assert.Equal("moving\n", Read("src/new.txt"));
    }

    [Fact]
    public void AHunkThatDoesNotApply_NamesFileAndHunk_AndChangesNothing()
    {
        var before = Snapshot();
        var bad = GoodPatch.Replace("-bye", "-hello");

        var e = Assert.Throws<WorkspaceException>(() => _workspace.ApplyPatch(Encoding.UTF8.GetBytes(bad)));

        Assert.Equal((ErrorCodes.PatchFailed, 409), (e.Code, e.Status));
        Assert.Contains("gone.txt", e.Message);
        Assert.Contains("hunk 1", e.Message);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void AddingAFileThatExists_Fails_AndChangesNothing()
    {
        Write("new/tool.sh", "mine\n");
        var before = Snapshot();

        var e = Assert.Throws<WorkspaceException>(() => _workspace.ApplyPatch(Encoding.UTF8.GetBytes(GoodPatch)));

        Assert.Equal(ErrorCodes.PatchFailed, e.Code);
        Assert.Contains("new/tool.sh", e.Message);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void APatchThroughASymlink_IsRefused_AndTheTargetIsUntouched()
    {
        var outside = TestPaths.NewTempDir("hutch-patch-out");
        try
        {
            File.WriteAllText(Path.Join(outside, "a.py"), "def a():\n    return 1\n");
            Directory.Delete(Path.Join(_dir, "src"), recursive: true);
            File.CreateSymbolicLink(Path.Join(_dir, "src"), outside);
            var patch = GoodPatch[..GoodPatch.IndexOf("diff --git a/new", StringComparison.Ordinal)];

            var e = Assert.Throws<WorkspaceException>(() => _workspace.ApplyPatch(Encoding.UTF8.GetBytes(patch)));

            Assert.Equal(ErrorCodes.PatchFailed, e.Code);
            Assert.Equal("def a():\n    return 1\n", File.ReadAllText(Path.Join(outside, "a.py")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a diff at all")]
    [InlineData("--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n x\n")]
    public void SomethingThatIsNotAPatch_IsInvalid(string text) =>
        Assert.Equal(ErrorCodes.PatchInvalid, Assert.Throws<WorkspaceException>(() => _workspace.ApplyPatch(Encoding.UTF8.GetBytes(text))).Code);

    private void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(_dir, path))!);
        File.WriteAllText(Path.Join(_dir, path), text);
    }

    private string Read(string path) => File.ReadAllText(Path.Join(_dir, path));

    private string Snapshot() => string.Join('\n', Directory.GetFileSystemEntries(_dir, "*", SearchOption.AllDirectories).Order()
        .Select(p => p[_dir.Length..] + (File.Exists(p) ? ":" + File.ReadAllText(p) : "/")));
}
