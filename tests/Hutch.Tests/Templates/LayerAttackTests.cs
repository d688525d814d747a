using System.Formats.Tar;
using System.IO.Compression;
using Hutch.Linux;
using Hutch.Runtime.Templates;

namespace Hutch.Tests.Templates;

/// <summary>
/// Image layers are hostile input: each attack is a layer built entry by entry, refused with its own
/// code (and then nothing of it is left: no layer, no temporary, the canary beside the store as it
/// was) or neutralised (and then the layer holds the harmless form only).
/// </summary>
[Trait("Category", "Unit")]
public sealed class LayerAttackTests : IDisposable
{
    private readonly LayerSandbox _box = new();

    public void Dispose() => _box.Dispose();

    public static TheoryData<string, string> Refusals => new()
    {
        { "dot-dot", TemplateErrorCodes.LayerInvalidPath },
        { "dot-dot after a directory", TemplateErrorCodes.LayerInvalidPath },
        { "dot-dot to the canary", TemplateErrorCodes.LayerInvalidPath },
        { "a whiteout climbing out", TemplateErrorCodes.LayerInvalidPath },
        { "a whiteout of '.'", TemplateErrorCodes.LayerInvalidPath },
        { "a whiteout of '..'", TemplateErrorCodes.LayerInvalidPath },
        { "a whiteout of nothing", TemplateErrorCodes.LayerInvalidPath },
        { "an entry inside a whiteout name", TemplateErrorCodes.LayerInvalidPath },
        { "a file, then a file under it", TemplateErrorCodes.LayerInvalidPath },
        { "a file named as the root", TemplateErrorCodes.LayerInvalidPath },
        { "an absolute symlink to the canary, then a file through it", TemplateErrorCodes.LayerThroughLink },
        { "a climbing symlink, then a file through it", TemplateErrorCodes.LayerThroughLink },
        { "a symlink inside, then a file through it", TemplateErrorCodes.LayerThroughLink },
        { "a symlink inside, then a directory through it", TemplateErrorCodes.LayerThroughLink },
        { "a symlink inside, then a whiteout through it", TemplateErrorCodes.LayerThroughLink },
        { "a symlink inside, then an opaque marker through it", TemplateErrorCodes.LayerThroughLink },
        { "a directory replaced by a symlink, then a file through it", TemplateErrorCodes.LayerThroughLink },
        { "a hard link climbing out", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to /etc/passwd", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to a directory", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to a later entry", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to a symlink", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link through a symlink", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to itself", TemplateErrorCodes.LayerLinkOutside },
        { "a hard link to a whiteout", TemplateErrorCodes.LayerLinkOutside },
        { "a sparse file", TemplateErrorCodes.LayerUnsupported },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ALayer_WithAnAttack_IsRefusedWithItsCode_AndLeavesNothing(string attack, string code)
    {
        var tar = Attack(attack).Build();

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(tar));

        Assert.Equal(code, e.Code);
        _box.AssertNothingWritten();
    }

    [Theory]
    [InlineData("an absolute symlink to the canary, then a file through it")]
    [InlineData("a hard link to /etc/passwd")]
    [InlineData("dot-dot to the canary")]
    public async Task AGzippedLayer_WithAnAttack_IsRefusedTheSameWay(string attack)
    {
        var tar = LayerTar.Gzip(Attack(attack).Build());

        await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(tar));

