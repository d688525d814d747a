using System.Formats.Tar;
using Hutch.Files;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Archives;

/// <summary>
/// Tar-slip and friends, each as an archive built member by member. Every one is refused with
/// archive_refused naming the member, and leaves the workspace (hidden entries included) and the
/// canary directory outside it exactly as they were, although a harmless member came first.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ImportAttackTests : IDisposable
{
    private readonly ArchiveSandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Theory]
    [InlineData("absolute name", "/etc/hutch-pwned")]
    [InlineData("dot-dot", "../pwned")]
    [InlineData("dot-dot after a directory", "a/../../pwned")]
    [InlineData("dot-dot to the canary", "../../outside/canary.txt")]
    [InlineData("symlink to /etc, then a file through it", "x")]
    [InlineData("symlink climbing out, then a file through it", "x")]
    [InlineData("symlink to a sibling outside the workspace", "out")]
    [InlineData("symlink inside, then a file through it", "x/passwd")]
    [InlineData("symlink inside, then a directory through it", "x/d/")]
    [InlineData("hard link to /etc/passwd", "h")]
    [InlineData("hard link to another member", "h")]
    [InlineData("character device", "null")]
    [InlineData("block device", "sda")]
    [InlineData("fifo", "pipe")]
    [InlineData("a file, then a file under it", "c/d")]
    public async Task Import_OfAnAttack_IsRefused_AndWritesNothing(string attack, string member)
    {
        var archive = Attack(attack).Build();

        var e = await RefusedAsync(() => _box.ImportAsync(archive), ErrorCodes.ArchiveRefused, 400);

        Assert.Contains($"'{member}'", e.Message);
        Assert.Contains("Nothing was imported", e.Message);
    }

    [Theory]
    [InlineData("absolute name")]
    [InlineData("symlink inside, then a file through it")]
    [InlineData("hard link to /etc/passwd")]
    public async Task Import_OfAGzippedAttack_IsRefusedTheSameWay(string attack)
    {
        var archive = TarBuilder.Gzip(Attack(attack).Build());

        await RefusedAsync(() => _box.ImportAsync(archive), ErrorCodes.ArchiveRefused, 400);
    }

    [Theory]
    [InlineData("../../outside")]
    [InlineData("/etc")]
    [InlineData("inner")]
    public async Task Import_ThroughASymlinkAlreadyInTheWorkspace_IsRefused_NamingTheMember(string target)
    {
        Directory.CreateDirectory(_box.PathOf("dest/inner"));
        Directory.CreateSymbolicLink(_box.PathOf("dest/lnk"), target);
        var archive = new TarBuilder().File("ok.txt", "fine").File("lnk/canary.txt", "pwned").File("lnk/passwd", "pwned").Build();

        var e = await RefusedAsync(() => _box.ImportAsync(archive), ErrorCodes.ArchiveRefused, 400);

        Assert.Contains("'lnk/canary.txt'", e.Message);
        Assert.Contains("symbolic link in the workspace", e.Message);
    }

    [Fact]
    public async Task Import_IntoASymlinkedDirectory_IsRefused()
    {
        Directory.CreateSymbolicLink(_box.PathOf("dest"), _box.Outside);
        var archive = new TarBuilder().File("canary.txt", "pwned").Build();

        await RefusedAsync(() => _box.ImportAsync(archive), ErrorCodes.PathThroughSymlink, 400);
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("/etc")]
    public async Task Import_IntoADirectoryOutsideTheWorkspace_IsRefused(string directory)
    {
        var archive = new TarBuilder().File("canary.txt", "pwned").Build();

        await RefusedAsync(() => _box.ImportAsync(archive, directory), ErrorCodes.PathOutsideWorkspace, 400);
    }

    private async Task<WorkspaceException> RefusedAsync(Func<Task> import, string code, int status)
    {
        Directory.CreateDirectory(_box.PathOf("dest/existing"));
        File.WriteAllText(_box.PathOf("dest/existing/keep.txt"), "keep");
        var before = _box.Snapshot();

        var e = await Assert.ThrowsAsync<WorkspaceException>(import);

        Assert.Equal((code, status), (e.Code, e.Status));
        var after = _box.Snapshot();
        Assert.Equal(before.Workspace, after.Workspace);
        Assert.Equal(before.Outside, after.Outside);
        Assert.False(File.Exists("/etc/hutch-pwned"));
        return e;
    }

    private static TarBuilder Attack(string attack)
    {
        var tar = new TarBuilder().File("ok.txt", "harmless, and must not stay behind").Directory("okdir/");
        return attack switch
        {
            "absolute name" => tar.File("/etc/hutch-pwned", "pwned"),
            "dot-dot" => tar.File("../pwned", "pwned"),
            "dot-dot after a directory" => tar.File("a/../../pwned", "pwned"),
            "dot-dot to the canary" => tar.File("../../outside/canary.txt", "pwned"),
            "symlink to /etc, then a file through it" => tar.Symlink("x", "/etc").File("x/hutch-pwned", "pwned"),
            "symlink climbing out, then a file through it" => tar.Symlink("x", "../../..").File("x/y", "pwned"),
            "symlink to a sibling outside the workspace" => tar.Symlink("out", "../../outside").File("out/canary.txt", "pwned"),
            "symlink inside, then a file through it" => tar.Symlink("x", ".").File("x/passwd", "pwned"),
            "symlink inside, then a directory through it" => tar.Symlink("x", "okdir").Directory("x/d/"),
            "hard link to /etc/passwd" => tar.HardLink("h", "/etc/passwd"),
            "hard link to another member" => tar.HardLink("h", "ok.txt"),
            "character device" => tar.Special(TarEntryType.CharacterDevice, "null"),
            "block device" => tar.Special(TarEntryType.BlockDevice, "sda"),
            "fifo" => tar.Special(TarEntryType.Fifo, "pipe"),
            "a file, then a file under it" => tar.File("c", "file").File("c/d", "under a file"),
            _ => throw new ArgumentException(attack),
        };
    }
}
