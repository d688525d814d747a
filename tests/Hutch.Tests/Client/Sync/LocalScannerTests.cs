using System.Diagnostics;
using Hutch.Client.Sync;
using static Hutch.Tests.Client.Sync.SyncTestTree;

namespace Hutch.Tests.Client.Sync;

[Trait("Category", "Unit")]
public class LocalScannerTests
{
    [Fact]
    public async Task TheScan_ListsFilesDirectoriesAndSymlinks_HiddenOnesToo_WithoutFollowingLinks()
    {
        using var t = new SyncTestTree();
        Write(t.Local, ".hidden/file", "h", mode: "600");
        Write(t.Local, "run.sh", "#!", mode: "755");
        Directory.CreateDirectory(t.Outside);
        Write(t.Outside, "secret", "outside the tree");
        File.CreateSymbolicLink(Path.Join(t.Local, "out"), t.Outside);

        var scan = await LocalScanner.ScanAsync(t.Local, PathMatcher.None, CancellationToken.None);

        Assert.Equal(
            [new SyncEntry(".hidden", SyncEntryType.Directory, (int)File.GetUnixFileMode(Path.Join(t.Local, ".hidden")), 0, null, null),
             new SyncEntry(".hidden/file", SyncEntryType.File, 0x180, 1, Sha("h"), null),
             new SyncEntry("out", SyncEntryType.Symlink, 0x1FF, 0, null, t.Outside),
             new SyncEntry("run.sh", SyncEntryType.File, 0x1ED, 2, Sha("#!"), null)],
            scan.Entries);
    }

    [Fact]
    public async Task ExcludedPaths_AreSkipped_AndListedApart()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "keep.txt", "k");
        Write(t.Local, "node_modules/a/b.js", "x");
        Write(t.Local, "sub/x.log", "x");

        var scan = await LocalScanner.ScanAsync(t.Local, new PathMatcher(["node_modules/", "*.log"]), CancellationToken.None);

        Assert.Equal(["keep.txt", "sub"], scan.Entries.Select(e => e.Path));
        Assert.Equal(["node_modules", "sub/x.log"], scan.Excluded);
    }

    [Fact]
    public async Task AFifo_IsNeverOpened_SoTheScanAndThePushDoNotBlock()
    {
        using var t = new SyncTestTree();
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", Path.Join(t.Local, "pipe"))!))
        {
            await mkfifo!.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var report = await t.Client.PushAsync(t.Local, t.RemoteRoot, cancellationToken: timeout.Token);

        Assert.Equal(["pipe"], report.Uploaded);
        Assert.Equal("", Read(t.Sandbox, "pipe"));
    }
}
