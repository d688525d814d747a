using System.Formats.Tar;
using System.Text;
using Hutch.Cli;
using Hutch.Cli.Files;
using Hutch.Client.Local;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// The CLI's local tar maker and extractor (`hutch cp` of directories). The extractor unpacks what a
/// sandbox exported, so its tests read like the attacks a hostile sandbox would try on the user's machine.
/// </summary>
[Trait("Category", "Unit")]
public sealed class FilesCliTarTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-cpt");
    private readonly List<string> _notes = [];

    private string Root => Path.Join(_dir, "root");
    private string Outside => Path.Join(_dir, "outside");

    public FilesCliTarTests()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ADirectory_RoundTripsThroughMakerAndExtractor_WithModesLinksAndEmptyDirectories()
    {
        var source = Path.Join(_dir, "src");
        Directory.CreateDirectory(Path.Join(source, "bin"));
        Directory.CreateDirectory(Path.Join(source, "empty"));
        await File.WriteAllTextAsync(Path.Join(source, "a.txt"), "alpha\n");
        await File.WriteAllBytesAsync(Path.Join(source, "bin", "run"), [0, 1, 2, 255]);
        File.SetUnixFileMode(Path.Join(source, "bin", "run"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.CreateSymbolicLink(Path.Join(source, "link"), "a.txt");
        await File.WriteAllTextAsync(Path.Join(source, ".hidden"), "");

        using var tar = new MemoryStream();
        await TarMaker.WriteAsync(source, tar, CancellationToken.None);
        tar.Position = 0;
        await ExtractAsync(tar);

        Assert.Equal("alpha\n", await File.ReadAllTextAsync(Path.Join(Root, "a.txt")));
        Assert.Equal([0, 1, 2, 255], await File.ReadAllBytesAsync(Path.Join(Root, "bin", "run")));
        Assert.True(File.GetUnixFileMode(Path.Join(Root, "bin", "run")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("a.txt", new FileInfo(Path.Join(Root, "link")).LinkTarget);
        Assert.True(Directory.Exists(Path.Join(Root, "empty")));
        Assert.True(File.Exists(Path.Join(Root, ".hidden")));
    }

    [Theory]
    [InlineData("/etc/hutch-test-pwned")]
    [InlineData("../escaped")]
    [InlineData("a/../../escaped")]
    [InlineData("./../escaped")]
    public async Task AMemberNamedOutsideTheDestination_IsRefused(string name)
    {
        var error = await Assert.ThrowsAsync<CliException>(() => ExtractAsync(Tar(Member(name, "x"))));

        Assert.Equal(ErrorCodes.ArchiveRefused, error.Code);
        Assert.False(File.Exists(Path.Join(_dir, "escaped")));
        Assert.False(File.Exists("/etc/hutch-test-pwned"));
    }

    [Fact]
    public async Task ASymlinkThenAFileThroughIt_IsRefused_AndNothingLandsWhereTheLinkPoints()
    {
        var error = await Assert.ThrowsAsync<CliException>(() => ExtractAsync(Tar(LinkMember("out", Outside), Member("out/planted", "x"))));

        Assert.Equal(ErrorCodes.ArchiveRefused, error.Code);
        Assert.Contains("'out'", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Fact]
    public async Task ALocalSymlinkOnTheWay_IsNotFollowedEither()
    {
        File.CreateSymbolicLink(Path.Join(Root, "dir"), Outside);

        await Assert.ThrowsAsync<CliException>(() => ExtractAsync(Tar(Member("dir/planted", "x"))));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
    }

    [Fact]
    public async Task AFileWhereASymlinkStands_ReplacesTheLink_InsteadOfWritingThroughIt()
    {
        var victim = Path.Join(Outside, "victim");
        await File.WriteAllTextAsync(victim, "untouched");
        File.CreateSymbolicLink(Path.Join(Root, "f"), victim);

        await ExtractAsync(Tar(LinkMember("g", victim), Member("g", "new"), Member("f", "new")));

        Assert.Equal("untouched", await File.ReadAllTextAsync(victim));
        Assert.Equal("new", await File.ReadAllTextAsync(Path.Join(Root, "f")));
        Assert.Null(new FileInfo(Path.Join(Root, "f")).LinkTarget);
        Assert.Null(new FileInfo(Path.Join(Root, "g")).LinkTarget);
    }

    [Fact]
    public async Task ADirectoryWhereASymlinkStands_ReplacesTheLink()
    {
        await ExtractAsync(Tar(LinkMember("d", Outside), DirMember("d"), Member("d/x", "inside")));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
        Assert.Equal("inside", await File.ReadAllTextAsync(Path.Join(Root, "d", "x")));
    }

    [Fact]
    public async Task SetuidSetgidAndSticky_AreDropped()
    {
        var entry = Member("tool", "#!/bin/sh\n");
        entry.Mode = (UnixFileMode)Convert.ToInt32("6755", 8);
        var dir = DirMember("shared");
        dir.Mode = (UnixFileMode)Convert.ToInt32("1777", 8);

        await ExtractAsync(Tar(entry, dir));

        Assert.Equal(Convert.ToInt32("755", 8), (int)File.GetUnixFileMode(Path.Join(Root, "tool")));
        Assert.Equal(Convert.ToInt32("777", 8), (int)File.GetUnixFileMode(Path.Join(Root, "shared")));
    }

    [Fact]
    public async Task HardLinksAndDeviceNodes_AreSkippedWithANote()
    {
        var hardLink = new PaxTarEntry(TarEntryType.HardLink, "passwd") { LinkName = "/etc/passwd" };
        var device = new PaxTarEntry(TarEntryType.CharacterDevice, "null") { DeviceMajor = 1, DeviceMinor = 3 };

        await ExtractAsync(Tar(hardLink, device, Member("ok", "fine")));

        Assert.False(File.Exists(Path.Join(Root, "passwd")));
        Assert.False(File.Exists(Path.Join(Root, "null")));
        Assert.Equal("fine", await File.ReadAllTextAsync(Path.Join(Root, "ok")));
        Assert.Equal(2, _notes.Count);
        Assert.Contains(_notes, n => n.Contains("hard link", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReadOnlyDirectory_StillGetsItsContents()
    {
        var dir = DirMember("ro");
        dir.Mode = (UnixFileMode)Convert.ToInt32("555", 8);

        await ExtractAsync(Tar(dir, Member("ro/inside", "x")));

        Assert.Equal("x", await File.ReadAllTextAsync(Path.Join(Root, "ro", "inside")));
        Assert.Equal(Convert.ToInt32("555", 8), (int)File.GetUnixFileMode(Path.Join(Root, "ro")));
        File.SetUnixFileMode(Path.Join(Root, "ro"), (UnixFileMode)Convert.ToInt32("755", 8));   // so Dispose can delete it
    }

    [Fact]
    public async Task NotATar_IsReportedAsAnInvalidArchive()
    {
        var error = await Assert.ThrowsAsync<CliException>(() => ExtractAsync(new MemoryStream(Encoding.UTF8.GetBytes(new string('x', 1024)))));

        Assert.Equal(ErrorCodes.ArchiveInvalid, error.Code);
    }

    private Task ExtractAsync(Stream tar) => TarExtractor.ExtractAsync(tar, Root, _notes.Add, CancellationToken.None);

    private static PaxTarEntry Member(string name, string content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)), Mode = (UnixFileMode)Convert.ToInt32("644", 8) };

    private static PaxTarEntry DirMember(string name) => new(TarEntryType.Directory, name) { Mode = (UnixFileMode)Convert.ToInt32("755", 8) };

    private static PaxTarEntry LinkMember(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    private static MemoryStream Tar(params TarEntry[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }
        stream.Position = 0;
        return stream;
    }
}
