using Hutch.Files;
using Hutch.Files.Checkpoints;
using Hutch.Linux;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Checkpoints;

/// <summary>Checkpoints on ext4, where every checkpoint is a copy (copy_file_range).</summary>
public sealed class CheckpointStoreOnExt4Tests() : CheckpointStoreTests(TestPaths.NewTempDir("hutch-cp"));

/// <summary>The same behaviour on XFS, where checkpoints are reflinks.</summary>
[Collection(XfsCollection.Name)]
public sealed class CheckpointStoreOnXfsTests(XfsVolumeFixture volume) : CheckpointStoreTests(volume.NewDirectory());

/// <summary>
/// What checkpoints, diff and reset do, run once per file system (the derived classes above). Each
/// test has its own workspace and store under a fresh directory.
/// </summary>
public abstract partial class CheckpointStoreTests : IDisposable
{
    protected const int Owner = 100_000;
    private readonly string _root;

    protected CheckpointStoreTests(string root)
    {
        _root = root;
        WorkspaceDirectory = Path.Join(root, "ws");
        Directory.CreateDirectory(WorkspaceDirectory);
        StoreDirectory = Path.Join(root, ".checkpoints", "sandbox");
        Workspace = new Workspace(WorkspaceDirectory, Owner, Owner);
        Store = new CheckpointStore(Workspace, StoreDirectory, limit: 4);
    }

    protected string WorkspaceDirectory { get; }
    protected string StoreDirectory { get; }
    protected Workspace Workspace { get; }
    protected CheckpointStore Store { get; }
    protected string Root => _root;

