using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// The file commands as a user runs them: the published `hutch` program in its own process, against a
/// real daemon (the collection's), with real sandboxes. Bytes go through real pipes.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class FilesCliTests(DaemonFixture fixture) : IDisposable
{
    private readonly string _local = TestPaths.NewTempDir("hutch-cpl");

    private HutchClient Client => fixture.Client;

    public void Dispose() => Directory.Delete(_local, recursive: true);

    [Fact]
    public async Task Write_FromStdin_CatsBackByteForByte_AndLsShowsIt()
    {
        await using var sandbox = await fixture.CreateAsync();
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(RandomNumberGenerator.GetBytes(2 << 20)).ToArray();

        var write = await HutchAsync(bytes, "fs", "write", sandbox.Id, "data/blob.bin", "--mode", "0600");
        var cat = await HutchAsync(null, "fs", "cat", sandbox.Id, "/workspace/data/blob.bin");
        var ls = await HutchAsync(null, "fs", "ls", sandbox.Id, "data");
        var json = await HutchAsync(null, "fs", "ls", sandbox.Id, "-r", "--json");

        Assert.Equal((0, ""), (write.Code, write.Stderr));
        Assert.Equal(0, cat.Code);
        Assert.Equal(bytes, cat.Stdout);
        var rows = Text(ls.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.Matches(@"^file\s+0600\s+2\.0 MiB\s+\S+ \S+\s+data/blob\.bin$", rows[1]);
        var list = JsonSerializer.Deserialize(json.Stdout, ApiJsonContext.Default.FileList)!;
        Assert.Contains(list.Entries, e => e is { Path: "data/blob.bin", Type: FileTypes.File } && e.Size == bytes.Length);
        Assert.Contains(list.Entries, e => e is { Path: "data", Type: FileTypes.Directory });
    }

    [Fact]
    public async Task SyncPushThenPull_WithEditsOnBothSides_ReportsTheConflictAndExits1()
    {
        await using var sandbox = await fixture.CreateAsync();
        var project = Path.Join(_local, "project");
        Directory.CreateDirectory(Path.Join(project, "skip"));
        File.WriteAllText(Path.Join(project, "a.txt"), "a\n");
        File.WriteAllText(Path.Join(project, "b.txt"), "b\n");
        File.WriteAllText(Path.Join(project, "skip", "x"), "x\n");

        var push = await HutchAsync(null, "sync", "push", sandbox.Id, project, "--to", "p", "--exclude", "skip/");
        await sandbox.ShAsync("echo sandbox > p/a.txt && echo new > p/c.txt");
        File.WriteAllText(Path.Join(project, "a.txt"), "local\n");
        var pull = await HutchAsync(null, "sync", "pull", sandbox.Id, project, "--from", "p", "--exclude", "skip/");

        Assert.Equal(0, push.Code);
        Assert.StartsWith("pushed: 2 uploaded", Text(push.Stdout));
        Assert.Equal(1, pull.Code);
        Assert.Contains("C a.txt", Text(pull.Stdout));
        Assert.Equal("local\n", File.ReadAllText(Path.Join(project, "a.txt")));
        Assert.Equal("sandbox\n", File.ReadAllText(Path.Join(project, "a.txt.sandbox")));
        Assert.Equal("new\n", File.ReadAllText(Path.Join(project, "c.txt")));
        Assert.Equal("", (await sandbox.ShAsync("ls p/skip 2>/dev/null")).Stdout);
    }

    [Fact]
    public async Task Failures_AreOneHutchLine_WithTheDaemonsCode_AndExit1()
    {
        await using var sandbox = await fixture.CreateAsync();

        var missing = await HutchAsync(null, "fs", "cat", sandbox.Id, "no/such/file");
        var outside = await HutchAsync(null, "fs", "stat", sandbox.Id, "../etc/passwd");
        var noSandbox = await HutchAsync(null, "fs", "ls", "no-such-sandbox");

        Assert.Equal(1, missing.Code);
        Assert.Empty(missing.Stdout);
        Assert.Matches(@"^hutch: .+ \(path_not_found\)\n$", missing.Stderr);
        Assert.Equal(1, outside.Code);
        Assert.EndsWith("(path_outside_workspace)\n", outside.Stderr);
        Assert.EndsWith("(sandbox_not_found)\n", noSandbox.Stderr);
    }

    [Fact]
    public async Task MkdirMvRm_ChangeTheWorkspace()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "a.txt", "a");

        Assert.Equal(0, (await HutchAsync(null, "fs", "mkdir", sandbox.Id, "x/y", "-p")).Code);
        Assert.Equal(0, (await HutchAsync(null, "fs", "mv", sandbox.Id, "a.txt", "x/y/b.txt")).Code);
        var stat = await HutchAsync(null, "fs", "stat", sandbox.Id, "x/y/b.txt");
        var notEmpty = await HutchAsync(null, "fs", "rm", sandbox.Id, "x");
        var removed = await HutchAsync(null, "fs", "rm", sandbox.Id, "x", "-r");
        var again = await HutchAsync(null, "fs", "rm", sandbox.Id, "x", "-r", "-f", "--json");

        Assert.Contains("type     file\n", Text(stat.Stdout));
        Assert.Equal(1, notEmpty.Code);
        Assert.Equal(0, removed.Code);
        Assert.Equal(0, again.Code);
        Assert.Contains("\"deleted\": false", Text(again.Stdout));
        Assert.Equal(1, (await HutchAsync(null, "fs", "stat", sandbox.Id, "x")).Code);
    }

    [Fact]
    public async Task Cp_ALocalDirectoryIn_AndBackOut_KeepsContentsModesAndLinks()
    {
        await using var sandbox = await fixture.CreateAsync();
        var source = Path.Join(_local, "proj");
        Directory.CreateDirectory(Path.Join(source, "bin"));
        Directory.CreateDirectory(Path.Join(source, "empty"));
        await File.WriteAllTextAsync(Path.Join(source, "a.txt"), "alpha\n");
        var binary = RandomNumberGenerator.GetBytes(300_000);
        await File.WriteAllBytesAsync(Path.Join(source, "bin", "tool"), binary);
        File.SetUnixFileMode(Path.Join(source, "bin", "tool"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.CreateSymbolicLink(Path.Join(source, "link"), "a.txt");

        var copyIn = await HutchAsync(null, "cp", source, $"{sandbox.Id}:work");
        var inside = await sandbox.ShAsync("cat work/a.txt && stat -c '%a' work/bin/tool && readlink work/link && test -d work/empty && echo empty");
        var copyOut = await HutchAsync(null, "cp", $"{sandbox.Id}:work", Path.Join(_local, "back"));

        Assert.Equal((0, ""), (copyIn.Code, copyIn.Stderr));
        Assert.Equal("alpha\n755\na.txt\nempty\n", inside.Stdout);
        Assert.Equal((0, ""), (copyOut.Code, copyOut.Stderr));
        var back = Path.Join(_local, "back");
        Assert.Equal("alpha\n", await File.ReadAllTextAsync(Path.Join(back, "a.txt")));
        Assert.Equal(binary, await File.ReadAllBytesAsync(Path.Join(back, "bin", "tool")));
        Assert.True(File.GetUnixFileMode(Path.Join(back, "bin", "tool")).HasFlag(UnixFileMode.UserExecute));
        Assert.Equal("a.txt", new FileInfo(Path.Join(back, "link")).LinkTarget);
        Assert.True(Directory.Exists(Path.Join(back, "empty")));

        // Into an existing directory, a directory keeps its name; with /. its contents go in (as with docker cp).
        var other = Directory.CreateDirectory(Path.Join(_local, "other")).FullName;
        Assert.Equal(0, (await HutchAsync(null, "cp", $"{sandbox.Id}:work/bin", other)).Code);
        Assert.Equal(0, (await HutchAsync(null, "cp", $"{sandbox.Id}:work/bin/.", other)).Code);
        Assert.Equal(binary, await File.ReadAllBytesAsync(Path.Join(other, "bin", "tool")));
        Assert.Equal(binary, await File.ReadAllBytesAsync(Path.Join(other, "tool")));
    }

    [Fact]
    public async Task Cp_OneFile_EachWay_IntoDirectoriesOrToANewName()
    {
        await using var sandbox = await fixture.CreateAsync();
        var local = Path.Join(_local, "notes.txt");
        await File.WriteAllTextAsync(local, "notes\n");
        await Client.MakeDirectoryAsync(sandbox.Id, "docs");

        Assert.Equal(0, (await HutchAsync(null, "cp", local, $"{sandbox.Id}:docs")).Code);
        Assert.Equal(0, (await HutchAsync(null, "cp", local, $"{sandbox.Id}:renamed.txt")).Code);
        Assert.Equal(0, (await HutchAsync(null, "cp", $"{sandbox.Id}:/workspace/docs/notes.txt", Path.Join(_local, "copy.txt"))).Code);
        var subdir = Directory.CreateDirectory(Path.Join(_local, "sub")).FullName;
        Assert.Equal(0, (await HutchAsync(null, "cp", $"{sandbox.Id}:renamed.txt", subdir)).Code);

        Assert.Equal("notes\n", await Client.ReadTextAsync(sandbox.Id, "docs/notes.txt"));
        Assert.Equal("notes\n", await Client.ReadTextAsync(sandbox.Id, "renamed.txt"));
        Assert.Equal("notes\n", await File.ReadAllTextAsync(Path.Join(_local, "copy.txt")));
        Assert.Equal("notes\n", await File.ReadAllTextAsync(Path.Join(subdir, "renamed.txt")));
    }

    [Fact]
    public async Task Export_ThenImport_RoundTripsATree_ThroughAFileAndThroughAPipe()
    {
        await using var from = await fixture.CreateAsync();
        await using var to = await fixture.CreateAsync();
        var binary = RandomNumberGenerator.GetBytes(100_000);
        await Client.WriteTextAsync(from.Id, "src/main.py", "print('hi')\n", mode: "0755");
        await Client.WriteBytesAsync(from.Id, "src/data/blob", binary);
        var tarFile = Path.Join(_local, "src.tar");

        var export = await HutchAsync(null, "export", from.Id, "src", "-o", tarFile);
        var import = await HutchAsync(null, "import", to.Id, tarFile, "--dir", "restored");
        var piped = await HutchAsync(null, "export", from.Id);
        var pipedImport = await HutchAsync(piped.Stdout, "import", to.Id, "-", "-C", "whole", "--json");

        Assert.Equal((0, ""), (export.Code, export.Stderr));
        Assert.Equal((0, ""), (import.Code, import.Stderr));
        Assert.StartsWith("imported ", Text(import.Stdout));
        Assert.EndsWith(" into /workspace/restored\n", Text(import.Stdout));
        Assert.Equal("print('hi')\n", await Client.ReadTextAsync(to.Id, "restored/main.py"));
        Assert.Equal("0755", (await Client.StatAsync(to.Id, "restored/main.py")).Mode);
        Assert.Equal(binary, await Client.ReadBytesAsync(to.Id, "restored/data/blob"));
        Assert.Equal(0, pipedImport.Code);
        Assert.Equal("whole", JsonSerializer.Deserialize(pipedImport.Stdout, ApiJsonContext.Default.ImportResult)!.Path);
        Assert.Equal(binary, await Client.ReadBytesAsync(to.Id, "whole/src/data/blob"));
    }

    [Fact]
    public async Task CheckpointPatchDiffReset_TellTheStoryOfAnEdit()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "a.txt", "one\ntwo\nthree\n");
        await Client.WriteTextAsync(sandbox.Id, "gone.txt", "bye\n");
        const string Patch = """
            --- a/a.txt
            +++ b/a.txt
            @@ -1,3 +1,3 @@
             one
            -two
            +TWO
             three

            """;

        var checkpoint = await HutchAsync(null, "checkpoint", "create", sandbox.Id, "before");
        var patch = await HutchAsync(Encoding.UTF8.GetBytes(Patch.Replace("\r", "")), "patch", sandbox.Id);
        await Client.DeleteFileAsync(sandbox.Id, "gone.txt");
        await Client.WriteTextAsync(sandbox.Id, "new.txt", "new\n");
        var diff = await HutchAsync(null, "diff", sandbox.Id, "--since", "before");
        var stale = await HutchAsync(Encoding.UTF8.GetBytes(Patch.Replace("\r", "")), "patch", sandbox.Id);
        var list = await HutchAsync(null, "checkpoint", "ls", sandbox.Id);
        var reset = await HutchAsync(null, "reset", sandbox.Id, "--to", "before");
        var remove = await HutchAsync(null, "checkpoint", "rm", sandbox.Id, "before");

        Assert.Equal(("before\n", 0), (Text(checkpoint.Stdout), checkpoint.Code));
        Assert.Equal(("M a.txt\n", 0), (Text(patch.Stdout), patch.Code));
        Assert.Equal("M a.txt\nD gone.txt\nA new.txt\n", Text(diff.Stdout));
        Assert.Equal(1, stale.Code);
        Assert.Contains("a.txt", stale.Stderr);
        Assert.EndsWith("(patch_failed)\n", stale.Stderr);
        Assert.StartsWith("NAME", Text(list.Stdout));
        Assert.Contains("before", Text(list.Stdout));
        Assert.Equal("M a.txt\nD gone.txt\nA new.txt\n", Text(reset.Stdout));
        Assert.Equal("one\ntwo\nthree\n", await Client.ReadTextAsync(sandbox.Id, "a.txt"));
        Assert.Equal("bye\n", await Client.ReadTextAsync(sandbox.Id, "gone.txt"));
        Assert.Equal(0, remove.Code);
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Runs the published hutch against the fixture's daemon; stdin and stdout as bytes.</summary>
    private Task<(int Code, byte[] Stdout, string Stderr)> HutchAsync(byte[]? stdin, params string[] args) =>
        CliProcess.RunAsync(fixture, _local, stdin, args);
}
