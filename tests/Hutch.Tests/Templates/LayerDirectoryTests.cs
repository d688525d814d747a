using Hutch.Linux;
using Hutch.Runtime.Templates;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Templates;

/// <summary>
/// A layer from a directory in overlayfs form (a build step's upper directory): written as a canonical
/// tar and stored through the same rules as an image's layer.
/// </summary>
[Trait("Category", "Unit")]
public sealed class LayerDirectoryTests : IDisposable
{
    private const int HostIdBase = 1_000_000;
    private readonly LayerSandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static readonly byte[] Base = new LayerTar()
        .Directory("etc/").File("etc/motd", "welcome").File("etc/hostname", "base")
        .Directory("var/lib/").File("var/lib/old-1", "1").File("var/lib/old-2", "2")
        .Build();

    /// <summary>Mounts an overlay over <paramref name="lower"/> as a build step would, runs <paramref name="script"/> in it, unmounts; returns the upper directory.</summary>
    private string RunStep(string lower, string script)
    {
        var upper = Path.Join(_box.Dir, "upper");
        var work = Path.Join(_box.Dir, "work");
        var merged = Path.Join(_box.Dir, "merged");
        Directory.CreateDirectory(upper);
        Directory.CreateDirectory(work);
        Directory.CreateDirectory(merged);
        LayerSandbox.Run("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={lower},upperdir={upper},workdir={work},redirect_dir=off,metacopy=off", merged);
        try
        {
            LayerSandbox.Run("sh", "-euc", script, "step", merged);
        }
        finally
        {
            LayerSandbox.Run("umount", merged);
        }
        return upper;
    }

    [Fact]
    public async Task AnUpperDirectory_BecomesALayer_ThatGivesTheSameTreeUnderAnOverlay()
    {
        var lower = await _box.AddAsync(Base);
        var upper = RunStep(_box.Store.PathOf(lower.Digest), $"""
            cd "$1"
            rm etc/motd
            rm -rf var/lib && mkdir var/lib && echo new > var/lib/new
            mkdir -p app/bin && echo tool > app/bin/tool && chmod 4755 app/bin/tool
            ln app/bin/tool app/bin/tool-link
            ln -s ../etc/hostname app/host
            mkfifo app/pipe
            echo mine > app/mine && chown {HostIdBase + 1000}:{HostIdBase + 1000} app/mine
            echo far > app/far && chown 5:5 app/far
            """);

        var info = await _box.Store.AddDirectoryAsync(upper, LayerLimits.Default, HostIdBase);

        var layer = _box.Store.PathOf(info.Digest);
        var whiteout = LayerSandbox.Stat(Path.Join(layer, "etc/motd"));
        Assert.Equal((0x2000, (0u, 0u)), (whiteout.Type, whiteout.SpecialDevice));
        Assert.Equal("y", LayerSandbox.Xattrs(Path.Join(layer, "var/lib"))["trusted.overlay.opaque"]);
        Assert.Equal(0x1ed, LayerSandbox.Stat(Path.Join(layer, "app/bin/tool")).Permissions);      // setuid cleared
        Assert.Equal(LayerSandbox.Stat(Path.Join(layer, "app/bin/tool")).Inode, LayerSandbox.Stat(Path.Join(layer, "app/bin/tool-link")).Inode);
        Assert.Equal("../etc/hostname", new FileInfo(Path.Join(layer, "app/host")).LinkTarget);
        Assert.Equal(0x1000, LayerSandbox.Stat(Path.Join(layer, "app/pipe")).Type);
        Assert.Equal((1000u, 1000u), (LayerSandbox.Stat(Path.Join(layer, "app/mine")).Uid, LayerSandbox.Stat(Path.Join(layer, "app/mine")).Gid));
        Assert.Equal(65534u, LayerSandbox.Stat(Path.Join(layer, "app/far")).Uid);     // not one of the sandbox's ids
        Assert.Empty(LayerSandbox.Xattrs(Path.Join(layer, "app")));                    // no trusted.overlay.origin or impure carried over

        var merged = Path.Join(_box.Dir, "check");
        Directory.CreateDirectory(merged);
        LayerSandbox.Run("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={layer}:{_box.Store.PathOf(lower.Digest)}", merged);
        try
        {
            Assert.False(File.Exists(Path.Join(merged, "etc/motd")));
            Assert.Equal("base", File.ReadAllText(Path.Join(merged, "etc/hostname")));
            Assert.Equal(["new"], Directory.GetFileSystemEntries(Path.Join(merged, "var/lib")).Select(Path.GetFileName));
            Assert.Equal("base", File.ReadAllText(Path.Join(merged, "app/host")));
        }
        finally
        {
            LayerSandbox.Run("umount", merged);
        }
    }

