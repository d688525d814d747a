using System.Formats.Tar;
using System.Text;
using Hutch.Linux;
using Hutch.Runtime.Templates;

namespace Hutch.Tests.Templates;

/// <summary>Storing layers: their digest, their overlayfs form, owners and modes, and what the store keeps and deletes.</summary>
[Trait("Category", "Unit")]
public sealed class LayerStoreTests : IDisposable
{
    private const int S_IFCHR = 0x2000;
    private readonly LayerSandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static LayerTar App() => new LayerTar()
        .Directory("app/")
        .File("app/hello.txt", "hello\n")
        .File("app/run.sh", "#!/bin/sh\necho hi\n", mode: LayerTar.Mode755)
        .Directory("app/sub/", mode: 0x1e8 /* 0750 */)
        .File("app/sub/two.txt", "two")
        .Symlink("app/link", "hello.txt")
        .Symlink("app/abs", "/etc/passwd")
        .Symlink("app/up", "../../../..");

    [Fact]
    public async Task Add_OfAPlainTar_StoresItUnderTheSha256OfItsBytes_WithItsFilesModesAndLinks()
    {
        var tar = App().Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal(LayerTar.DiffId(tar), info.Digest);
        Assert.Equal(6 + 18 + 3, info.Bytes);
        Assert.Equal(8, info.Files);
        Assert.Empty(info.Warnings);
        Assert.True(_box.Store.Has(info.Digest));
        Assert.Equal([info.Digest], _box.Store.List());
        Assert.Equal(Path.Join(_box.Store.Root, "sha256-" + info.Digest[7..]), _box.Store.PathOf(info.Digest));
        Assert.Equal("hello\n", File.ReadAllText(_box.In(info.Digest, "app/hello.txt")));
        Assert.Equal(LayerTar.Mode755, LayerSandbox.Stat(_box.In(info.Digest, "app/run.sh")).Permissions);
        Assert.Equal(LayerTar.Mode644, LayerSandbox.Stat(_box.In(info.Digest, "app/hello.txt")).Permissions);
        Assert.Equal(0x1e8, LayerSandbox.Stat(_box.In(info.Digest, "app/sub")).Permissions);
        // Symlinks are kept as they are, absolute and climbing ones too: they resolve inside the sandbox's root.
        Assert.Equal("hello.txt", new FileInfo(_box.In(info.Digest, "app/link")).LinkTarget);
        Assert.Equal("/etc/passwd", new FileInfo(_box.In(info.Digest, "app/abs")).LinkTarget);
        Assert.Equal("../../../..", new FileInfo(_box.In(info.Digest, "app/up")).LinkTarget);
        Assert.Equal(LayerTar.Mtime.ToUnixTimeSeconds(), LayerSandbox.Stat(_box.In(info.Digest, "app/hello.txt")).MtimeNs / 1_000_000_000);
        Assert.Equal(LayerTar.Mtime.ToUnixTimeSeconds(), LayerSandbox.Stat(_box.In(info.Digest, "app")).MtimeNs / 1_000_000_000);
        // The layer's root was not listed: 0755 root:root.
        var root = LayerSandbox.Stat(_box.Store.PathOf(info.Digest));
        Assert.Equal((0x1ed, 0u, 0u), (root.Permissions, root.Uid, root.Gid));
    }

    [Fact]
    public async Task Add_OfAGzipTar_HasTheDigestOfItsUncompressedTar()
    {
        var tar = App().Build();

        var info = await _box.AddAsync(LayerTar.Gzip(tar));

        Assert.Equal(LayerTar.DiffId(tar), info.Digest);
        Assert.Equal("two", File.ReadAllText(_box.In(info.Digest, "app/sub/two.txt")));
    }

    [Fact]
    public async Task Add_CountsBytesAfterTheTarsEnd_AsTheDiffIdDoes()
    {
        // Some writers pad past the two zero blocks that end a tar; the diff_id is over every byte.
        var tar = App().Build().Concat(new byte[10240]).ToArray();

        var info = await _box.AddAsync(tar);

        Assert.Equal(LayerTar.DiffId(tar), info.Digest);
    }

