using Hutch.Client;
using Hutch.Client.Sync;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>`hutch sync` end to end: a local directory pushed into a real sandbox, edited on both sides, pulled back.</summary>
[Collection(DaemonCollection.Name)]
public sealed class SyncTests(DaemonFixture fixture) : IDisposable
{
    private readonly string _local = TestPaths.NewTempDir("hutch-sync");

    private HutchClient Client => fixture.Client;

    public void Dispose() => Directory.Delete(_local, recursive: true);

    [Fact]
    public async Task ARoundTrip_WithEditsOnBothSides_TakesKeepsAndReportsConflictsWithBothVersions()
    {
        await using var sandbox = await fixture.CreateAsync();
        Write("src/main.py", "print('v1')\n");
        Write("src/util.py", "u = 1\n");
        Write("README.md", "readme\n");
        Write("run.sh", "#!/bin/sh\necho run\n");
        File.SetUnixFileMode(Local("run.sh"), (UnixFileMode)0x1ed);
        Write("node_modules/big.js", "excluded\n");
        File.CreateSymbolicLink(Local("latest"), "src/main.py");
        await sandbox.ShAsync("mkdir -p app/.cache && echo keep > app/.cache/state");
        var sync = new SyncClient(new SandboxRemote(Client, sandbox.Id), sandbox.Id);
        var options = new SyncOptions { Excludes = ["node_modules/"], Preserve = [".cache/"] };

        var pushed = await sync.PushAsync(_local, "app", options);

        Assert.Contains("src/main.py", pushed.Uploaded);
        Assert.DoesNotContain(pushed.Uploaded, p => p.StartsWith("node_modules", StringComparison.Ordinal));
        var inside = await sandbox.ShAsync("cd app && cat src/main.py && test -x run.sh && readlink latest && cat .cache/state && ls node_modules 2>&1 | head -1");
        Assert.StartsWith("print('v1')\nsrc/main.py\nkeep\n", inside.Stdout);
        Assert.Contains("No such file", inside.Stdout);

        // Both sides edit: the sandbox changes main.py, util.py and README, deletes run.sh, adds out.txt;
        // locally, README and util.py change too (util.py the same way), and notes.txt is added.
        await sandbox.ShAsync("cd app && echo \"print('sandbox')\" > src/main.py && echo 'u = 2' > src/util.py && echo sandbox > README.md && rm run.sh && echo made > out.txt");
        Write("README.md", "local\n");
        Write("src/util.py", "u = 2\n");
        Write("notes.txt", "mine\n");

        var pulled = await sync.PullAsync(_local, "app", options);

        Assert.Equal("print('sandbox')\n", Read("src/main.py"));
        Assert.Equal("made\n", Read("out.txt"));
        Assert.False(File.Exists(Local("run.sh")));
        Assert.Equal("mine\n", Read("notes.txt"));
        Assert.Equal("u = 2\n", Read("src/util.py"));
        var conflict = Assert.Single(pulled.Conflicts);
        Assert.Equal(("README.md", SyncConflictKind.BothChanged), (conflict.Path, conflict.Kind));
        Assert.Equal("local\n", Read("README.md"));
        Assert.Equal("sandbox\n", Read(conflict.SandboxCopy!));
        Assert.Equal("excluded\n", Read("node_modules/big.js"));
        Assert.Equal("src/main.py", new FileInfo(Local("latest")).LinkTarget);
    }

    private string Local(string path) => Path.Join(_local, path);

    private void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Local(path))!);
        File.WriteAllText(Local(path), text);
    }

    private string Read(string path) => File.ReadAllText(Local(path));
}
