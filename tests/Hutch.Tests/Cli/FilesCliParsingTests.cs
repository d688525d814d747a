using Hutch.Cli;
using Hutch.Cli.Commands;
using Hutch.Cli.Files;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

/// <summary>The file commands' command lines and human output: no daemon involved.</summary>
[Trait("Category", "Unit")]
public class FilesCliParsingTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 12, 0, 0, TimeSpan.Zero);

    private static System.CommandLine.ParseResult Parse(params string[] args) => HutchCli.BuildRoot(new TestConsole().Console).Parse(args);

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var console = new TestConsole();
        var exit = await HutchCli.RunAsync(args, console.Console);
        return (exit, console.Out.ToString(), console.Error.ToString());
    }

    [Fact]
    public void FsLs_TakesAnOptionalPath_AndLsFlags()
    {
        var parse = Parse("fs", "ls", "box", "src", "-r", "-a", "--json");

        Assert.Empty(parse.Errors);
        Assert.Equal("box", parse.GetValue<string>("id"));
        Assert.Equal("src", parse.GetValue<string>("path"));
        Assert.True(parse.GetValue<bool>("--recursive"));
        Assert.True(parse.GetValue<bool>("--all"));
    }

    [Fact]
    public void FsLs_WithoutAPath_ListsTheWorkspace()
    {
        var parse = Parse("files", "list", "box");

        Assert.Empty(parse.Errors);
        Assert.Equal("", parse.GetValue<string>("path"));
        Assert.False(parse.GetValue<bool>("--all"));
    }

    [Fact]
    public void FsMv_TakesFromAndTo()
    {
        var parse = Parse("fs", "mv", "box", "a.txt", "b/a.txt", "--force");

        Assert.Empty(parse.Errors);
        Assert.Equal(("a.txt", "b/a.txt"), (parse.GetValue<string>("from"), parse.GetValue<string>("to")));
        Assert.True(parse.GetValue<bool>("--force"));
    }

    [Fact]
    public void ImportExportPatchAndCheckpoints_Parse()
    {
        Assert.Empty(Parse("import", "box", "-", "--dir", "src", "--no-baseline").Errors);
        Assert.Empty(Parse("export", "box", "src", "-o", "src.tar").Errors);
        Assert.Empty(Parse("export", "box").Errors);
        Assert.Empty(Parse("patch", "box").Errors);
        Assert.Empty(Parse("patch", "box", "fix.diff").Errors);
        Assert.Empty(Parse("checkpoint", "create", "box", "before").Errors);
        Assert.Empty(Parse("checkpoints", "ls", "box").Errors);
        Assert.Empty(Parse("checkpoint", "rm", "box", "before").Errors);
        Assert.Empty(Parse("diff", "box", "--since", "before").Errors);
        Assert.Empty(Parse("reset", "box", "--to", "before").Errors);
        Assert.Empty(Parse("cp", "./src", "box:src").Errors);
    }

    [Theory]
    [InlineData("fs")]
    [InlineData("fs", "ls")]
    [InlineData("fs", "cat", "box")]
    [InlineData("fs", "mv", "box", "a")]
    [InlineData("fs", "write", "box", "a", "--mode", "rwxr-xr-x")]
    [InlineData("fs", "write", "box", "a", "--mode", "0789")]
    [InlineData("cp", "a", "b")]
    [InlineData("cp", "box:a", "other:b")]
    [InlineData("cp", "-", "box:a")]
    [InlineData("cp", "box:a")]
    [InlineData("import", "box")]
    [InlineData("checkpoint")]
    [InlineData("checkpoint", "create", "box")]
    [InlineData("diff")]
    public async Task UsageErrors_ExitWith2_AndSayHutchColon(params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("hutch: ", stderr);
        Assert.Contains("--help", stderr);
    }

    [Fact]
    public async Task ASubcommandsUsageError_PointsAtThatSubcommandsHelp()
    {
        var (_, _, stderr) = await RunAsync("fs", "rm", "box");

        Assert.Contains("Run `hutch fs rm --help`", stderr);
    }

    [Fact]
    public async Task CpBetweenTwoLocalPaths_SaysHowToNameASandbox()
    {
        var (_, _, stderr) = await RunAsync("cp", "./src", "out");

        Assert.Contains("./a:b", stderr);
    }

    [Theory]
    [InlineData("fs", "write", "box", "a.txt")]
    [InlineData("patch", "box")]
    [InlineData("import", "box", "-")]
    public async Task InputFromATerminal_IsAUsageError_ThatSaysHowToPipeIt(params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("stdin is a terminal", stderr);
        Assert.Contains("(invalid_request)", stderr);
    }

    [Fact]
    public async Task AMissingLocalFile_IsReportedLikeEveryFailure_NotAsAStackTrace()
    {
        var (exit, _, stderr) = await RunAsync("import", "box", "/nonexistent/dir/a.tar");

        Assert.Equal(ExitCodes.Failure, exit);
        Assert.StartsWith("hutch: ", stderr);
        Assert.Contains("/nonexistent/dir/a.tar", stderr);
        Assert.EndsWith("(path_not_found)\n", stderr.Replace("\r", ""));
    }

    [Theory]
    [InlineData("box:src/a.py", "box", "src/a.py")]
    [InlineData("sbx-1a2b:/workspace/out", "sbx-1a2b", "/workspace/out")]
    [InlineData("box:", "box", "")]
    [InlineData("./a:b", null, "./a:b")]
    [InlineData("/tmp/x:y", null, "/tmp/x:y")]
    [InlineData("dir/a:b", null, "dir/a:b")]
    [InlineData(":x", null, ":x")]
    [InlineData("plain", null, "plain")]
    public void CopyEndpoints_AreRemoteWhenAnIdComesBeforeTheColon(string argument, string? sandbox, string path) =>
        Assert.Equal(new CopyEndpoint(sandbox, path), CopyEndpoint.Parse(argument));

    [Theory]
    [InlineData("src/.", true)]
    [InlineData(".", true)]
    [InlineData("src", false)]
    [InlineData("src/", false)]
    [InlineData(".hidden", false)]
    public void APathEndingInSlashDot_MeansTheDirectorysContents(string path, bool contents) =>
        Assert.Equal(contents, new CopyEndpoint("box", path).MeansContents);

    [Theory]
    [InlineData("src/lib", "lib")]
    [InlineData("a.py", "a.py")]
    [InlineData("", "workspace")]
    public void ARemotePathsName_IsItsLastPart_AndTheWorkspaceIsCalledWorkspace(string path, string name) =>
        Assert.Equal(name, CopyEndpoint.RemoteName(path));

    [Theory]
    [InlineData("0755", true)]
    [InlineData("644", true)]
    [InlineData("0o700", true)]
    [InlineData("0788", false)]
    [InlineData("rwx", false)]
    [InlineData("", false)]
    public void Modes_AreOctal(string mode, bool valid) => Assert.Equal(valid, FsCommand.IsOctalMode(mode));

    [Fact]
    public void FsLs_PrintsATable_WithLinkTargets_AndNoSizeForDirectories()
    {
        var text = FsCommand.Render(new FileList("", [
            new FileEntry("src", FileTypes.Directory, 4096, "0755", Now.AddHours(-1)),
            new FileEntry("src/a.py", FileTypes.File, 1536, "0644", Now),
            new FileEntry("src/cur", FileTypes.Symlink, 4, "0777", Now, "a.py"),
        ]));

        Assert.Equal("""
            TYPE  MODE  SIZE     MODIFIED              PATH
            dir   0755  -        2025-01-02 11:00:00Z  src
            file  0644  1.5 KiB  2025-01-02 12:00:00Z  src/a.py
            link  0777  4 B      2025-01-02 12:00:00Z  src/cur -> a.py

            """.Replace("\r", ""), text);
    }

    [Fact]
    public void FsStat_ShowsEveryField()
    {
        var text = FsCommand.Render(new FileEntry("bin/run", FileTypes.Symlink, 6, "0777", Now, "run.sh"));

        Assert.Equal("""
            path     bin/run
            type     symlink
            size     6 B (6 bytes)
            mode     0777
            modified 2025-01-02 12:00:00Z
            target   run.sh

            """.Replace("\r", ""), text);
    }

    [Fact]
    public void Diff_PrintsGitStatusLines_InPathOrder()
    {
        var text = Changes.Render(new WorkspaceDiff("baseline", ["b/new.txt"], ["a.py"], ["c.txt"]));

        Assert.Equal("M a.py\nA b/new.txt\nD c.txt\n", text);
    }

    [Fact]
    public void Patch_PrintsChangedFiles_WithRenames()
    {
        var text = Changes.Render(new PatchResult([
            new PatchedFile("src/new.py", "renamed", "src/old.py"),
            new PatchedFile("README", "modified"),
            new PatchedFile("x", "deleted"),
        ]));

        Assert.Equal("M README\nR src/old.py -> src/new.py\nD x\n", text);
    }

    [Fact]
    public void NamesFromTheSandbox_CannotDriveTheTerminal()
    {
        var text = FsCommand.Render(new FileList("", [new FileEntry("evil\u001b]0;pwned\u0007\n.txt", FileTypes.File, 0, "0644", Now)]));

        Assert.Contains("evil?]0;pwned??.txt\n", text);
        Assert.DoesNotContain('\u001b', text);
    }

    [Fact]
    public void CheckpointLs_PrintsAgeFilesAndSize()
    {
        var text = CheckpointCommand.Render([new CheckpointInfo("before", Now.AddMinutes(-5), 12, 3 << 20)], Now);

        Assert.Equal("""
            NAME    CREATED  FILES  SIZE
            before  5m ago   12     3.0 MiB

            """.Replace("\r", ""), text);
    }
}
