using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.IO.Pipes;
using System.Text;
using Hutch.Files;
using Hutch.Files.Archives;
using Hutch.Linux;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Archives;

/// <summary>Importing good archives, and the clean failures of big, broken and conflicting ones.</summary>
public sealed class ImportTests : IDisposable
{
    private const int Mode0755 = 0x1ed;
    private readonly ArchiveSandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static readonly string LongPath = string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 8)) + "/file.txt";

    private static readonly byte[] Binary = RandomBytes(300_000);

    private static TarBuilder Project(TarBuilder tar) => tar
        .Global("comment", "git archive writes its commit id here")
        .Directory("./")
        .Directory("./src/")
        .File("./src/run.sh", "#!/bin/sh\necho hi\n", (UnixFileMode)Mode0755)
        .File("src/setuid", "x", (UnixFileMode)0x9ed)     // 04755
        .File("data/nested/deep/bin.dat", Binary)
        .File("empty", [])
        .File("café ☕/naïve.txt", "unicode")
        .File("line\nbreak.txt", "newline")
        .File(LongPath, "long")
        .Symlink("src/link-to-run", "run.sh")
        .Symlink("up", "src/../data")
        .Symlink("sibling", "../elsewhere")
        .Directory("ro/", (UnixFileMode)0x16d);            // 0555

    [Theory]
    [InlineData(TarEntryFormat.Pax, false)]
    [InlineData(TarEntryFormat.Pax, true)]
    [InlineData(TarEntryFormat.Gnu, true)]
    public async Task Import_OfAProject_WritesEveryMember_WithModesTimesAndTheSandboxOwner(TarEntryFormat format, bool gzip)
    {
        var tar = Project(new TarBuilder(format));
        var archive = gzip ? tar.BuildGzip() : tar.Build();

        var result = await _box.ImportAsync(archive);

        Assert.Equal(new ImportResult("dest", 12, 18 + 1 + Binary.Length + 7 + 7 + 4), result);
        Assert.Equal("#!/bin/sh\necho hi\n", Read("dest/src/run.sh"));
        Assert.Equal(Binary, File.ReadAllBytes(_box.PathOf("dest/data/nested/deep/bin.dat")));
        Assert.Empty(File.ReadAllBytes(_box.PathOf("dest/empty")));
        Assert.Equal("unicode", Read("dest/café ☕/naïve.txt"));
        Assert.Equal("newline", Read("dest/line\nbreak.txt"));
        Assert.Equal("long", Read("dest/" + LongPath));
        Assert.Equal("run.sh", new FileInfo(_box.PathOf("dest/src/link-to-run")).LinkTarget);
        Assert.Equal("../elsewhere", new FileInfo(_box.PathOf("dest/sibling")).LinkTarget);
        Assert.Equal(Mode0755, ArchiveSandbox.Stat(_box.PathOf("dest/src/run.sh")).Permissions);
        Assert.Equal(Mode0755, ArchiveSandbox.Stat(_box.PathOf("dest/src/setuid")).Permissions);   // setuid dropped
        Assert.Equal(0x1a4, ArchiveSandbox.Stat(_box.PathOf("dest/empty")).Permissions);
        Assert.Equal(0x16d, ArchiveSandbox.Stat(_box.PathOf("dest/ro")).Permissions);
        Assert.Equal(TarBuilder.Mtime.ToUnixTimeSeconds(), ArchiveSandbox.Stat(_box.PathOf("dest/src/run.sh")).MtimeNs / 1_000_000_000);
        Assert.Equal(TarBuilder.Mtime.ToUnixTimeSeconds(), ArchiveSandbox.Stat(_box.PathOf("dest/ro")).MtimeNs / 1_000_000_000);
        Assert.Equal(TarBuilder.Mtime.ToUnixTimeSeconds(), ArchiveSandbox.Stat(_box.PathOf("dest/up")).MtimeNs / 1_000_000_000);
        var tree = ArchiveSandbox.Tree(_box.PathOf("dest"));
        Assert.All(tree, line => Assert.Contains($" {ArchiveSandbox.Owner}:{ArchiveSandbox.Owner} ", line));
        Assert.Equal($"{ArchiveSandbox.Owner}:{ArchiveSandbox.Owner}", Owner(ArchiveSandbox.Stat(_box.PathOf("dest"))));
        Assert.DoesNotContain(tree, line => line.StartsWith(".hutch", StringComparison.Ordinal));
        Assert.Equal(["dest"], Directory.GetFileSystemEntries(_box.Root).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Import_IntoAnExistingDirectory_Merges_ReplacingFilesAndKeepingTheRest()
    {
        Directory.CreateDirectory(_box.PathOf("dest/src"));
        File.WriteAllText(_box.PathOf("dest/keep.txt"), "kept");
        File.WriteAllText(_box.PathOf("dest/src/old.py"), "kept too");
        File.WriteAllText(_box.PathOf("dest/src/main.py"), "old");
        File.SetUnixFileMode(_box.PathOf("dest/src"), (UnixFileMode)0x1c0);
        File.CreateSymbolicLink(_box.PathOf("dest/was-a-link"), "/etc/passwd");
        var archive = new TarBuilder().Directory("src/").File("src/main.py", "new").File("src/added.py", "added").File("was-a-link", "a file now").Build();

        var result = await _box.ImportAsync(archive);

        Assert.Equal(4, result.Entries);
        Assert.Equal("kept", Read("dest/keep.txt"));
        Assert.Equal("kept too", Read("dest/src/old.py"));
        Assert.Equal("new", Read("dest/src/main.py"));
        Assert.Equal("added", Read("dest/src/added.py"));
        Assert.Equal("a file now", Read("dest/was-a-link"));
        Assert.Equal(EntryKind.File, ArchiveSandbox.Stat(_box.PathOf("dest/was-a-link")).Kind);
        Assert.Equal(0x1c0, ArchiveSandbox.Stat(_box.PathOf("dest/src")).Permissions);   // an existing directory keeps its mode
    }

    [Theory]
    [InlineData("a file where a directory is", "src")]
    [InlineData("a directory where a file is", "keep.txt")]
    public async Task Import_ThatWouldReplaceAcrossKinds_IsRefusedBeforeAnythingMoves(string conflict, string member)
    {
        Directory.CreateDirectory(_box.PathOf("dest/src"));
        File.WriteAllText(_box.PathOf("dest/keep.txt"), "kept");
        var tar = new TarBuilder().File("aaa-first.txt", "would move first");
        var archive = (conflict == "a file where a directory is" ? tar.File("src", "file") : tar.File("keep.txt/inner", "x")).Build();
        var before = _box.Snapshot();

        var e = await Assert.ThrowsAsync<WorkspaceException>(() => _box.ImportAsync(archive));

        Assert.Equal(ErrorCodes.ArchiveRefused, e.Code);
        Assert.Contains($"'{member}", e.Message);
        AssertUnchanged(before);
    }

    [Fact]
    public async Task Import_IntoAMissingDirectory_CreatesIt_AndARefusedOneLeavesNoDirectory()
    {
        var good = new TarBuilder().File("a.txt", "a").Build();
        var bad = new TarBuilder().File("a.txt", "a").HardLink("b", "a.txt").Build();

        var result = await _box.ImportAsync(good, "/workspace/new/deeper");
        await Assert.ThrowsAsync<WorkspaceException>(() => _box.ImportAsync(bad, "other/deeper"));

        Assert.Equal(new ImportResult("new/deeper", 1, 1), result);
        Assert.Equal("a", Read("new/deeper/a.txt"));
        Assert.Equal(ArchiveSandbox.Owner, (int)ArchiveSandbox.Stat(_box.PathOf("new")).Uid);
        Assert.False(Path.Exists(_box.PathOf("other")));
    }

    [Fact]
    public async Task Import_OfTheSameNameTwice_KeepsTheLaterMember_AsTarDoes()
    {
        var archive = new TarBuilder().File("f", "first").Symlink("l", "f").File("f", "second").File("l", "replaced the link").Build();

        var result = await _box.ImportAsync(archive, "");

        Assert.Equal(4, result.Entries);
        Assert.Equal("second", Read("f"));
        Assert.Equal("replaced the link", Read("l"));
    }

    [Fact]
    public async Task Import_OfAGzipBomb_StopsAtTheByteCap_WithoutInflatingTheRest()
    {
        // 2 GiB of zeros in one member, gzipped on the fly through a pipe as the importer reads it.
        var zeros = new ZeroStream(2L << 30);
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var producer = Task.Run(() =>
        {
            try
            {
                using var gzip = new GZipStream(server, CompressionLevel.Fastest, leaveOpen: true);
                using var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "zeros.bin") { DataStream = zeros });
            }
            catch (IOException)
            {
                // The importer stopped reading, as it should.
            }
        });
        var before = _box.Snapshot();

        var e = await Assert.ThrowsAsync<WorkspaceException>(() =>
            ArchiveImporter.ImportAsync(_box.Workspace, "dest", client, new ImportLimits(MaxBytes: 32 << 20)));
        client.Dispose();
        await producer.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal((ErrorCodes.ArchiveTooLarge, 413), (e.Code, e.Status));
        Assert.Contains($"{32 << 20} bytes", e.Message);
        Assert.True(zeros.Position < 256 << 20, $"{zeros.Position} bytes were inflated");
        AssertUnchanged(before);
    }

    [Fact]
    public async Task Import_OfMoreEntriesThanTheCap_IsRefused_AndWritesNothing()
    {
        var tar = new TarBuilder();
        for (var i = 0; i < 20; i++)
        {
            tar.File($"f{i}.txt", "x");
        }
        var before = _box.Snapshot();

        var e = await Assert.ThrowsAsync<WorkspaceException>(() => _box.ImportAsync(tar.Build(), limits: new ImportLimits(MaxEntries: 10)));

        Assert.Equal((ErrorCodes.ArchiveTooLarge, 413), (e.Code, e.Status));
        Assert.Contains("10 entries", e.Message);
        AssertUnchanged(before);
    }

    [Theory]
    [InlineData("truncated tar")]
    [InlineData("truncated gzip")]
    [InlineData("corrupt header")]
    [InlineData("not a tar")]
    [InlineData("empty body")]
    public async Task Import_OfABrokenArchive_IsInvalid_AndLeavesNothing(string broken)
    {
        var good = new TarBuilder().File("first.txt", "complete").File("big.bin", RandomBytes(100_000)).Build();
        var archive = broken switch
        {
            "truncated tar" => good[..(good.Length / 2)],
            "truncated gzip" => TarBuilder.Gzip(good)[..(TarBuilder.Gzip(good).Length / 2)],
            "corrupt header" => Corrupt(good),
            "not a tar" => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("just some text, not an archive\n", 100))),
            _ => [],
        };
        var before = _box.Snapshot();

        var e = await Assert.ThrowsAsync<WorkspaceException>(() => _box.ImportAsync(archive));

        Assert.Equal((ErrorCodes.ArchiveInvalid, 400), (e.Code, e.Status));
        AssertUnchanged(before);
    }

    [Fact]
    public async Task Import_WhenTheDiskFills_SaysDiskFull_AndLeavesNothing()
    {
        var mount = TestPaths.NewTempDir("hutch-ar-full");
        Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount);
        try
        {
            using var box = new ArchiveSandbox(mount);
            var archive = new TarBuilder().File("small.txt", "fits").File("big.bin", new byte[4 << 20]).Build();

            var e = await Assert.ThrowsAsync<WorkspaceException>(() => box.ImportAsync(archive));

            Assert.Equal((ErrorCodes.DiskFull, 507), (e.Code, e.Status));
            Assert.Contains("big.bin", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(mount));
        }
        finally
        {
            Run("umount", mount);
            Directory.Delete(mount);
        }
    }

    private void AssertUnchanged((List<string> Workspace, List<string> Outside) before)
    {
        var after = _box.Snapshot();
        Assert.Equal(before.Workspace, after.Workspace);
        Assert.Equal(before.Outside, after.Outside);
    }

    private string Read(string relative) => File.ReadAllText(_box.PathOf(relative));

    private static string Owner(EntryStatus s) => $"{s.Uid}:{s.Gid}";

    private static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        new Random(n).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Puts letters into the size field of big.bin's header, where tar has octal digits.</summary>
    private static byte[] Corrupt(byte[] tar)
    {
        var copy = (byte[])tar.Clone();
        var name = Encoding.ASCII.GetBytes("big.bin\0");
        var header = Enumerable.Range(0, copy.Length / 512).Select(i => i * 512).First(at => copy.AsSpan(at).StartsWith(name));
        Encoding.ASCII.GetBytes("zzzzzzzzzzz\0").CopyTo(copy, header + 124);
        return copy;
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} failed: {process.StandardError.ReadToEnd()}");
    }
}

/// <summary>A seekable stream of zeros of a claimed length, handed out only as far as it is read.</summary>
internal sealed class ZeroStream(long length) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get; set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, length - Position);
        buffer.AsSpan(offset, n).Clear();
        Position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
