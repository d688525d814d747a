using System.Text.Json;
using Hutch.Client.Sync;
using static Hutch.Tests.Client.Sync.SyncTestTree;

namespace Hutch.Tests.Client.Sync;

[Trait("Category", "Unit")]
public class PullTests
{
    [Fact]
    public async Task RoundTrip_EditsOnBothSides_AreMerged_AndABothSidedEditIsAConflictWithBothVersionsKept()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "mine.txt", "base");
        Write(t.Local, "theirs.txt", "base");
        Write(t.Local, "both.txt", "base");
        Write(t.Local, "alike.txt", "base");
        await t.PushAsync();

        Write(t.Local, "mine.txt", "local edit");
        Write(t.Sandbox, "theirs.txt", "sandbox edit");
        Write(t.Local, "both.txt", "local edit");
        Write(t.Sandbox, "both.txt", "sandbox edit");
        Write(t.Local, "alike.txt", "same edit");
        Write(t.Sandbox, "alike.txt", "same edit");
        Write(t.Sandbox, "new/from/sandbox.txt", "new");

        var report = await t.PullAsync();

        Assert.Equal("local edit", Read(t.Local, "mine.txt"));
        Assert.Equal("sandbox edit", Read(t.Local, "theirs.txt"));
        Assert.Equal("local edit", Read(t.Local, "both.txt"));
        Assert.Equal("sandbox edit", Read(t.Local, "both.txt.sandbox"));
        Assert.Equal("new", Read(t.Local, "new/from/sandbox.txt"));
        Assert.Equal([new SyncConflict("both.txt", SyncConflictKind.BothChanged, "both.txt.sandbox")], report.Conflicts);
        Assert.Equal(["new", "new/from", "new/from/sandbox.txt", "theirs.txt"], report.Taken);
        Assert.Equal(["mine.txt"], report.Kept);
        Assert.Equal("sandbox edit".Length * 2 + "new".Length, report.BytesDownloaded);

        // The baseline: the sandbox's state for settled paths, the old state for the conflicted one.
        using var state = JsonDocument.Parse(await File.ReadAllTextAsync(t.StateFile));
        var baseline = state.RootElement.GetProperty("entries").EnumerateArray()
            .ToDictionary(e => e.GetProperty("path").GetString()!, e => e.TryGetProperty("sha256", out var sha) ? sha.GetString() : null);
        Assert.Equal(Sha("base"), baseline["both.txt"]);
        Assert.Equal(Sha("base"), baseline["mine.txt"]);
        Assert.Equal(Sha("sandbox edit"), baseline["theirs.txt"]);
        Assert.Equal("both.txt", state.RootElement.GetProperty("conflicts")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task AnOpenConflict_IsReportedAgain_WithoutASecondCopy_AndBlocksPush()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "f", "base");
        await t.PushAsync();
        Write(t.Local, "f", "local");
        Write(t.Sandbox, "f", "sandbox");
        await t.PullAsync();

        var again = await t.PullAsync();

        Assert.Equal([new SyncConflict("f", SyncConflictKind.BothChanged, "f.sandbox")], again.Conflicts);
        Assert.False(Exists(t.Local, "f.sandbox.1"));
        var refused = await Assert.ThrowsAsync<SyncException>(() => t.PushAsync());
        Assert.Equal(SyncErrorCodes.UnresolvedConflicts, refused.Code);
        Assert.Contains("f.sandbox", refused.Message);
        Assert.Equal("sandbox", Read(t.Sandbox, "f"));
    }

    [Fact]
    public async Task DeletingTheCopy_ResolvesTheConflict_AndPushThenSendsTheLocalResult()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "f", "base");
        await t.PushAsync();
        Write(t.Local, "f", "local");
        Write(t.Sandbox, "f", "sandbox");
        await t.PullAsync();

        Write(t.Local, "f", "merged by hand");
        File.Delete(Path.Join(t.Local, "f.sandbox"));
        var pull = await t.PullAsync();
        var push = await t.PushAsync();

        Assert.Empty(pull.Conflicts);
        Assert.Equal(["f"], pull.Kept);
        Assert.Equal(["f"], push.Uploaded);
        Assert.Empty(push.OverwrittenSandboxChanges);
        Assert.Equal("merged by hand", Read(t.Sandbox, "f"));
    }

    [Fact]
    public async Task AChangedSandboxCopy_GoesToTheNextFreeName()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "f", "base");
        await t.PushAsync();
        Write(t.Local, "f", "local");
        Write(t.Sandbox, "f", "sandbox 1");
        await t.PullAsync();
        Write(t.Sandbox, "f", "sandbox 2");

        var report = await t.PullAsync();

        Assert.Equal("f.sandbox.1", Assert.Single(report.Conflicts).SandboxCopy);
        Assert.Equal("sandbox 1", Read(t.Local, "f.sandbox"));
        Assert.Equal("sandbox 2", Read(t.Local, "f.sandbox.1"));
        Assert.Equal("local", Read(t.Local, "f"));
    }

    [Fact]
    public async Task Deletions_OnEitherSide_FollowTheSameRules()
    {
        using var t = new SyncTestTree();
        foreach (var name in new[] { "gone-there", "gone-here", "gone-there-edited-here", "gone-here-edited-there", "gone-both" })
        {
            Write(t.Local, name, "base");
        }
        Write(t.Local, "dir/a", "base");
        Write(t.Local, "dir/sub/b", "base");
        await t.PushAsync();

        File.Delete(Path.Join(t.Sandbox, "gone-there"));
        File.Delete(Path.Join(t.Local, "gone-here"));
        File.Delete(Path.Join(t.Sandbox, "gone-there-edited-here"));
        Write(t.Local, "gone-there-edited-here", "local edit");
        File.Delete(Path.Join(t.Local, "gone-here-edited-there"));
        Write(t.Sandbox, "gone-here-edited-there", "sandbox edit");
        File.Delete(Path.Join(t.Local, "gone-both"));
        File.Delete(Path.Join(t.Sandbox, "gone-both"));
        Directory.Delete(Path.Join(t.Sandbox, "dir"), recursive: true);

        var report = await t.PullAsync();

        Assert.False(Exists(t.Local, "gone-there"));
        Assert.False(Exists(t.Local, "gone-here"));
        Assert.False(Exists(t.Local, "dir"));
        Assert.Equal("local edit", Read(t.Local, "gone-there-edited-here"));
        Assert.False(Exists(t.Local, "gone-here-edited-there"));
        Assert.Equal("sandbox edit", Read(t.Local, "gone-here-edited-there.sandbox"));
        Assert.Equal(["dir", "dir/a", "dir/sub", "dir/sub/b", "gone-there"], report.DeletedLocally);
        Assert.Equal(["gone-here"], report.Kept);
        Assert.Equal(
            [new SyncConflict("gone-here-edited-there", SyncConflictKind.DeletedLocallyChangedInSandbox, "gone-here-edited-there.sandbox"),
             new SyncConflict("gone-there-edited-here", SyncConflictKind.ChangedLocallyDeletedInSandbox, null)],
            report.Conflicts);

        // A local deletion is never undone by a later pull.
        var again = await t.PullAsync();
        Assert.False(Exists(t.Local, "gone-here"));
        Assert.Empty(again.Taken);
    }

    [Fact]
    public async Task ADirectoryTheSandboxDeleted_StaysLocally_WhileItHoldsALocalAddition()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "dir/a", "base");
        await t.PushAsync();
        Write(t.Local, "dir/mine", "new here");
        Directory.Delete(Path.Join(t.Sandbox, "dir"), recursive: true);

        var report = await t.PullAsync();

        Assert.False(Exists(t.Local, "dir/a"));
        Assert.Equal("new here", Read(t.Local, "dir/mine"));
        Assert.Equal([new SyncConflict("dir", SyncConflictKind.ChangedLocallyDeletedInSandbox, null)], report.Conflicts);
    }

    [Fact]
    public async Task ModesAndSymlinks_ComeBackAsTheyAre()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "run.sh", "#!/bin/sh", mode: "644");
        Write(t.Local, "tool", "x", mode: "755");
        await t.PushAsync();

        File.SetUnixFileMode(Path.Join(t.Sandbox, "run.sh"), Mode("755"));
        File.SetUnixFileMode(Path.Join(t.Sandbox, "tool"), Mode("700"));
        File.CreateSymbolicLink(Path.Join(t.Sandbox, "relative"), "run.sh");
        File.CreateSymbolicLink(Path.Join(t.Sandbox, "absolute"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Join(t.Sandbox, "escaping"), "../../../outside");
        Directory.CreateDirectory(Path.Join(t.Sandbox, "locked"));
        Write(t.Sandbox, "locked/inside", "in a read-only directory");
        File.SetUnixFileMode(Path.Join(t.Sandbox, "locked"), Mode("555"));
        Write(t.Sandbox, "new-tool", "#!/bin/sh", mode: "750");

        var report = await t.PullAsync();

        Assert.Equal("755", ModeOf(t.Local, "run.sh"));
        Assert.Equal("700", ModeOf(t.Local, "tool"));
        Assert.Equal("#!/bin/sh", Read(t.Local, "run.sh"));
        Assert.Equal("run.sh", new FileInfo(Path.Join(t.Local, "relative")).LinkTarget);
        Assert.Equal("/etc/passwd", new FileInfo(Path.Join(t.Local, "absolute")).LinkTarget);
        Assert.Equal("../../../outside", new FileInfo(Path.Join(t.Local, "escaping")).LinkTarget);
        Assert.Equal("555", ModeOf(t.Local, "locked"));
        Assert.Equal("in a read-only directory", Read(t.Local, "locked/inside"));
        Assert.Equal("750", ModeOf(t.Local, "new-tool"));
        Assert.Empty(report.Conflicts);
        // Downloads were only the new files: mode changes are a chmod, links are made from the listing.
        Assert.Equal(["locked/inside", "new-tool"], t.Remote.Exports.Single());
        Assert.Empty((await t.PullAsync()).Taken);
    }

    [Fact]
    public async Task ASandboxDirectory_WhereLocalHasASymlinkToOutside_IsNeverWrittenThrough()
    {
        using var t = new SyncTestTree();
        Directory.CreateDirectory(t.Outside);
        File.CreateSymbolicLink(Path.Join(t.Local, "data"), t.Outside);
        Write(t.Sandbox, "data/planted", "should not leave the tree");

        var report = await t.PullAsync();

        Assert.Empty(Directory.GetFileSystemEntries(t.Outside));
        Assert.Equal(t.Outside, new FileInfo(Path.Join(t.Local, "data")).LinkTarget);
        Assert.Equal("should not leave the tree", Read(t.Local, "data.sandbox/planted"));
        Assert.Equal([new SyncConflict("data", SyncConflictKind.BothChanged, "data.sandbox")], report.Conflicts);
    }

    [Fact]
    public async Task ALocalDirectorySwappedForASymlinkDuringThePull_StopsTheWrite()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "dir/f", "base");
        await t.PushAsync();
        Write(t.Sandbox, "dir/new", "sandbox addition");
        Directory.CreateDirectory(t.Outside);
        t.Remote.BeforeExport = _ =>
        {
            Directory.Move(Path.Join(t.Local, "dir"), Path.Join(t.Top, "moved-away"));
            File.CreateSymbolicLink(Path.Join(t.Local, "dir"), t.Outside);
        };

        var e = await Assert.ThrowsAsync<SyncException>(() => t.PullAsync());

        Assert.Equal(SyncErrorCodes.UnsafeLocalPath, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(t.Outside));
    }

    [Fact]
    public async Task AFileThatChangesInTheSandboxAfterTheListing_IsNotWritten()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "f", "base");
        await t.PushAsync();
        Write(t.Sandbox, "f", "listed");
        t.Remote.BeforeExport = _ => Write(t.Sandbox, "f", "changed after listing");

        var e = await Assert.ThrowsAsync<SyncException>(() => t.PullAsync());

        Assert.Equal(SyncErrorCodes.SandboxChanged, e.Code);
        Assert.True(e.IsTransient);
        Assert.Equal("base", Read(t.Local, "f"));
        Assert.DoesNotContain(Directory.GetFiles(t.Local), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        t.Remote.BeforeExport = null;
        await t.PullAsync();
        Assert.Equal("changed after listing", Read(t.Local, "f"));
    }

    [Fact]
    public async Task ALocalEditMadeDuringThePull_IsNeverOverwritten()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "f", "base");
        await t.PushAsync();
        Write(t.Sandbox, "f", "sandbox edit");
        t.Remote.BeforeExport = _ => Write(t.Local, "f", "typed during the pull");

        var e = await Assert.ThrowsAsync<SyncException>(() => t.PullAsync());

        Assert.Equal(SyncErrorCodes.LocalChanged, e.Code);
        Assert.Equal("typed during the pull", Read(t.Local, "f"));

        t.Remote.BeforeExport = null;
        var report = await t.PullAsync();
        Assert.Equal("typed during the pull", Read(t.Local, "f"));
        Assert.Equal("sandbox edit", Read(t.Local, "f.sandbox"));
        Assert.Single(report.Conflicts);
    }

    [Fact]
    public async Task APullStoppedHalfWay_GoesOnWhenRunAgain_WithoutTakingItsOwnWorkForConflicts()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "link-to-be", "a file for now");
        Write(t.Local, "z-last", "base");
        await t.PushAsync();
        File.Delete(Path.Join(t.Sandbox, "link-to-be"));
        File.CreateSymbolicLink(Path.Join(t.Sandbox, "link-to-be"), "z-last");
        Write(t.Sandbox, "z-last", "listed");
        t.Remote.BeforeExport = _ => Write(t.Sandbox, "z-last", "changed after listing");

        await Assert.ThrowsAsync<SyncException>(() => t.PullAsync());
        Assert.False(Exists(t.Local, "link-to-be")); // deleted for the symlink, which was not made yet

        t.Remote.BeforeExport = null;
        var report = await t.PullAsync();

        Assert.Empty(report.Conflicts);
        Assert.Equal("z-last", new FileInfo(Path.Join(t.Local, "link-to-be")).LinkTarget);
        Assert.Equal("changed after listing", Read(t.Local, "z-last"));
    }

    [Fact]
    public async Task AFirstPull_WithoutBaseline_TakesWhatIsOnlyInTheSandbox_AndCallsEveryDifferenceAConflict()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "same", "1");
        Write(t.Local, "differs", "local");
        Write(t.Local, "only-local", "l");
        Write(t.Sandbox, "same", "1");
        Write(t.Sandbox, "differs", "sandbox");
        Write(t.Sandbox, "only-sandbox", "s");

        var report = await t.PullAsync();

        Assert.Equal([new SyncConflict("differs", SyncConflictKind.BothChanged, "differs.sandbox")], report.Conflicts);
        Assert.Equal(["only-sandbox"], report.Taken);
        Assert.Equal(["only-local"], report.Kept);
        Assert.Equal("local", Read(t.Local, "differs"));
        Assert.Equal("sandbox", Read(t.Local, "differs.sandbox"));
    }

    [Fact]
    public async Task ExcludedPaths_AreNeitherPulledNorTouched()
    {
        using var t = new SyncTestTree();
        var options = new SyncOptions { Excludes = ["*.log", "cache/"] };
        Write(t.Local, "keep.log", "local log");
        Write(t.Sandbox, "keep.log", "sandbox log");
        Write(t.Sandbox, "cache/big.bin", "sandbox cache");
        Write(t.Local, "dir/x.log", "local log inside");
        Write(t.Local, "dir/f", "base");
        await t.PushAsync(options);
        Directory.Delete(Path.Join(t.Sandbox, "dir"), recursive: true);

        var report = await t.PullAsync(options);

        Assert.Equal("local log", Read(t.Local, "keep.log"));
        Assert.False(Exists(t.Local, "cache"));
        Assert.Equal("local log inside", Read(t.Local, "dir/x.log"));
        Assert.False(Exists(t.Local, "dir/f"));
        Assert.Equal("dir", Assert.Single(report.Conflicts).Path);
    }

    [Fact]
    public async Task PreservedSandboxOutputs_AreBroughtBackByPull()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "main.py", "code");
        Write(t.Sandbox, "out/result.txt", "42");
        var options = new SyncOptions { Preserve = ["out/"] };
        await t.PushAsync(options);

        var report = await t.PullAsync(options);

        Assert.Equal("42", Read(t.Local, "out/result.txt"));
        Assert.Equal(["out", "out/result.txt"], report.Taken);
    }

    [Fact]
    public async Task APullIntoAMissingDirectory_CreatesIt()
    {
        using var t = new SyncTestTree();
        Write(t.Sandbox, "a/b", "x");
        var target = Path.Join(t.Top, "fresh", "checkout");

        await t.Client.PullAsync(target, t.RemoteRoot);

        Assert.Equal("x", Read(target, "a/b"));
    }

    [Fact]
    public async Task PullingTheWholeWorkspace_UsesTheEmptyRoot()
    {
        using var t = new SyncTestTree(remoteRoot: "");
        Write(t.Remote.Workspace, "top.txt", "t");

        await t.PullAsync();

        Assert.Equal("t", Read(t.Local, "top.txt"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("a//b")]
    [InlineData("nul\0byte")]
    public async Task ASandboxPathThatCouldLeaveTheTree_IsRefused_BeforeAnythingIsWritten(string path)
    {
        using var t = new SyncTestTree();
        var client = new SyncClient(new ListingRemote([new SyncEntry(path, SyncEntryType.File, 0x1A4, 1, Sha("x"), null)]), SandboxId);

        var e = await Assert.ThrowsAsync<SyncException>(() => client.PullAsync(t.Local, "app"));

        Assert.Equal(SyncErrorCodes.InvalidPath, e.Code);
        Assert.Empty(Snapshot(t.Local));
    }

    [Fact]
    public async Task ASandboxListingWithAFileOutsideAnyListedDirectory_IsRefused()
    {
        using var t = new SyncTestTree();
        var client = new SyncClient(new ListingRemote([new SyncEntry("dir/f", SyncEntryType.File, 0x1A4, 1, Sha("x"), null)]), SandboxId);

        var e = await Assert.ThrowsAsync<SyncException>(() => client.PullAsync(t.Local, "app"));

        Assert.Equal(SyncErrorCodes.InvalidPath, e.Code);
    }

    [Fact]
    public async Task ACorruptStateFile_IsReported_WithHowToStartOver()
    {
        using var t = new SyncTestTree();
        Directory.CreateDirectory(Path.GetDirectoryName(t.StateFile)!);
        await File.WriteAllTextAsync(t.StateFile, "{ not json");

        var e = await Assert.ThrowsAsync<SyncException>(() => t.PullAsync());

        Assert.Equal(SyncErrorCodes.InvalidState, e.Code);
        Assert.Contains("Delete it", e.Message);
    }

    /// <summary>A sandbox that only lists, for listings the directory-backed fake could never produce.</summary>
    private sealed class ListingRemote(IReadOnlyList<SyncEntry> entries) : ISyncRemote
    {
        public Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken) => Task.FromResult(entries);

        public Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAsync(string root, string path, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
