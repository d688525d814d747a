using System.Text.Json;
using Hutch.Client.Sync;
using static Hutch.Tests.Client.Sync.SyncTestTree;

namespace Hutch.Tests.Client.Sync;

[Trait("Category", "Unit")]
public class PushTests
{
    [Fact]
    public async Task Push_MakesTheSandboxEqualToLocal_AndReportsWhatItSent()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "README.md", "hello");
        Write(t.Local, "src/main.c", "int main;");
        Write(t.Local, ".env", "hidden too");
        Directory.CreateDirectory(Path.Join(t.Local, "empty"));
        Write(t.Sandbox, "stale.txt", "gone after push");
        Write(t.Sandbox, "src/main.c", "old");

        var report = await t.PushAsync();

        Assert.Equal(Snapshot(t.Local), Snapshot(t.Sandbox));
        Assert.Equal([".env", "README.md", "empty", "src/main.c"], report.Uploaded);
        Assert.Equal(["stale.txt"], report.Deleted);
        Assert.Equal("hidden too".Length + "hello".Length + "int main;".Length, report.BytesUploaded);
        Assert.Single(t.Remote.Imported, n => n == "src/main.c");
    }

    [Fact]
    public async Task Push_Twice_SendsNothingTheSecondTime()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "a/b.txt", "x");
        await t.PushAsync();
        var imported = t.Remote.Imported.Count;

        var report = await t.PushAsync();

        Assert.Empty(report.Uploaded);
        Assert.Empty(report.Deleted);
        Assert.Equal(imported, t.Remote.Imported.Count);
    }

    [Fact]
    public async Task Push_KeepsPreservedSandboxPaths_AbsentLocally()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "app.py", "print()");
        Write(t.Sandbox, "out/result.csv", "1,2");
        Write(t.Sandbox, "out/deep/more.csv", "3");
        Write(t.Sandbox, ".venv/bin/python", "#!");
        Write(t.Sandbox, "scratch.txt", "not preserved");

        var report = await t.PushAsync(new SyncOptions { Preserve = ["out/", "/.venv"] });

        Assert.Equal([".venv", "out"], report.Preserved);
        Assert.Equal(["scratch.txt"], report.Deleted);
        Assert.Equal("1,2", Read(t.Sandbox, "out/result.csv"));
        Assert.Equal("#!", Read(t.Sandbox, ".venv/bin/python"));
    }

    [Fact]
    public async Task Push_NeverSendsNorTouchesExcludedPaths_OnEitherSide()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "app.js", "code");
        Write(t.Local, "debug.log", "local log");
        Write(t.Local, "node_modules/dep/index.js", "local dep");
        Write(t.Sandbox, "debug.log", "sandbox log");
        Write(t.Sandbox, "node_modules/dep/index.js", "sandbox dep");
        Write(t.Sandbox, "build/x.o", "object");

        var report = await t.PushAsync(new SyncOptions { Excludes = ["*.log", "node_modules/", "build/**"] });

        Assert.Equal("sandbox log", Read(t.Sandbox, "debug.log"));
        Assert.Equal("sandbox dep", Read(t.Sandbox, "node_modules/dep/index.js"));
        Assert.Equal("object", Read(t.Sandbox, "build/x.o"));
        Assert.DoesNotContain(report.Uploaded, p => p.Contains("log") || p.Contains("node_modules"));
        // build/ itself is not excluded (only what is inside), but it holds an excluded file, so it stays.
        Assert.Empty(report.Deleted);
    }

    [Fact]
    public async Task Push_ReplacesASandboxEntryOfAnotherType()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "thing", "now a file");
        Write(t.Local, "dir/inner", "now a directory");
        Write(t.Sandbox, "thing/was/a/dir", "x");
        Write(t.Sandbox, "dir", "was a file");

        await t.PushAsync();

        Assert.Equal(Snapshot(t.Local), Snapshot(t.Sandbox));
    }

    [Fact]
    public async Task Push_SendsModesAndSymlinksAsTheyAre()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "run.sh", "#!/bin/sh", mode: "755");
        Write(t.Local, "secret", "s", mode: "600");
        File.CreateSymbolicLink(Path.Join(t.Local, "link"), "run.sh");
        File.CreateSymbolicLink(Path.Join(t.Local, "abs"), "/etc/hostname");
        File.CreateSymbolicLink(Path.Join(t.Local, "dangling"), "../nowhere");

        await t.PushAsync();

        Assert.Equal("755", ModeOf(t.Sandbox, "run.sh"));
        Assert.Equal("600", ModeOf(t.Sandbox, "secret"));
        Assert.Equal("run.sh", new FileInfo(Path.Join(t.Sandbox, "link")).LinkTarget);
        Assert.Equal("/etc/hostname", new FileInfo(Path.Join(t.Sandbox, "abs")).LinkTarget);
        Assert.Equal("../nowhere", new FileInfo(Path.Join(t.Sandbox, "dangling")).LinkTarget);
    }

    [Fact]
    public async Task Push_RecordsTheBaselineInTheStateFile_WhichIsNeverSynced()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "a.txt", "x");

        await t.PushAsync();

        using var state = JsonDocument.Parse(await File.ReadAllTextAsync(t.StateFile));
        Assert.Equal("app", state.RootElement.GetProperty("root").GetString());
        var paths = state.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.Equal(["a.txt"], paths);
        Assert.False(Exists(t.Sandbox, ".hutch"));
        Assert.Empty(Directory.GetFiles(Path.Join(t.Local, ".hutch", "sync"), "*.tmp"));
    }

    [Fact]
    public async Task Push_ReportsTheSandboxChangesItOverwrote()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "same.txt", "1");
        Write(t.Local, "edited.txt", "1");
        Write(t.Local, "deleted-there.txt", "1");
        await t.PushAsync();
        Write(t.Sandbox, "edited.txt", "sandbox edit");
        File.Delete(Path.Join(t.Sandbox, "deleted-there.txt"));
        Write(t.Sandbox, "new-there.txt", "sandbox file");

        var report = await t.PushAsync();

        Assert.Equal(["deleted-there.txt", "edited.txt", "new-there.txt"], report.OverwrittenSandboxChanges);
        Assert.Equal(Snapshot(t.Local), Snapshot(t.Sandbox));
    }

    [Fact]
    public async Task Push_OfAFileThatChangesWhileItIsSent_Fails_AndRecordsNoBaseline()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "a.txt", "original");
        var remote = new ChangingRemote(t.Remote, () => Write(t.Local, "a.txt", "EDITED!!"));
        var client = new SyncClient(remote, SandboxId);

        var e = await Assert.ThrowsAsync<SyncException>(() => client.PushAsync(t.Local, t.RemoteRoot));

        Assert.Equal(SyncErrorCodes.LocalChanged, e.Code);
        Assert.True(e.IsTransient);
        Assert.False(File.Exists(t.StateFile));
        Assert.False(Exists(t.Sandbox, "a.txt"));
    }

    [Fact]
    public async Task Push_WhenTheSandboxRefusesTheUpload_ReportsItsError_WithoutHanging()
    {
        using var t = new SyncTestTree();
        Write(t.Local, "big.bin", new string('x', 1 << 20)); // far more than the pipe holds unread
        var client = new SyncClient(new RefusingRemote(t.Remote), SandboxId);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<IOException>(() => client.PushAsync(t.Local, t.RemoteRoot, cancellationToken: timeout.Token));

        Assert.Equal("disk full", e.Message);
        Assert.False(File.Exists(t.StateFile));
    }

    [Fact]
    public async Task LargeFiles_GoBothWays_Intact()
    {
        using var t = new SyncTestTree();
        var big = string.Concat(Enumerable.Range(0, 40_000).Select(i => $"{i},"));
        Write(t.Local, "big.csv", big);
        await t.PushAsync();
        Write(t.Sandbox, "big.csv", big + "more");

        var report = await t.PullAsync();

        Assert.Equal(big, Read(t.Sandbox, "big.csv")[..big.Length]);
        Assert.Equal(big + "more", Read(t.Local, "big.csv"));
        Assert.Equal(big.Length + 4, report.BytesDownloaded);
    }

    [Fact]
    public async Task Push_FromAMissingDirectory_SaysSo()
    {
        using var t = new SyncTestTree();

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => t.Client.PushAsync(Path.Join(t.Top, "nope"), "app"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    public async Task ARemoteRoot_WithDotsOrEmptySegments_IsRefused(string root)
    {
        using var t = new SyncTestTree();

        await Assert.ThrowsAsync<ArgumentException>(() => t.Client.PushAsync(t.Local, root));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    public void ASandboxId_ThatIsNotAPlainName_IsRefused(string id)
    {
        using var t = new SyncTestTree();

        Assert.Throws<ArgumentException>(() => new SyncClient(t.Remote, id));
    }

    /// <summary>Fails an import at once, without reading a byte of the tar.</summary>
    private sealed class RefusingRemote(ISyncRemote inner) : ISyncRemote
    {
        public Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken) => inner.ListAsync(root, cancellationToken);

        public Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken) => throw new IOException("disk full");

        public Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken) => inner.ExportTarAsync(root, paths, cancellationToken);

        public Task DeleteAsync(string root, string path, CancellationToken cancellationToken) => inner.DeleteAsync(root, path, cancellationToken);
    }

    /// <summary>Edits a local file just as the upload starts reading it.</summary>
    private sealed class ChangingRemote(ISyncRemote inner, Action change) : ISyncRemote
    {
        // After the local scan and before the upload: when the import began, the tar producer might
        // already have read the file (it runs concurrently), which made the test a race under load.
        public Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken)
        {
            change();
            return inner.ListAsync(root, cancellationToken);
        }

        public Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken) => inner.ImportTarAsync(root, tar, cancellationToken);

        public Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken) => inner.ExportTarAsync(root, paths, cancellationToken);

        public Task DeleteAsync(string root, string path, CancellationToken cancellationToken) => inner.DeleteAsync(root, path, cancellationToken);
    }
}