    [Fact]
    public async Task TheSameTree_GivesTheSameDigest()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(Path.Join(source, "b/c"));
        File.WriteAllText(Path.Join(source, "b/c/file"), "content");
        File.WriteAllText(Path.Join(source, "a"), "first");
        File.CreateSymbolicLink(Path.Join(source, "z"), "b/c/file");

        var first = await _box.Store.AddDirectoryAsync(source, LayerLimits.Default);
        var second = await _box.Store.AddDirectoryAsync(source, LayerLimits.Default);

        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(5, first.Files);    // a, b, b/c, b/c/file, z
        Assert.Equal("content", File.ReadAllText(_box.In(first.Digest, "b/c/file")));
        Assert.Single(_box.Store.List());
    }

    [Fact]
    public async Task ASymlinkInTheTree_IsKeptAsALink_AndNeverFollowed()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(source);
        File.CreateSymbolicLink(Path.Join(source, "outside"), _box.Outside);

        var info = await _box.Store.AddDirectoryAsync(source, LayerLimits.Default);

        Assert.Equal(_box.Outside, new FileInfo(_box.In(info.Digest, "outside")).LinkTarget);
        Assert.Equal(1, info.Files);
    }

    [Fact]
    public async Task DeviceNodesInTheTree_AreLeftOut_WithAWarning()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(source);
        LayerSandbox.Run("mknod", Path.Join(source, "mem"), "c", "1", "1");
        File.WriteAllText(Path.Join(source, "kept"), "x");

        var info = await _box.Store.AddDirectoryAsync(source, LayerLimits.Default);

        Assert.Null(LayerSandbox.TryStat(_box.In(info.Digest, "mem")));
        Assert.Contains(info.Warnings, warning => warning.Contains("'mem'"));
        Assert.Equal("x", File.ReadAllText(_box.In(info.Digest, "kept")));
    }

    [Fact]
    public async Task AFileNamedLikeAWhiteout_IsRefused_AndNothingStored()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(Path.Join(source, "etc"));
        File.WriteAllText(Path.Join(source, "etc/.wh.passwd"), "");

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddDirectoryAsync(source, LayerLimits.Default));

        Assert.Equal(TemplateErrorCodes.LayerInvalidPath, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task ARedirectedDirectory_IsRefused_NamingTheMountOptionThatAvoidsIt()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(Path.Join(source, "moved"));
        using (var parent = Beneath.OpenRoot(source))
        using (SafeFileHandle dir = Beneath.Open(parent, "moved", Beneath.O_RDONLY | Beneath.O_DIRECTORY))
        {
            At.SetXattr(dir, "trusted.overlay.redirect", "/elsewhere"u8);
        }

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddDirectoryAsync(source, LayerLimits.Default));

        Assert.Equal(TemplateErrorCodes.LayerUnsupported, e.Code);
        Assert.Contains("redirect_dir=off", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task ATreePastTheLayerLimits_IsRefusedAsTooLarge()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(source);
        for (var i = 0; i < 20; i++)
        {
            File.WriteAllText(Path.Join(source, $"f{i}"), "x");
        }

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddDirectoryAsync(source, new LayerLimits(MaxEntries: 10)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task ATreePastTheByteLimit_StopsTheWalk_AndIsRefusedAsTooLarge()
    {
        var source = Path.Join(_box.Dir, "tree");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Join(source, "big"), new byte[32 << 20]);
        File.WriteAllText(Path.Join(source, "small"), "x");

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddDirectoryAsync(source, new LayerLimits(MaxBytes: 1 << 20)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }
}