        _box.AssertNothingWritten();
    }

    private LayerTar Attack(string attack)
    {
        // A harmless entry first: a refusal must take back what was already made.
        var tar = new LayerTar().Directory("usr/").File("usr/harmless", "x");
        var canary = Path.Join(_box.Outside, "canary.txt");
        return attack switch
        {
            "dot-dot" => tar.File("../pwned", "x"),
            "dot-dot after a directory" => tar.File("usr/../../pwned", "x"),
            "dot-dot to the canary" => tar.File("../outside/canary.txt", "pwned"),
            "a whiteout climbing out" => tar.Whiteout("..", "outside"),
            "a whiteout of '.'" => tar.File("usr/.wh..", ""),
            "a whiteout of '..'" => tar.File("usr/.wh...", ""),
            "a whiteout of nothing" => tar.File("usr/.wh.", ""),
            "an entry inside a whiteout name" => tar.File("usr/.wh.lib/x", "x"),
            "a file, then a file under it" => tar.File("f", "x").File("f/g", "x"),
            "a file named as the root" => tar.File("./", "x"),
            "an absolute symlink to the canary, then a file through it" => tar.Symlink("evil", _box.Outside).File("evil/canary.txt", "pwned"),
            "a climbing symlink, then a file through it" => tar.Symlink("evil", "../../../../../..").File("evil/tmp/pwned", "x"),
            "a symlink inside, then a file through it" => tar.Symlink("lib", "usr").File("lib/pwned", "x"),
            "a symlink inside, then a directory through it" => tar.Symlink("lib", "usr").Directory("lib/d/"),
            "a symlink inside, then a whiteout through it" => tar.Symlink("lib", "usr").Whiteout("lib", "harmless"),
            "a symlink inside, then an opaque marker through it" => tar.Symlink("lib", "usr").Opaque("lib"),
            "a directory replaced by a symlink, then a file through it" => tar.Directory("d/").Symlink("d", _box.Outside).File("d/new", "x"),
            "a hard link climbing out" => tar.HardLink("h", "../outside/canary.txt"),
            "a hard link to /etc/passwd" => tar.HardLink("h", "/etc/passwd"),
            "a hard link to a directory" => tar.HardLink("h", "usr"),
            "a hard link to a later entry" => tar.HardLink("h", "later").File("later", "x"),
            "a hard link to a symlink" => tar.Symlink("s", canary).HardLink("h", "s"),
            "a hard link through a symlink" => tar.Symlink("s", _box.Outside).HardLink("h", "s/canary.txt"),
            "a hard link to itself" => tar.HardLink("usr/harmless", "usr/harmless"),
            "a hard link to a whiteout" => tar.Whiteout("usr", "gone").HardLink("h", "usr/gone"),
            "a sparse file" => tar.Raw('S', "sparse", new byte[600]),
            _ => throw new ArgumentException(attack),
        };
    }

    [Fact]
    public async Task AbsoluteNames_AreReadAsRelativeToTheLayer()
    {
        var tar = new LayerTar().Directory("/etc/").File("/etc/hutch-layer-test", "inside").File("//usr///./bin/../lib/x", "x").Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal("inside", File.ReadAllText(_box.In(info.Digest, "etc/hutch-layer-test")));
        Assert.Equal("x", File.ReadAllText(_box.In(info.Digest, "usr/lib/x")));
        Assert.False(File.Exists("/etc/hutch-layer-test"));
    }

    [Fact]
    public async Task AFile_ReplacingASymlinkToTheCanary_ReplacesTheLink_NotTheCanary()
    {
        var tar = new LayerTar().Symlink("c", Path.Join(_box.Outside, "canary.txt")).File("c", "pwned").Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal(EntryKind.File, LayerSandbox.Stat(_box.In(info.Digest, "c")).Kind);
        Assert.Equal("untouched", File.ReadAllText(Path.Join(_box.Outside, "canary.txt")));
    }

    [Fact]
    public async Task AFile_ReplacingAHardLink_DoesNotWriteThroughItIntoTheFileItShared()
    {
        var tar = new LayerTar().File("a", "original").HardLink("b", "a").File("b", "replaced").Build();

        var info = await _box.AddAsync(tar);

        Assert.Equal("original", File.ReadAllText(_box.In(info.Digest, "a")));
        Assert.Equal("replaced", File.ReadAllText(_box.In(info.Digest, "b")));
        Assert.Equal(1u, LayerSandbox.Stat(_box.In(info.Digest, "a")).Links);
    }

    [Fact]
    public async Task ExtendedAttributes_FromTheArchive_AreNeverWritten_NotEvenFileCapabilitiesOrOverlayMarkers()
    {
        // A pax record per xattr, as GNU tar --xattrs and Docker write them.
        var capability = Convert.ToBase64String([0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var tar = new LayerTar()
            .File("usr/bin/ping", "x", mode: LayerTar.Mode755, pax: new Dictionary<string, string>
            {
                ["SCHILY.xattr.security.capability"] = capability,
                ["SCHILY.xattr.user.note"] = "hello",
                ["LIBARCHIVE.xattr.trusted.overlay.redirect"] = "L2V0Yw",
            })
            .Directory("etc/", pax: new Dictionary<string, string>
            {
                ["SCHILY.xattr.trusted.overlay.opaque"] = "y",
                ["SCHILY.xattr.trusted.overlay.redirect"] = "/root",
            })
            .Build();

        var info = await _box.AddAsync(tar);

        Assert.Empty(LayerSandbox.Xattrs(_box.In(info.Digest, "usr/bin/ping")));
        Assert.Empty(LayerSandbox.Xattrs(_box.In(info.Digest, "etc")));
    }

    [Fact]
    public async Task ALayer_PastItsByteLimit_IsRefusedAsTooLarge()
    {
        var tar = new LayerTar().File("big", new byte[300_000]).Build();

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(tar, new LayerLimits(MaxBytes: 200_000)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        Assert.Contains("200000", e.Message);
        _box.AssertNothingWritten();
    }

    [Fact]
    public async Task AGzipBomb_IsStoppedAtTheLimitOfItsUncompressedBytes()
    {
        // 256 MiB of zeros in one file, about 250 KiB gzipped: the limit counts what comes out of gunzip.
        var bomb = new MemoryStream();
        using (var gzip = new GZipStream(bomb, CompressionLevel.Optimal, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "zeros") { DataStream = new ZeroStream(256L << 20) });
        }
        Assert.True(bomb.Length < 1 << 20);

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(bomb.ToArray(), new LayerLimits(MaxBytes: 8 << 20)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        _box.AssertNothingWritten();
    }

    [Fact]
    public async Task AnEndlessLayer_IsStoppedAtTheLimit()
    {
        // A tar that never ends: zero blocks forever after its end marker.
        var endless = new ConcatStream(new LayerTar().File("a", "x").Build(), new ZeroStream(long.MaxValue));

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.Store.AddAsync(endless, new LayerLimits(MaxBytes: 4 << 20)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        _box.AssertNothingWritten();
    }

    [Fact]
    public async Task ALayer_PastItsEntryLimit_IsRefusedAsTooLarge()
    {
        var tar = new LayerTar();
        for (var i = 0; i < 101; i++)
        {
            tar.File($"f{i}", "");
        }

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(tar.Build(), new LayerLimits(MaxEntries: 100)));

        Assert.Equal(TemplateErrorCodes.LayerTooLarge, e.Code);
        Assert.Contains("100 entries", e.Message);
        _box.AssertNothingWritten();
    }

    [Fact]
    public async Task ANamePastThePathLimit_IsRefused()
    {
        var deep = string.Join('/', Enumerable.Repeat("directory", 40)) + "/file";
        var tar = new LayerTar().File(deep, "x").Build();

        var e = await Assert.ThrowsAsync<TemplateException>(() => _box.AddAsync(tar, new LayerLimits(MaxPathLength: 256)));

        Assert.Equal(TemplateErrorCodes.LayerInvalidPath, e.Code);
        _box.AssertNothingWritten();
    }

    /// <summary>A stream of <c>length</c> zero bytes, made as read.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => length != long.MaxValue;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class ConcatStream(byte[] head, Stream tail) : Stream
    {
        private int _offset;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_offset < head.Length)
            {
                var n = Math.Min(count, head.Length - _offset);
                Array.Copy(head, _offset, buffer, offset, n);
                _offset += n;
                return n;
            }
            return tail.Read(buffer, offset, count);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