    [Fact]
    public async Task Add_OfALayerStoredAlready_KeepsTheStoredOne_AndLeavesNoTemporary()
    {
        var tar = App().Build();
        var first = await _box.AddAsync(tar);
        var inode = LayerSandbox.Stat(_box.In(first.Digest, "app/hello.txt")).Inode;

        var second = await _box.AddAsync(LayerTar.Gzip(tar));

        Assert.Equal(first, second with { Warnings = first.Warnings });
        Assert.Equal(inode, LayerSandbox.Stat(_box.In(first.Digest, "app/hello.txt")).Inode);
        Assert.Equal(["sha256-" + first.Digest[7..]], Directory.GetFileSystemEntries(_box.Store.Root).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Add_OfTheSameLayerAtOnce_StoresItOnce()
    {
        var tar = App().Build();

        var infos = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => _box.AddAsync(tar))));

        Assert.All(infos, info => Assert.Equal(LayerTar.DiffId(tar), info.Digest));
        Assert.Single(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task Add_WithAnExpectedDigest_RefusesAnotherLayer_AndStoresNothing()
    {
        var tar = App().Build();
        var other = "sha256:" + new string('0', 64);

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddAsync(new MemoryStream(tar), LayerLimits.Default, other));

        Assert.Equal(TemplateErrorCodes.LayerDigestMismatch, e.Code);
        Assert.Contains(LayerTar.DiffId(tar), e.Message);
        _box.AssertNothingWritten();
    }

    [Fact]
    public async Task Whiteouts_BecomeCharacterDevices00_AndOpaqueMarkers_TheTrustedOpaqueXattr()
    {
        var tar = new LayerTar()
            .Directory("etc/")
            .Whiteout("etc", "motd")
            .Directory("var/cache/")
            .Opaque("var/cache")
            .File("var/cache/fresh", "new")
            .Opaque("")
            .Build();

        var info = await _box.AddAsync(tar);

        var whiteout = LayerSandbox.Stat(_box.In(info.Digest, "etc/motd"));
        Assert.Equal(S_IFCHR, whiteout.Type);
        Assert.Equal((0u, 0u), whiteout.SpecialDevice);
        Assert.Null(LayerSandbox.TryStat(_box.In(info.Digest, "etc/.wh.motd")));
        Assert.Equal(new Dictionary<string, string> { ["trusted.overlay.opaque"] = "y" }, LayerSandbox.Xattrs(_box.In(info.Digest, "var/cache")));
        Assert.Null(LayerSandbox.TryStat(_box.In(info.Digest, "var/cache/.wh..wh..opq")));
        Assert.Equal("new", File.ReadAllText(_box.In(info.Digest, "var/cache/fresh")));
        Assert.Equal("y", LayerSandbox.Xattrs(_box.Store.PathOf(info.Digest))["trusted.overlay.opaque"]);
        Assert.Empty(LayerSandbox.Xattrs(_box.In(info.Digest, "etc")));
    }

    [Fact]
    public async Task AWhiteout_OfANameThisLayerHasItself_LeavesTheEntry()
    {
        // image-spec layer.md: a whiteout hides only the layers below; an entry of its own layer stays,
        // whether the whiteout comes before or after it.
        var tar = new LayerTar()
            .File("a", "kept")
            .Whiteout("", "a")
            .Whiteout("", "b")
            .File("b", "kept too")
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal("kept", File.ReadAllText(_box.In(info.Digest, "a")));
        Assert.Equal("kept too", File.ReadAllText(_box.In(info.Digest, "b")));
    }

