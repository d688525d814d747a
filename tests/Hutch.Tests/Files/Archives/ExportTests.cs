using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Hutch.Files;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Files.Archives;

/// <summary>Exporting files, directories and links as a streamed tar, never reading through a link.</summary>
[Trait("Category", "Unit")]
public sealed class ExportTests : IDisposable
{
    private readonly ArchiveSandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task ExportThenImport_RoundTripsATree_ByteForByte()
    {
        var binary = new byte[3 << 20];
        new Random(7).NextBytes(binary);
        Write("proj/bin.dat", binary);
        Write("proj/empty.txt", []);
        Write("proj/nested/a/b/c.txt", "deep"u8.ToArray());
        Write("proj/run.sh", "#!/bin/sh\n"u8.ToArray());
        File.SetUnixFileMode(_box.PathOf("proj/run.sh"), (UnixFileMode)0x1ed);
        Write("proj/café ☕/naïve.txt", "unicode"u8.ToArray());
        Write("proj/line\nbreak.txt", "newline"u8.ToArray());
        Write("proj/" + string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 8)) + "/f.txt", "long"u8.ToArray());
        Directory.CreateDirectory(_box.PathOf("proj/private"));
        File.SetUnixFileMode(_box.PathOf("proj/private"), (UnixFileMode)0x1c0);
        File.CreateSymbolicLink(_box.PathOf("proj/link"), "nested/a");
        File.SetLastWriteTimeUtc(_box.PathOf("proj/bin.dat"), new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));

        var tar = await _box.ExportAsync("proj");
        using var other = new ArchiveSandbox();
        var result = await other.ImportAsync(tar, "copy");

        Assert.Equal(ArchiveSandbox.Tree(_box.PathOf("proj"), owners: false, times: true), ArchiveSandbox.Tree(other.PathOf("copy"), owners: false, times: true));
        Assert.Equal(binary.Length + 4 + 10 + 7 + 7 + 4, result.Bytes);
    }

    [Fact]
    public async Task Export_OfADirectory_NamesMembersRelativeToIt_DirectoriesBeforeTheirContents()
    {
        Write("d/b.txt", "b"u8.ToArray());
        Write("d/a/x.txt", "x"u8.ToArray());

        var members = Read(await _box.ExportAsync("/workspace/d"));

        Assert.Equal(["a/", "a/x.txt", "b.txt"], members.Select(m => m.Name));
        Assert.Equal([TarEntryType.Directory, TarEntryType.RegularFile, TarEntryType.RegularFile], members.Select(m => m.Type));
        Assert.Equal("x", members[1].Content);
    }

    [Fact]
    public async Task Export_OfTheWorkspaceRoot_LeavesOutImportsAndWritesInProgress()
    {
        Write("a.txt", "a"u8.ToArray());
        Write(".hidden", "h"u8.ToArray());
        Write(".hutch-import-0123456789ab/half.txt", "half"u8.ToArray());
        Write(".hutch-0123456789ab.tmp", "half"u8.ToArray());

        var members = Read(await _box.ExportAsync("/workspace"));

        Assert.Equal([".hidden", "a.txt"], members.Select(m => m.Name));
    }

    [Fact]
    public async Task Export_OfASingleFile_IsOneMemberNamedByTheFile()
    {
        Write("src/main.py", "print(1)\n"u8.ToArray());

        var members = Read(await _box.ExportAsync("src/main.py"));

        Assert.Equal([("main.py", TarEntryType.RegularFile, "print(1)\n")], members.Select(m => (m.Name, m.Type, m.Content)));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../outside/canary.txt")]
    [InlineData("src")]
    public async Task Export_OfASymlink_StoresTheLink_NeverItsTarget(string target)
    {
        Directory.CreateDirectory(_box.PathOf("src"));
        File.CreateSymbolicLink(_box.PathOf("link"), target);

        var tar = await _box.ExportAsync("link");

        Assert.Equal([("link", TarEntryType.SymbolicLink, target)], Read(tar).Select(m => (m.Name, m.Type, m.LinkName)));
        AssertNothingOutsideIn(tar);
    }

    [Fact]
    public async Task Export_OfADirectoryWithLinksLeadingOut_StoresThemAsLinks_AndReadsNothingOutside()
    {
        Write("d/ok.txt", "ok"u8.ToArray());
        Directory.CreateSymbolicLink(_box.PathOf("d/root"), "/");
        Directory.CreateSymbolicLink(_box.PathOf("d/out"), "../../outside");
        File.CreateSymbolicLink(_box.PathOf("d/secret"), Path.Join(_box.Outside, "canary.txt"));

        var tar = await _box.ExportAsync("d");

        Assert.Equal(
            [("ok.txt", TarEntryType.RegularFile, ""), ("out", TarEntryType.SymbolicLink, "../../outside"),
             ("root", TarEntryType.SymbolicLink, "/"), ("secret", TarEntryType.SymbolicLink, Path.Join(_box.Outside, "canary.txt"))],
            Read(tar).Select(m => (m.Name, m.Type, m.LinkName)));
        AssertNothingOutsideIn(tar);
    }

    [Theory]
    [InlineData("out/canary.txt", ErrorCodes.PathThroughSymlink)]
    [InlineData("out", null)]
    [InlineData("../outside/canary.txt", ErrorCodes.PathOutsideWorkspace)]
    [InlineData("/etc/passwd", ErrorCodes.PathOutsideWorkspace)]
    public async Task Export_OfAPathThroughALinkOrOutside_IsRefusedBeforeAnythingIsWritten(string path, string? code)
    {
        Directory.CreateSymbolicLink(_box.PathOf("out"), _box.Outside);

        if (code is null)
        {
            AssertNothingOutsideIn(await _box.ExportAsync(path));   // the link itself is fine: stored as a link
            return;
        }
        var output = new MemoryStream();
        var e = await Assert.ThrowsAsync<WorkspaceException>(() => Hutch.Files.Archives.ArchiveExporter.ExportAsync(_box.Workspace, path, null, output));

        Assert.Equal(code, e.Code);
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public async Task Export_WithInclude_WritesOnlyThosePaths_AndLeavesOutMissingOnesAndOnesBehindLinks()
    {
        Write("p/src/a.py", "a"u8.ToArray());
        Write("p/src/b.py", "b"u8.ToArray());
        Write("p/docs/x.md", "x"u8.ToArray());
        Write("p/other.txt", "o"u8.ToArray());
        Directory.CreateSymbolicLink(_box.PathOf("p/out"), _box.Outside);

        var tar = await _box.ExportAsync("p", ["src/a.py", "./docs/", "docs/x.md", "gone.txt", "out/canary.txt"]);

        Assert.Equal(["docs/", "docs/x.md", "src/a.py"], Read(tar).Select(m => m.Name));
        AssertNothingOutsideIn(tar);
    }

    [Theory]
    [InlineData("../outside/canary.txt")]
    [InlineData("/etc/passwd")]
    public async Task Export_WithAnIncludeThatLeavesTheDirectory_IsRefused(string include)
    {
        Write("p/a.txt", "a"u8.ToArray());

        var e = await Assert.ThrowsAsync<WorkspaceException>(() => _box.ExportAsync("p", [include]));

        Assert.Equal(ErrorCodes.InvalidPath, e.Code);
    }

    [Fact]
    public async Task Export_LeavesOutFifos_WithoutBlockingOnThem()
    {
        Write("d/a.txt", "a"u8.ToArray());
        using (var mkfifo = Process.Start("mkfifo", _box.PathOf("d/pipe")))
        {
            await mkfifo.WaitForExitAsync();
        }

        var tar = await _box.ExportAsync("d").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["a.txt"], Read(tar).Select(m => m.Name));
    }

    private void Write(string relative, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_box.PathOf(relative))!);
        File.WriteAllBytes(_box.PathOf(relative), content);
    }

    private static void AssertNothingOutsideIn(byte[] tar)
    {
        var text = Encoding.Latin1.GetString(tar);
        Assert.DoesNotContain(ArchiveSandbox.Secret, text);
        Assert.DoesNotContain("root:x:0:0", text);
    }

    private static List<(string Name, TarEntryType Type, string LinkName, string Content)> Read(byte[] tar)
    {
        var members = new List<(string, TarEntryType, string, string)>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry() is { } entry)
        {
            var content = entry.DataStream is null ? "" : new StreamReader(entry.DataStream).ReadToEnd();
            members.Add((entry.Name, entry.EntryType, entry.LinkName, content));
        }
        return members;
    }
}
