using System.Formats.Tar;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Templates;

namespace Hutch.Tests.Bundles;

/// <summary>A daemon with one pooled sandbox and small bundle limits (so the limit tests need no gigabytes).</summary>
public sealed class BundleFixture : DaemonFixture
{
    public const long MaxBytes = 1 << 20;
    public const int MaxEntries = 200;

    protected override HutchOptions Configure(HutchOptions options) => options with { WarmPool = 1, BundleMaxBytes = MaxBytes, BundleMaxEntries = MaxEntries };

    public string Store => Path.Join(DataDir, "bundles", "store");

    public string MountsOf(string sandboxId) => Path.Join(DataDir, "bundle-mounts", sandboxId);

    /// <summary>A fresh bundle name per test (the fixture's daemon is shared).</summary>
    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    /// <summary>Pushes a directory made of <paramref name="files"/> (path → content; "x:" before a content makes it executable).</summary>
    public async Task<BundlePushResult> PushFilesAsync(string name, IReadOnlyDictionary<string, string> files)
    {
        var dir = TestPaths.NewTempDir("hutch-bundle-src");
        try
        {
            foreach (var (path, content) in files)
            {
                var full = Path.Join(dir, path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                var executable = content.StartsWith("x:", StringComparison.Ordinal);
                await File.WriteAllTextAsync(full, executable ? content[2..] : content);
                File.SetUnixFileMode(full, executable ? (UnixFileMode)0x1ed : (UnixFileMode)0x1a4);
            }
            return await Client.PushBundleAsync(dir, name);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Mount points the host has at or below a sandbox's bundle directory.</summary>
    public IReadOnlyList<string> HostMountsOf(string sandboxId) =>
        [.. File.ReadLines("/proc/self/mountinfo").Select(line => line.Split(' ')[4]).Where(p => p.StartsWith(MountsOf(sandboxId) + "/", StringComparison.Ordinal))];
}

[CollectionDefinition(Name)]
public sealed class BundleCollection : ICollectionFixture<BundleFixture>
{
    public const string Name = "bundles";
}

/// <summary>Bundles against a real daemon and real runc: store, mounts by propagation, switch, delete, hostile tars.</summary>
[Collection(BundleCollection.Name)]
public sealed class BundleTests(BundleFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task PushingADirectoryTwice_WithOneFileChanged_StoresTheUnchangedFilesOnce_AsReadOnlyRootFiles()
    {
        var name = BundleFixture.NewName("twice");
        var files = new Dictionary<string, string> { ["a.txt"] = "same a\n", ["b.txt"] = "first b\n", ["tools/run.sh"] = "x:#!/bin/sh\necho run\n" };
        var first = await fixture.PushFilesAsync(name, files);
        files["b.txt"] = "second b\n";
        var second = await fixture.PushFilesAsync(name, files);

        Assert.Equal((1, 2), (first.Version, second.Version));
        Assert.Equal((3, 3L), (first.Files, first.NewFiles));
        Assert.Equal((3, 1L), (second.Files, second.NewFiles));
        Assert.NotEqual(first.Digest, second.Digest);
        var v1 = Path.Join(fixture.Store, "trees", name, "1");
        var v2 = Path.Join(fixture.Store, "trees", name, "2");
        Assert.Equal(Inode(Path.Join(v1, "a.txt")), Inode(Path.Join(v2, "a.txt")));
        Assert.Equal(Inode(Path.Join(v1, "tools/run.sh")), Inode(Path.Join(v2, "tools/run.sh")));
        Assert.NotEqual(Inode(Path.Join(v1, "b.txt")), Inode(Path.Join(v2, "b.txt")));
        var status = Status(Path.Join(v2, "a.txt"));
        Assert.Equal((0u, 0u, 0x124), (status.Uid, status.Gid, status.Permissions));
        Assert.Equal(0x16d, Status(Path.Join(v2, "tools/run.sh")).Permissions);
        Assert.Equal(0x16d, Status(Path.Join(v2, "tools")).Permissions);
        Assert.Equal(3u, Status(Path.Join(v2, "a.txt")).Links); // two trees and the blob
        var info = await Client.GetBundleAsync(name);
        Assert.Equal(2, info.Latest);
        Assert.Equal([1L, 2L], info.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task TwoBundles_MountedAtCreate_AreReadableInside_AndEveryWriteGetsEROFS()
    {
        var skills = BundleFixture.NewName("skills");
        var prompts = BundleFixture.NewName("prompts");
        await fixture.PushFilesAsync(skills, new Dictionary<string, string> { ["SKILL.md"] = "skill one\n", ["bin/tool"] = "x:#!/bin/sh\necho tool ran\n" });
        await fixture.PushFilesAsync(prompts, new Dictionary<string, string> { ["p.txt"] = "prompt\n" });
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Bundles:
            [new BundleMount(skills), new BundleMount(prompts, "1", "/bundles/prompts")]));

        var read = await sandbox.ShAsync($"cat /bundles/{skills}/SKILL.md /bundles/prompts/p.txt; /bundles/{skills}/bin/tool");
        var writes = await sandbox.PythonAsync($$"""
            import errno, os
            for attempt in (lambda: open("/bundles/{{skills}}/SKILL.md", "w"), lambda: open("/bundles/{{skills}}/new", "w"),
                            lambda: os.mkdir("/bundles/new"), lambda: os.unlink("/bundles/prompts/p.txt"),
                            lambda: os.chmod("/bundles/prompts/p.txt", 0o777)):
                try:
                    attempt()
                    print("written")
                except OSError as e:
                    print(errno.errorcode[e.errno])
            """);
        var info = await Client.GetSandboxAsync(sandbox.Id);

        Assert.Equal("skill one\nprompt\ntool ran\n", read.Stdout);
        Assert.Equal("EROFS\nEROFS\nEROFS\nEROFS\nEROFS\n", writes.Stdout);
        Assert.Equal([(skills, 1L, $"/bundles/{skills}"), (prompts, 1L, "/bundles/prompts")],
            info.Bundles!.Select(b => (b.Name, b.Version, b.Path)).OrderBy(b => b.Path == "/bundles/prompts"));
        Assert.Equal([sandbox.Id], (await Client.GetBundleAsync(prompts)).Versions[0].Sandboxes);
    }

    [Fact]
    public async Task SwitchingVersions_WhileAProcessReadsInALoop_ShowsOnlyOldOrNewContent_AndAnOpenFileKeepsItsVersion()
    {
        var name = BundleFixture.NewName("switch");
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "old\n", ["only-in-1"] = "1\n" });
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "new\n", ["only-in-2"] = "2\n" });
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Bundles: [new BundleMount(name, "1")]));
        var path = $"/bundles/{name}/f";
        // Holds the old file open, then reads the path again and again until its content has been new
        // for a while, counting what it saw; any error is printed as such.
        var reader = sandbox.PythonAsync($$"""
            import collections, os, time
            held = open("{{path}}")
            open("/tmp/started", "w").close()
            seen = collections.Counter()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not os.path.exists("/tmp/stop"):
                try:
                    with open("{{path}}") as f:
                        text = f.read()
                except OSError as e:
                    text = "error " + str(e)
                seen[text.strip()] += 1
            print(dict(seen))
            print("held:" + held.read().strip())
            """, timeoutMs: 30_000);
        for (var i = 0; i < 500 && (await sandbox.ShAsync("test -e /tmp/started && echo yes || true")).Stdout != "yes\n"; i++)
        {
            await Task.Delay(10);
        }
        await Task.Delay(100);
        // Back and forth, then to 2 for good: each switch is one beneath-mount and one detach.
        foreach (var version in new long[] { 2, 1, 2, 1, 2 })
        {
            Assert.Equal(version, (await Client.SetSandboxBundleAsync(sandbox.Id, name, version)).Version);
            await Task.Delay(20);
        }
        await Task.Delay(100);
        await sandbox.ShAsync("touch /tmp/stop");
        var result = await reader;
        var after = await sandbox.ShAsync($"ls /bundles/{name}");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var seen = lines[0].Trim('{', '}').Split(", ").Select(pair => pair.Split(": ")[0].Trim('\'')).ToList();
        Assert.Equal(["old", "new"], seen.Order().Reverse());
        Assert.Equal("held:old", lines[1]);
        Assert.Equal("f\nonly-in-2\n", after.Stdout);
        Assert.Equal(2, (await Client.GetSandboxAsync(sandbox.Id)).Bundles!.Single().Version);
        Assert.Single(fixture.HostMountsOf(sandbox.Id)); // the old version detached, not stacked
    }

    [Fact]
    public async Task ABundleAtAPathOfItsOwn_StartsCold_AndSwitchesThereToo()
    {
        var name = BundleFixture.NewName("own");
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "one\n" });
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "two\n" });
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Bundles: [new BundleMount(name, "1", "/opt/skills")]));

        var before = await sandbox.ShAsync("cat /opt/skills/f; touch /opt/skills/x 2>&1 | grep -c Read-only");
        await Client.SetSandboxBundleAsync(sandbox.Id, name, 2);
        var after = await sandbox.ShAsync("cat /opt/skills/f");

        Assert.Equal("one\n1\n", before.Stdout);
        Assert.Equal("two\n", after.Stdout);
        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.SetSandboxBundleAsync(sandbox.Id, BundleFixture.NewName("none"), 1));
        Assert.Equal(ErrorCodes.BundleNotFound, error.Code);
    }

    [Fact]
    public async Task ACreateWithFiveBundles_IsClaimedFromTheWarmPool_AndARunningSandboxCanMountOneMore()
    {
        var names = Enumerable.Range(0, 6).Select(i => BundleFixture.NewName($"pool{i}")).ToList();
        foreach (var name in names)
        {
            await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["name"] = name });
        }
        string? pooled = null;
        for (var i = 0; i < 200 && pooled is null; i++)
        {
            if (fixture.Daemon.Engine.Directory.Registry.ListPooled() is [{ } ready] && fixture.Daemon.Engine.WarmPoolReady == 1)
            {
                pooled = ready.Id;
                break;
            }
            await Task.Delay(50);
        }
        Assert.NotNull(pooled);

        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Bundles: [.. names.Take(5).Select(n => new BundleMount(n))]));
        var read = await sandbox.ShAsync(string.Join("; ", names.Take(5).Select(n => $"cat /bundles/{n}/name; echo")));
        var added = await Client.SetSandboxBundleAsync(sandbox.Id, names[5]);
        var readAdded = await sandbox.ShAsync($"cat /bundles/{names[5]}/name");
        await Client.RemoveSandboxBundleAsync(sandbox.Id, names[0]);
        var removed = await sandbox.ShAsync($"ls /bundles");

        Assert.Equal(pooled, sandbox.Id);
        Assert.Equal(string.Join("", names.Take(5).Select(n => n + "\n")), read.Stdout);
        Assert.Equal($"/bundles/{names[5]}", added.Path);
        Assert.Equal(names[5], readAdded.Stdout);
        Assert.Equal(string.Join("", names.Skip(1).Order(StringComparer.Ordinal).Select(n => n + "\n")), removed.Stdout);
    }

    [Fact]
    public async Task DeletingAVersionInUse_Is409NamingTheSandbox_AndDeletingTheSandboxUnmountsAndFreesIt()
    {
        var name = BundleFixture.NewName("inuse");
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["unique"] = $"content {Guid.NewGuid()}" });
        var blobsBefore = BlobCount();
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Bundles: [new BundleMount(name)]));

        var inUse = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteBundleAsync(name, 1));
        Assert.Equal(ErrorCodes.BundleInUse, inUse.Code);
        Assert.Equal(409, inUse.Status);
        Assert.Contains(sandbox.Id, inUse.Message);
        Assert.NotEmpty(fixture.HostMountsOf(sandbox.Id));

        await sandbox.DisposeAsync();
        Assert.Empty(fixture.HostMountsOf(sandbox.Id));
        Assert.False(Directory.Exists(fixture.MountsOf(sandbox.Id)));
        await Client.DeleteBundleAsync(name, 1);
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetBundleAsync(name));
        Assert.Equal(ErrorCodes.BundleNotFound, gone.Code);
        Assert.False(Directory.Exists(Path.Join(fixture.Store, "trees", name)));
        Assert.Equal(blobsBefore - 1, BlobCount());
    }

    [Theory]
    [InlineData("relative/path", "bundles[0].path")]
    [InlineData("/workspace/skills", "bundles[0].path")]
    [InlineData("/tmp/x", "bundles[0].path")]
    [InlineData("/proc/x", "bundles[0].path")]
    [InlineData("/dev/x", "bundles[0].path")]
    [InlineData("/run", "bundles[0].path")]
    [InlineData("/.hutch/x", "bundles[0].path")]
    [InlineData("/bundles", "bundles[0].path")]
    [InlineData("/bundles/a/b", "bundles[0].path")]
    [InlineData("/opt/../etc", "bundles[0].path")]
    [InlineData("/srv/skills", "bundles[0].path")] // the host's root is read-only: only /opt and /mnt
    public async Task ABadPath_Is400InvalidBundle_NamingTheField(string path, string field)
    {
        var name = BundleFixture.NewName("path");
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "x" });
        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Bundles: [new BundleMount(name, Path: path)])));
        Assert.Equal(ErrorCodes.InvalidBundle, error.Code);
        Assert.Equal(400, error.Status);
        Assert.StartsWith(field, error.Message);
    }

    [Fact]
    public async Task BadNamesVersionsAndDuplicates_AreRefusedBeforeAnythingStarts()
    {
        var name = BundleFixture.NewName("bad");
        await fixture.PushFilesAsync(name, new Dictionary<string, string> { ["f"] = "x" });
        var sandboxesBefore = (await Client.ListSandboxesAsync()).Count;
        async Task<HutchApiException> Refused(params BundleMount[] bundles) =>
            await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Bundles: bundles)));

        Assert.Equal(ErrorCodes.InvalidBundle, (await Refused(new BundleMount("../etc"))).Code);
        Assert.Equal(ErrorCodes.InvalidBundle, (await Refused(new BundleMount(name, "0"))).Code);
        Assert.Equal(ErrorCodes.InvalidBundle, (await Refused(new BundleMount(name, "newest"))).Code);
        Assert.Equal(ErrorCodes.InvalidBundle, (await Refused(new BundleMount(name), new BundleMount(name, Path: "/opt/x"))).Code);
        Assert.StartsWith("bundles[1].path", (await Refused(new BundleMount(name), new BundleMount(BundleFixture.NewName("b"), Path: $"/bundles/{name}"))).Message);
        Assert.Equal(ErrorCodes.BundleNotFound, (await Refused(new BundleMount(name, "7"))).Code);
        Assert.Equal(ErrorCodes.BundleNotFound, (await Refused(new BundleMount(BundleFixture.NewName("missing")))).Code);
        Assert.Equal(sandboxesBefore, (await Client.ListSandboxesAsync()).Count);
        var badPush = await Assert.ThrowsAsync<HutchApiException>(() => Client.PushBundleAsync(new MemoryStream(new LayerTar().File("f", "x").Build()), "Bad Name"));
        Assert.Equal(ErrorCodes.InvalidBundle, badPush.Code);
    }

    public static TheoryData<string, string> HostileTars => new()
    {
        { "climbs out", "dotdot" },
        { "through a link", "through-link" },
        { "whiteout name", "whiteout" },
        { "hard link outside", "hardlink-outside" },
        { "not a tar", "garbage" },
        { "too many entries", "entries" },
        { "too many bytes", "bytes" },
    };

    [Theory]
    [MemberData(nameof(HostileTars))]
    public async Task AHostileOrOversizedTar_IsRefused_AndLeavesNoVersionAndNoStagingBehind(string why, string kind)
    {
        var name = BundleFixture.NewName("hostile");
        var tar = kind switch
        {
            "dotdot" => new LayerTar().File("ok", "fine").File("a/../../escape", "out").Build(),
            "through-link" => new LayerTar().Symlink("evil", "/etc").File("evil/passwd", "x").Build(),
            "whiteout" => new LayerTar().File(".wh.secret", "").Build(),
            "hardlink-outside" => new LayerTar().HardLink("passwd", "/etc/passwd").Build(),
            "garbage" => System.Text.Encoding.ASCII.GetBytes(new string('x', 2000)),
            "entries" => Enumerable.Range(0, BundleFixture.MaxEntries + 1).Aggregate(new LayerTar(), (t, i) => t.File($"f{i}", "")).Build(),
            "bytes" => new LayerTar().File("big", new byte[BundleFixture.MaxBytes + 1]).Build(),
            _ => throw new ArgumentException(kind),
        };

        var error = await Assert.ThrowsAsync<HutchApiException>(() => Client.PushBundleAsync(new MemoryStream(tar), name));

        Assert.True(error.Code == (kind is "entries" or "bytes" ? ErrorCodes.BundleTooLarge : ErrorCodes.InvalidBundle), $"{why}: {error.Code} {error.Message}");
        Assert.Equal(kind is "entries" or "bytes" ? 413 : 400, error.Status);
        Assert.Equal(ErrorCodes.BundleNotFound, (await Assert.ThrowsAsync<HutchApiException>(() => Client.GetBundleAsync(name))).Code);
        Assert.False(Directory.Exists(Path.Join(fixture.Store, "trees", name)));
        Assert.Empty(Directory.GetDirectories(fixture.Store, ".tmp-*"));
    }

    [Fact]
    public async Task WhatATarMayHoldButABundleMustNot_IsNeutralised_DevicesFifosAndSetuidBitsGo_AbsoluteNamesStayInside()
    {
        var name = BundleFixture.NewName("neutral");
        var tar = new LayerTar()
            .File("/etc/abs", "absolute")
            .File("suid", "#!/bin/sh\n", mode: 0xded) // 06755
            .Special(TarEntryType.CharacterDevice, "null")
            .Special(TarEntryType.Fifo, "pipe")
            .Symlink("link", "/etc/passwd")
            .Build();

        var pushed = await Client.PushBundleAsync(new MemoryStream(tar), name);
        var tree = Path.Join(fixture.Store, "trees", name, "1");

        Assert.Equal(2, pushed.Files);
        Assert.Equal(2, pushed.Warnings!.Length);
        Assert.Equal("absolute", await File.ReadAllTextAsync(Path.Join(tree, "etc", "abs")));
        Assert.Equal(0x16d, Status(Path.Join(tree, "suid")).Permissions);
        Assert.False(File.Exists(Path.Join(tree, "null")) || File.Exists(Path.Join(tree, "pipe")));
        Assert.Equal("/etc/passwd", new FileInfo(Path.Join(tree, "link")).LinkTarget); // a link is data, resolved inside a sandbox
    }

    [Fact]
    public async Task PushingADirectory_LeavesOutWhatTheExcludesMatch_AndFollowsLinksOnlyWhenAsked()
    {
        var name = BundleFixture.NewName("dir");
        var dir = TestPaths.NewTempDir("hutch-bundle-dir");
        var outside = TestPaths.NewTempDir("hutch-bundle-out");
        try
        {
            Directory.CreateDirectory(Path.Join(dir, ".git"));
            await File.WriteAllTextAsync(Path.Join(dir, ".git", "HEAD"), "ref");
            await File.WriteAllTextAsync(Path.Join(dir, "keep.py"), "print(1)");
            await File.WriteAllTextAsync(Path.Join(dir, "drop.pyc"), "bytecode");
            await File.WriteAllTextAsync(Path.Join(outside, "shared.txt"), "from outside");
            File.CreateSymbolicLink(Path.Join(dir, "shared.txt"), Path.Join(outside, "shared.txt"));

            await Client.PushBundleAsync(dir, name, new BundleDirectoryOptions(Excludes: [".git", "*.pyc"]));
            await Client.PushBundleAsync(dir, name, new BundleDirectoryOptions(Excludes: [".git", "*.pyc"], FollowSymlinks: true));
            File.CreateSymbolicLink(Path.Join(dir, "dangling"), "/nonexistent/x");
            var dangling = await Assert.ThrowsAsync<FileNotFoundException>(() => Client.PushBundleAsync(dir, name, new BundleDirectoryOptions(FollowSymlinks: true)));

            var v1 = Path.Join(fixture.Store, "trees", name, "1");
            var v2 = Path.Join(fixture.Store, "trees", name, "2");
            Assert.Equal(["keep.py", "shared.txt"], Directory.GetFileSystemEntries(v1).Select(Path.GetFileName).Order());
            Assert.NotNull(new FileInfo(Path.Join(v1, "shared.txt")).LinkTarget);
            Assert.Null(new FileInfo(Path.Join(v2, "shared.txt")).LinkTarget);
            Assert.Equal("from outside", await File.ReadAllTextAsync(Path.Join(v2, "shared.txt")));
            Assert.Contains("dangling", dangling.Message);
            Assert.Equal(2, (await Client.GetBundleAsync(name)).Latest); // the failed push made no version
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    private int BlobCount() => Directory.GetFiles(Path.Join(fixture.Store, "blobs")).Length;

    private static ulong Inode(string path) => Status(path).Inode;

    private static Hutch.Linux.EntryStatus Status(string path)
    {
        using var parent = Hutch.Linux.Beneath.OpenRoot(Path.GetDirectoryName(path)!);
        return Hutch.Linux.At.Stat(parent, Path.GetFileName(path));
    }
}