    [Fact]
    public async Task AnOverlay_OfTwoImportedLayers_HidesWhitedOutFiles_AndTheLowerEntriesOfAnOpaqueDirectory()
    {
        var lower = await _box.AddAsync(new LayerTar()
            .Directory("etc/").File("etc/motd", "lower motd").File("etc/hostname", "lower host")
            .Directory("cache/").File("cache/old-1", "1").File("cache/old-2", "2")
            .Directory("gone/").File("gone/inside", "x")
            .Build());
        var upper = await _box.AddAsync(new LayerTar()
            .Directory("etc/").Whiteout("etc", "motd")
            .Directory("cache/").Opaque("cache").File("cache/new", "fresh")
            .Whiteout("", "gone")
            .Build());
        var merged = Path.Join(_box.Dir, "merged");
        Directory.CreateDirectory(merged);

        // Two lower directories and no upper: a read-only overlay, topmost first.
        LayerSandbox.Run("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={_box.Store.PathOf(upper.Digest)}:{_box.Store.PathOf(lower.Digest)}", merged);
        try
        {
            Assert.False(File.Exists(Path.Join(merged, "etc/motd")));
            Assert.Equal("lower host", File.ReadAllText(Path.Join(merged, "etc/hostname")));
            Assert.Equal(["new"], Directory.GetFileSystemEntries(Path.Join(merged, "cache")).Select(Path.GetFileName));
            Assert.False(Directory.Exists(Path.Join(merged, "gone")));
            Assert.Equal(["cache", "etc"], Directory.GetFileSystemEntries(merged).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            LayerSandbox.Run("umount", merged);
        }
    }

    [Fact]
    public async Task Owners_FromTheTar_AreKeptInTheSandboxRange_AndBecomeNobodyBeyondIt()
    {
        var tar = new LayerTar()
            .Directory("home/", uid: 0, gid: 0)
            .Directory("home/user/", uid: 1000, gid: 1000)
            .File("home/user/own", "x", uid: 1000, gid: 100)
            .File("max", "x", uid: 65535, gid: 65535)
            .File("big", "x", uid: 100_000, gid: 2_000_000)
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal((1000u, 1000u), Owner(_box.In(info.Digest, "home/user")));
        Assert.Equal((1000u, 100u), Owner(_box.In(info.Digest, "home/user/own")));
        Assert.Equal((65535u, 65535u), Owner(_box.In(info.Digest, "max")));
        Assert.Equal((65534u, 65534u), Owner(_box.In(info.Digest, "big")));
    }

    [Fact]
    public async Task SetuidAndSetgidBits_AreCleared_AndTheStickyBitKept()
    {
        var tar = new LayerTar()
            .File("usr/bin/su", "x", mode: 0xded /* 06755 */)
            .Directory("shared/", mode: 0x5ff /* 02777 */)
            .Directory("tmp/", mode: 0x3ff /* 01777 */)
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal(0x1ed, LayerSandbox.Stat(_box.In(info.Digest, "usr/bin/su")).Permissions);
        Assert.Equal(0x1ff, LayerSandbox.Stat(_box.In(info.Digest, "shared")).Permissions);
        Assert.Equal(0x3ff, LayerSandbox.Stat(_box.In(info.Digest, "tmp")).Permissions);
    }

    [Fact]
    public async Task ALaterEntry_OfTheSameName_Wins_AsInTar()
    {
        var tar = new LayerTar()
            .File("f", "first")
            .File("f", "second")
            .Directory("d/").File("d/inside", "x")
            .File("d", "now a file")
            .File("e", "a file first")
            .Directory("e/").File("e/inside", "y")
            .Symlink("s", "f")
            .File("s", "not a link any more")
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal("second", File.ReadAllText(_box.In(info.Digest, "f")));
        Assert.Equal("now a file", File.ReadAllText(_box.In(info.Digest, "d")));
        Assert.Equal("y", File.ReadAllText(_box.In(info.Digest, "e/inside")));
        Assert.Equal(EntryKind.File, LayerSandbox.Stat(_box.In(info.Digest, "s")).Kind);
        Assert.Equal("not a link any more", File.ReadAllText(_box.In(info.Digest, "s")));
    }

    [Fact]
    public async Task AHardLink_ToAnEarlierFile_SharesItsInode()
    {
        var tar = new LayerTar().File("bin/a", "binary").HardLink("bin/b", "bin/a").HardLink("/bin/c", "/bin/a").Build();

        var info = await _box.AddAsync(tar);

        var a = LayerSandbox.Stat(_box.In(info.Digest, "bin/a"));
        Assert.Equal(3u, a.Links);
        Assert.Equal(a.Inode, LayerSandbox.Stat(_box.In(info.Digest, "bin/b")).Inode);
        Assert.Equal(a.Inode, LayerSandbox.Stat(_box.In(info.Digest, "bin/c")).Inode);
    }

    [Fact]
    public async Task DeviceNodes_AreSkippedWithAWarning_AndFifosKept()
    {
        var tar = new LayerTar()
            .Special(TarEntryType.CharacterDevice, "dev/null")
            .Special(TarEntryType.BlockDevice, "dev/sda")
            .Special(TarEntryType.Fifo, "run/pipe", mode: 0x1b0 /* 0660 */)
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Null(LayerSandbox.TryStat(_box.In(info.Digest, "dev")));
        Assert.Equal(2, info.Warnings.Count);
        Assert.Contains("dev/null", info.Warnings[0]);
        var fifo = LayerSandbox.Stat(_box.In(info.Digest, "run/pipe"));
        Assert.Equal((0x1000, 0x1b0), (fifo.Type, fifo.Permissions));
    }

    [Fact]
    public async Task Delete_RemovesALayer_AndListForgetsIt()
    {
        var a = await _box.AddAsync(App().Build());
        var b = await _box.AddAsync(new LayerTar().File("x", "x").Build());

        Assert.True(_box.Store.Delete(a.Digest));
        Assert.False(_box.Store.Delete(a.Digest));

        Assert.False(_box.Store.Has(a.Digest));
        Assert.Equal([b.Digest], _box.Store.List());
        Assert.Single(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public void RemoveLeftovers_DeletesWhatAnInterruptedAddLeft_AndNoLayer()
    {
        Directory.CreateDirectory(Path.Join(_box.Store.Root, ".tmp-0123456789abcdef", "usr"));
        Directory.CreateDirectory(Path.Join(_box.Store.Root, ".spool-0123456789abcdef"));
        var layer = Path.Join(_box.Store.Root, "sha256-" + new string('a', 64));
        Directory.CreateDirectory(layer);

        Assert.Equal(2, _box.Store.RemoveLeftovers());

        Assert.Equal([layer], Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Theory]
    [InlineData("sha256:../../etc")]
    [InlineData("sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha512:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("")]
    public void PathOf_RefusesWhatIsNotASha256Digest(string digest) =>
        Assert.Throws<ArgumentException>(() => _box.Store.PathOf(digest));

    [Fact]
    public async Task Add_OfAZstdLayer_IsRefusedAsUnsupported_WithWhatToDoInstead()
    {
        byte[] zstd = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x61, 0x00];

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(zstd));

        Assert.Equal(TemplateErrorCodes.LayerUnsupported, e.Code);
        Assert.Contains("zstd", e.Message);
        Assert.Contains("gzip", e.Message);
        _box.AssertNothingWritten();
    }

    [Theory]
    [InlineData("not a tar")]
    [InlineData("truncated")]
    [InlineData("broken gzip")]
    public async Task Add_OfABrokenLayer_IsRefusedAsInvalid_AndLeavesNothing(string kind)
    {
        var tar = App().Build();
        byte[] bytes = kind switch
        {
            "not a tar" => Encoding.UTF8.GetBytes(new string('x', 2048)),
            "truncated" => tar[..1800],
            _ => LayerTar.Gzip(tar)[..40],
        };

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(bytes));

        Assert.Equal(TemplateErrorCodes.LayerInvalid, e.Code);
        _box.AssertNothingWritten();
    }

    private static (uint, uint) Owner(string path)
    {
        var status = LayerSandbox.Stat(path);
        return (status.Uid, status.Gid);
    }
}