    public void Dispose()
    {
        Store.Dispose();
        Workspace.Dispose();
        Directory.Delete(_root, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Create_ThenList_ShowsTheCheckpointWithWhatItHolds()
    {
        Write("a.txt", "hello");
        Write("src/b.txt", "12345678");
        File.CreateSymbolicLink(Full("link"), "a.txt");

        var info = Store.Create("first");

        Assert.Equal("first", info.Name);
        Assert.Equal(4, info.Files);    // a.txt, src, src/b.txt, link
        Assert.Equal(13, info.Bytes);
        Assert.Equal([info], Store.List());
        Assert.Equal(0x1c0, (int)File.GetUnixFileMode(StoreDirectory));   // 0700
    }

    [Fact]
    public void Delete_RemovesTheCheckpoint_AndAnUnknownOneIsNotFound()
    {
        Write("a.txt", "x");
        Store.Create("one");
        Store.Create("two");

        Store.Delete("one");

        Assert.Equal(["two"], Store.List().Select(c => c.Name));
        Assert.Equal(ErrorCodes.CheckpointNotFound, Assert.Throws<WorkspaceException>(() => Store.Delete("one")).Code);
        Assert.Equal(404, Assert.Throws<WorkspaceException>(() => Store.Diff("one")).Status);
        Assert.Equal(ErrorCodes.CheckpointNotFound, Assert.Throws<WorkspaceException>(() => Store.Reset("one")).Code);
        Assert.Equal(["two"], StoreEntries());
    }

    [Fact]
    public void Create_WithATakenName_IsRefused()
    {
        Store.Create("same");
        var e = Assert.Throws<WorkspaceException>(() => Store.Create("same"));
        Assert.Equal((ErrorCodes.CheckpointExists, 409), (e.Code, e.Status));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".baseline")]
    [InlineData("-dash")]
    [InlineData("a/b")]
    [InlineData("../x")]
    [InlineData("baseline")]
    [InlineData("Baseline")]
    [InlineData("space here")]
    [InlineData("ünïcode")]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012345")]
    public void Create_WithAnInvalidName_IsRefused(string name)
    {
        var e = Assert.Throws<WorkspaceException>(() => Store.Create(name));
        Assert.Equal((ErrorCodes.InvalidCheckpointName, 400), (e.Code, e.Status));
        Assert.Empty(StoreEntries());
    }

    [Fact]
    public void Create_BeyondTheLimit_IsRefused_AndTheBaselineDoesNotCount()
    {
        Store.SetBaseline();
        for (var i = 0; i < 4; i++)
        {
            Store.Create($"c{i}");
        }
        var e = Assert.Throws<WorkspaceException>(() => Store.Create("c4"));
        Assert.Equal((ErrorCodes.TooManyCheckpoints, 409), (e.Code, e.Status));
    }

    [Fact]
    public void TheBaseline_IsEmptyUntilSet_SoEverythingIsAdded()
    {
        Write("a.txt", "x");
        Write("d/b.txt", "y");

        var diff = Store.Diff();

        Assert.Equal("baseline", diff.Since);
        Assert.Equal(["a.txt", "d", "d/b.txt"], diff.Added);
        Assert.Empty(diff.Modified);
        Assert.Empty(diff.Deleted);
        Assert.Empty(Store.List());   // the baseline is not a listed checkpoint
    }

    [Fact]
    public void SetBaseline_IsWhatDiffAndResetCompareWith_AndSettingItAgainReplacesIt()
    {
        Write("a.txt", "imported");
        Store.SetBaseline();
        Write("b.txt", "new");
        Assert.Equal(["b.txt"], Store.Diff("baseline").Added);

        Store.SetBaseline();

        Assert.Empty(Store.Diff().Added);
        Write("a.txt", "changed");
        Assert.Equal(["a.txt"], Store.Reset().Modified);
        Assert.Equal("imported", Read("a.txt"));
        Assert.Equal([".baseline"], StoreEntries());   // the old baseline and temp trees are gone
    }

    [Fact]
    public void Reset_ToAnEmptyBaseline_EmptiesTheWorkspaceButKeepsItsRoot()
    {
        Write("a.txt", "x");
        Write("d/e/f.txt", "y");
        var root = Status("");

        var undone = Store.Reset();

        Assert.Equal(["a.txt", "d", "d/e", "d/e/f.txt"], undone.Added);
        Assert.Empty(Directory.GetFileSystemEntries(WorkspaceDirectory));
        Assert.Equal(root.Inode, Status("").Inode);
    }

    [Fact]
    public void Diff_ListsAddedModifiedAndDeletedPaths()
    {
        MakeTree();
        Store.Create("c1");
        var changes = ChangeTree();

        var diff = Store.Diff("c1");

        Assert.Equal("c1", diff.Since);
        Assert.Equal(changes.Added, diff.Added);
        Assert.Equal(changes.Modified, diff.Modified);
        Assert.Equal(changes.Deleted, diff.Deleted);
    }

    [Fact]
    public void Diff_CatchesAnInPlaceWriteThatKeptSizeAndMtime_ByItsCtime()
    {
        Write("same.txt", "aaaa");
        Thread.Sleep(100);   // out of the "racy" window: the fast path alone decides
        Store.Create("c1");
        var before = Status("same.txt");

        using (var file = new FileStream(Full("same.txt"), FileMode.Open, FileAccess.Write))
        {
            file.Write("bbbb"u8);
        }
        SetMtime("same.txt", before.MtimeNs);   // what `touch -d` does

        var after = Status("same.txt");
        Assert.Equal((before.Inode, before.Size, before.MtimeNs), (after.Inode, after.Size, after.MtimeNs));
        Assert.Equal(["same.txt"], Store.Diff("c1").Modified);
    }

    [Fact]
    public void Diff_TrustsUnchangedMetadata_SoAnUntouchedFileIsNotRead()
    {
        Write("big.txt", "original");
        Thread.Sleep(100);
        Store.Create("c1");
        // Only the checkpoint's own copy changes: had the diff read the file, it would report it.
        File.WriteAllText(Path.Join(StoreDirectory, "c1", "tree", "big.txt"), "tampered");

        Assert.Empty(Store.Diff("c1").Modified);
    }

    [Fact]
    public void Diff_OfATouchedButUnchangedFile_IsEmpty()
    {
        Write("a.txt", "same");
        Store.Create("c1");
        File.SetLastWriteTimeUtc(Full("a.txt"), DateTime.UtcNow.AddHours(1));

        var diff = Store.Diff("c1");

        Assert.Empty(diff.Added.Concat(diff.Modified).Concat(diff.Deleted));
    }

    [Fact]
    public void Reset_MakesTheWorkspaceEqualToTheCheckpoint_AndReturnsWhatItUndid()
    {
        MakeTree();
        var keep = Status("keep.txt");
        Store.Create("c1");
        var changes = ChangeTree();

        var undone = Store.Reset("c1");

        Assert.Equal(changes.Added, undone.Added);
        Assert.Equal(changes.Modified, undone.Modified);
        Assert.Equal(changes.Deleted, undone.Deleted);
        var again = Store.Diff("c1");
        Assert.Empty(again.Added.Concat(again.Modified).Concat(again.Deleted));
        Assert.Equal("0123456789", Read("a.txt"));
        Assert.Equal("b", Read("dir/b.txt"));
        Assert.Equal("x", Read("gone/x.txt"));
        Assert.Equal("t", Read("typechange"));
        Assert.Equal("a.txt", new FileInfo(Full("link")).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Full("mode.sh")));
        Assert.Equal(0x1e8, (int)File.GetUnixFileMode(Full("gone")));
        Assert.False(Path.Exists(Full("new.txt")));
        Assert.False(Path.Exists(Full("newdir")));
        foreach (var path in new[] { "a.txt", "gone", "gone/x.txt", "typechange", "link", "mode.sh" })
        {
            Assert.Equal(((uint)Owner, (uint)Owner), (Status(path).Uid, Status(path).Gid));
        }
        // Untouched files are left alone, not rewritten.
        var kept = Status("keep.txt");
        Assert.Equal((keep.Inode, keep.CtimeNs), (kept.Inode, kept.CtimeNs));
        Assert.Empty(Directory.GetFiles(WorkspaceDirectory, ".hutch-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Reset_RestoresContentAndMtimeOfAFileRewrittenInPlace()
    {
        Write("a.txt", "version 1");
        SetMtime("a.txt", 1_000_000_000_123_456_789);
        Store.Create("c1");
        Write("a.txt", "version 2");

        Store.Reset("c1");

        Assert.Equal("version 1", Read("a.txt"));
        Assert.Equal(1_000_000_000_123_456_789, Status("a.txt").MtimeNs);
    }

    [Fact]
    public void ASetuidBit_IsNotKeptOnTheCheckpointsCopy_ButAResetRestoresIt()
    {
        Write("tool", "#!/bin/sh\n", mode: 0x9ed);   // 04755
        Store.Create("c1");

        Assert.Equal(0x1ed, (int)File.GetUnixFileMode(Path.Join(StoreDirectory, "c1", "tree", "tool")));   // 0755
        File.SetUnixFileMode(Full("tool"), (UnixFileMode)0x1ed);
        Assert.Equal(["tool"], Store.Reset("c1").Modified);
        Assert.Equal(0x9ed, Status("tool").Permissions);
    }

    [Fact]
    public void FifosAreNeitherCapturedNorListed_AndAResetLeavesThem()
    {
        Write("a.txt", "x");
        Run("mkfifo", Full("pipe"));
        Store.Create("c1");
        Run("mkfifo", Full("pipe2"));

        var diff = Store.Diff("c1");
        Store.Reset("c1");

        Assert.Empty(diff.Added);
        Assert.Equal(EntryKind.Other, Status("pipe2").Kind);
    }

    [Fact]
    public void Create_WhenCancelled_LeavesNothing()
    {
        Write("a.txt", "x");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => Store.Create("c1", cancelled.Token));

        Assert.Empty(Store.List());
        Assert.Empty(StoreEntries());
    }

    /// <summary>A tree with one of everything the diff distinguishes; the files are made long enough ago not to be "racy".</summary>
    private void MakeTree()
    {
        Write("a.txt", "0123456789");
        Write("keep.txt", "keep");
        Write("dir/b.txt", "b");
        Write("gone/x.txt", "x");
        File.SetUnixFileMode(Full("gone"), (UnixFileMode)0x1e8);   // 0750
        Write("typechange", "t");
        Write("mode.sh", "#!/bin/sh\n", mode: 0x180);
        File.CreateSymbolicLink(Full("link"), "a.txt");
        FileOwner.Change(Full("link"), Owner, Owner);
        Thread.Sleep(100);
    }

    /// <summary>Changes <see cref="MakeTree"/>'s tree; returns what a diff must report.</summary>
    private (List<string> Added, List<string> Modified, List<string> Deleted) ChangeTree()
    {
        Write("new.txt", "new");
        Write("newdir/inner.txt", "inner");
        Write("a.txt", "9876543210");                              // same size, new content
        File.Delete(Full("dir/b.txt"));
        Directory.Delete(Full("gone"), recursive: true);
        File.Delete(Full("typechange"));
        Write("typechange/child", "c");                            // file → directory
        File.Delete(Full("link"));
        File.CreateSymbolicLink(Full("link"), "keep.txt");         // retargeted
        FileOwner.Change(Full("link"), Owner, Owner);
        File.SetUnixFileMode(Full("mode.sh"), (UnixFileMode)0x1ed); // mode only (0755)
        return (["new.txt", "newdir", "newdir/inner.txt", "typechange/child"],
            ["a.txt", "link", "mode.sh", "typechange"],
            ["dir/b.txt", "gone", "gone/x.txt"]);
    }

    protected string Full(string relative) => Path.Join(WorkspaceDirectory, relative);

    protected void Write(string relative, string text, int mode = 0x1a4)
    {
        var path = Full(relative);
        var parent = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
            FileOwner.Change(parent, Owner, Owner);
        }
        File.WriteAllText(path, text);
        FileOwner.Change(path, Owner, Owner);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    protected string Read(string relative) => File.ReadAllText(Full(relative));

    /// <summary>statx of a workspace entry, never following a final symlink.</summary>
    protected EntryStatus Status(string relative)
    {
        using var root = Beneath.OpenRoot(WorkspaceDirectory);
        if (relative.Length == 0)
        {
            return At.Stat(root, "");
        }
        var (parent, name) = WorkspacePath.Split(relative);
        using var dir = Beneath.Open(root, parent, Beneath.O_PATH | Beneath.O_DIRECTORY);
        return At.Stat(dir, name);
    }

    private void SetMtime(string relative, long mtimeNs)
    {
        using var root = Beneath.OpenRoot(WorkspaceDirectory);
        var (parent, name) = WorkspacePath.Split(relative);
        using var dir = Beneath.Open(root, parent, Beneath.O_PATH | Beneath.O_DIRECTORY);
        At.SetTimes(dir, name, mtimeNs);
    }

    /// <summary>What the store directory holds (temp and trash trees included).</summary>
    protected List<string> StoreEntries() =>
        [.. Directory.GetFileSystemEntries(StoreDirectory).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal)];

    protected static void Run(string program, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(program, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
