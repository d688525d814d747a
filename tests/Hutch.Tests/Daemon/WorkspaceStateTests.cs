using System.Formats.Tar;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>Archives, patches, checkpoints, diff and reset through the API, checked from inside the sandbox.</summary>
[Collection(DaemonCollection.Name)]
public class WorkspaceStateTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public void TheWorkspaces_AreOnAVolumeWithReflinksAndQuotas()
    {
        var mounts = File.ReadAllLines("/proc/self/mountinfo");
        Assert.Contains(mounts, line => line.Split(' ')[4] == Path.Join(fixture.DataDir, "workspaces") && line.Contains(" - btrfs "));
        Assert.NotNull(fixture.Daemon.Engine.Volume.Quotas);
    }

    [Fact]
    public async Task AnImport_BecomesTheBaseline_ThenDiffAndResetFollowChangesMadeInside()
    {
        await using var sandbox = await fixture.CreateAsync();
        var imported = await Client.ImportAsync(sandbox.Id, "app", Tar(("main.py", "print(1)\n", null), ("lib/util.py", "x = 1\n", null), ("link", null, "main.py")));
        Assert.Equal(("app", 3), (imported.Path, imported.Entries));
        Assert.Empty(All(await Client.DiffAsync(sandbox.Id)));

        await sandbox.ShAsync("cd app && echo 'print(2)' > main.py && rm lib/util.py && echo new > new.txt && chmod 700 lib");

        var diff = await Client.DiffAsync(sandbox.Id);
        Assert.Equal(["app/new.txt"], diff.Added);
        Assert.Equal(["app/lib", "app/main.py"], diff.Modified);
        Assert.Equal(["app/lib/util.py"], diff.Deleted);

        var undone = await Client.ResetAsync(sandbox.Id);
        Assert.Equal(All(diff), All(undone));
        var inside = await sandbox.ShAsync("cd app && cat main.py lib/util.py && readlink link && ls && stat -c %a lib");
        Assert.Equal("print(1)\nx = 1\nmain.py\nlib\nlink\nmain.py\n755\n", inside.Stdout);
        Assert.Empty(All(await Client.DiffAsync(sandbox.Id)));
    }

    [Fact]
    public async Task NamedCheckpoints_AreCreatedListedRestoredAndDeleted()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("echo one > f && mkdir d && echo x > d/x");
        var first = await Client.CreateCheckpointAsync(sandbox.Id, "one");
        Assert.Equal(("one", 3), (first.Name, first.Files));
        await sandbox.ShAsync("echo two > f && rm -r d");
        await Client.CreateCheckpointAsync(sandbox.Id, "two");
        await sandbox.ShAsync("echo three > f");

        Assert.Equal(["one", "two"], (await Client.ListCheckpointsAsync(sandbox.Id)).Select(c => c.Name));
        Assert.Equal(["f"], (await Client.DiffAsync(sandbox.Id, "two")).Modified);
        await Client.ResetAsync(sandbox.Id, "one");
        Assert.Equal("one\nx\n", (await sandbox.ShAsync("cat f d/x")).Stdout);
        await Client.ResetAsync(sandbox.Id, "two");
        Assert.Equal("two\n", (await sandbox.ShAsync("cat f; ls d 2>/dev/null")).Stdout);

        await Client.DeleteCheckpointAsync(sandbox.Id, "one");
        Assert.Equal(["two"], (await Client.ListCheckpointsAsync(sandbox.Id)).Select(c => c.Name));
        var missing = await Assert.ThrowsAsync<HutchApiException>(() => Client.ResetAsync(sandbox.Id, "one"));
        Assert.Equal((ErrorCodes.CheckpointNotFound, 404), (missing.Code, missing.Status));
        var taken = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateCheckpointAsync(sandbox.Id, "two"));
        Assert.Equal((ErrorCodes.CheckpointExists, 409), (taken.Code, taken.Status));
        var invalid = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateCheckpointAsync(sandbox.Id, "../x"));
        Assert.Equal((ErrorCodes.InvalidCheckpointName, 400), (invalid.Code, invalid.Status));
    }

    [Fact]
    public async Task ACheckpoint_OfABusySandbox_PausesIt_AndLetsItRunOnAfterwards()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("(i=0; while :; do i=$((i+1)); echo $i > counter; done) > /dev/null 2>&1 &");
        await Task.Delay(200);

        await Client.CreateCheckpointAsync(sandbox.Id, "busy");

        var freezer = $"/sys/fs/cgroup/freezer/hutch/{sandbox.Id}/freezer.state";   // cgroup v1 (this host)
        if (File.Exists(freezer))
        {
            Assert.Equal("THAWED", File.ReadAllText(freezer).Trim());
        }
        // The loop truncates before it writes: read until a number is there.
        const string read = "while :; do c=$(cat counter); [ -n \"$c\" ] && echo $c && break; done";
        var before = int.Parse((await sandbox.ShAsync(read)).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Task.Delay(200);
        var after = int.Parse((await sandbox.ShAsync(read)).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(after > before, $"the counting loop stopped at {before}: the sandbox was left frozen");
        Assert.Single(await Client.ListCheckpointsAsync(sandbox.Id));
    }

    [Fact]
    public async Task DeletingTheSandbox_DeletesItsCheckpoints()
    {
        var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("echo x > f");
        await Client.CreateCheckpointAsync(sandbox.Id, "c");
        var store = Path.Join(fixture.DataDir, "workspaces", ".checkpoints", sandbox.Id);
        Assert.True(Directory.Exists(store));

        await sandbox.DisposeAsync();

        Assert.False(Directory.Exists(store));
    }

    [Fact]
    public async Task AnExport_IsATarWithSymlinksStoredAsLinks_ThatImportsBackTheSame()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir -p src && printf 'a\\0b' > src/bin && ln -s / src/root && ln -s bin src/alias && chmod 751 src/bin");

        var entries = new Dictionary<string, (TarEntryType Type, string? Link, int Mode, byte[] Data)>();
        await using (var tar = await Client.ExportAsync(sandbox.Id, "src"))
        {
            var reader = new TarReader(tar);
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                entries[entry.Name] = (entry.EntryType, entry.LinkName.Length == 0 ? null : entry.LinkName, (int)entry.Mode, data.ToArray());
            }
        }
        Assert.Equal(["alias", "bin", "root"], entries.Keys.Order());
        Assert.Equal((TarEntryType.SymbolicLink, "/"), (entries["root"].Type, entries["root"].Link));
        Assert.Equal("a\0b"u8.ToArray(), entries["bin"].Data);
        Assert.Equal(0x1e9, entries["bin"].Mode);

        await using var again = await Client.ExportAsync(sandbox.Id, "src", ["bin", "alias"]);
        var copy = new MemoryStream();
        await again.CopyToAsync(copy);
        copy.Position = 0;
        await Client.ImportAsync(sandbox.Id, "copy", copy, setBaseline: false);
        Assert.Equal("a\0b"u8.ToArray(), await Client.ReadBytesAsync(sandbox.Id, "copy/bin"));
        Assert.Equal("bin", (await Client.StatAsync(sandbox.Id, "copy/alias")).Target);
        Assert.Equal("751\n", (await sandbox.ShAsync("stat -c %a copy/bin")).Stdout);
    }

    [Fact]
    public async Task ATarSlipArchive_IsRefused_AndLeavesNothing()
    {
        await using var sandbox = await fixture.CreateAsync();
        var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "ok.txt") { DataStream = new MemoryStream("fine"u8.ToArray()) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "passwd") { LinkName = "/etc/passwd" });
        }
        archive.Position = 0;

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ImportAsync(sandbox.Id, "", archive));

        Assert.Equal((ErrorCodes.ArchiveRefused, 400), (e.Code, e.Status));
        Assert.Contains("passwd", e.Message);
        Assert.Equal("", (await sandbox.ShAsync("ls -A")).Stdout);
    }

    [Fact]
    public async Task APatch_AppliesAllOrNothing_ThroughTheApi()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("printf 'one\\ntwo\\n' > a.txt && printf 'keep\\n' > b.txt");
        const string patch = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-nope\n+changed\n";

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ApplyPatchAsync(sandbox.Id, patch));
        Assert.Equal(ErrorCodes.PatchFailed, e.Code);
        Assert.Contains("b.txt", e.Message);
        Assert.Equal("one\ntwo\nkeep\n", (await sandbox.ShAsync("cat a.txt b.txt")).Stdout);

        var result = await Client.ApplyPatchAsync(sandbox.Id, patch.Replace("-nope", "-keep"));
        Assert.Equal(["a.txt", "b.txt"], result.Files.Select(f => f.Path));
        Assert.Equal("one\nTWO\nchanged\n", (await sandbox.ShAsync("cat a.txt b.txt")).Stdout);
    }

    private static List<string> All(WorkspaceDiff diff) => [.. diff.Added.Select(p => "A " + p), .. diff.Modified.Select(p => "M " + p), .. diff.Deleted.Select(p => "D " + p)];

    private static MemoryStream Tar(params (string Name, string? Text, string? Link)[] members)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text, link) in members)
            {
                writer.WriteEntry(link is null
                    ? new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text!)) }
                    : new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = link });
            }
        }
        stream.Position = 0;
        return stream;
    }
}
