using System.Diagnostics;
using Hutch.Files;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Files.Archives;

/// <summary>Archives made by GNU tar import as they are, and exports extract with GNU tar as they were.</summary>
[Trait("Category", "Unit")]
public sealed class InteropTests : IDisposable
{
    private readonly ArchiveSandbox _box = new();
    private readonly string _source;

    public InteropTests()
    {
        _source = Path.Join(_box.Outside, "..", "source");
        Directory.CreateDirectory(Path.Join(_source, "src", "pkg"));
        File.WriteAllText(Path.Join(_source, "src", "pkg", "mod.py"), "x = 1\n");
        File.WriteAllBytes(Path.Join(_source, "blob.bin"), Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray());
        File.WriteAllText(Path.Join(_source, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Join(_source, "run.sh"), (UnixFileMode)0x1ed);
        File.WriteAllText(Path.Join(_source, "empty"), "");
        File.WriteAllText(Path.Join(_source, "naïve ☕.txt"), "unicode");
        var deep = Path.Join(_source, string.Join('/', Enumerable.Repeat("a-rather-long-directory-name", 8)));
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Join(deep, "f.txt"), "long");
        File.CreateSymbolicLink(Path.Join(_source, "link"), "src/pkg");
    }

    public void Dispose() => _box.Dispose();

    [Theory]
    [InlineData("gnu", "-czf")]
    [InlineData("pax", "-cf")]
    [InlineData("ustar", "-czf")]
    public async Task Import_OfAnArchiveFromGnuTar_RecreatesTheTree(string format, string create)
    {
        if (format == "ustar")
        {
            // ustar cannot hold the 200+ byte path.
            Directory.Delete(Path.Join(_source, "a-rather-long-directory-name"), recursive: true);
        }
        var archive = Path.Join(_box.Outside, "..", "archive");
        Run("tar", $"--format={format}", "-C", _source, create, archive, ".");

        await _box.ImportAsync(File.ReadAllBytes(archive));

        Assert.Equal(ArchiveSandbox.Tree(_source, owners: false, times: true), ArchiveSandbox.Tree(_box.PathOf("dest"), owners: false, times: true));
    }

    [Fact]
    public async Task Import_OfAGitArchive_SkipsItsGlobalHeader()
    {
        var archive = Path.Join(_box.Outside, "..", "archive");
        Run("tar", "--format=pax", "--pax-option=globexthdr.name=pax_global_header,comment:=abc123", "-C", _source, "-cf", archive, "src");

        var result = await _box.ImportAsync(File.ReadAllBytes(archive));

        Assert.Equal(3, result.Entries);
        Assert.Equal("x = 1\n", File.ReadAllText(_box.PathOf("dest/src/pkg/mod.py")));
    }

    [Fact]
    public async Task Export_IsExtractedByGnuTar_AsTheTreeItWasTakenFrom()
    {
        await _box.ImportAsync(await TarOfSource());
        var extracted = Path.Join(_box.Outside, "..", "extracted");
        Directory.CreateDirectory(extracted);
        File.WriteAllBytes(Path.Join(_box.Outside, "..", "export.tar"), await _box.ExportAsync("dest"));

        Run("tar", "-C", extracted, "-xf", Path.Join(_box.Outside, "..", "export.tar"));

        Assert.Equal(ArchiveSandbox.Tree(_source, owners: false, times: true), ArchiveSandbox.Tree(extracted, owners: false, times: true));
    }

    [Fact]
    public async Task Export_OfANameWithANewline_IsReadBackByGnuTarAndByTheImporter()
    {
        File.WriteAllText(Path.Join(_source, "line\nbreak.txt"), "newline");
        await _box.ImportAsync(await TarOfSource(), "one");

        var tar = await _box.ExportAsync("one");
        File.WriteAllBytes(Path.Join(_box.Outside, "..", "export.tar"), tar);
        await _box.ImportAsync(tar, "two");

        Assert.Equal("newline", File.ReadAllText(_box.PathOf("two/line\nbreak.txt")));
        Assert.Contains("line\\nbreak.txt", Run("tar", "-tf", Path.Join(_box.Outside, "..", "export.tar")));
    }

    private async Task<byte[]> TarOfSource()
    {
        var archive = Path.Join(_box.Outside, "..", "source.tar");
        Run("tar", "--format=gnu", "-C", _source, "-cf", archive, ".");
        return await File.ReadAllBytesAsync(archive);
    }

    private static string Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} failed: {process.StandardError.ReadToEnd()}");
        return output;
    }
}
