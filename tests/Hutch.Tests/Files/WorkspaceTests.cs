using System.Diagnostics;
using Hutch.Files;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files;

/// <summary>The contained file operations on a plain host directory: limits, atomicity and faults.</summary>
public sealed class WorkspaceTests : IDisposable
{
    private const int Owner = 1_234_567;
    private readonly string _dir = TestPaths.NewTempDir("hutch-ws");
    private readonly Workspace _workspace;

    public WorkspaceTests() => _workspace = new Workspace(_dir, Owner, Owner);

    public void Dispose()
    {
        _workspace.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("src/a.py", "src/a.py")]
    [InlineData("/src/a.py", "src/a.py")]
    [InlineData("/workspace/src/a.py", "src/a.py")]
    [InlineData("./src//b/../a.py", "src/a.py")]
    [InlineData("/workspace", "")]
    [InlineData("/", "")]
    [InlineData("", "")]
    public void ThePathResolver_GivesOneNameForEverySpelling(string path, string expected) =>
        Assert.Equal(expected, WorkspacePath.Relative(path));

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("/proc/self/root")]
    [InlineData("/.hutch/agent")]
    [InlineData("/workspace/../x")]
    public void ThePathResolver_RefusesWhatLeavesTheWorkspace(string path)
    {
        var e = Assert.Throws<WorkspaceException>(() => WorkspacePath.Relative(path));
        Assert.Equal(ErrorCodes.PathOutsideWorkspace, e.Code);
    }

    [Fact]
    public async Task Write_CreatesParentsOwnedByTheSandboxUser()
    {
        await WriteAsync("a/b/c.txt", "hello");

        foreach (var path in new[] { "a", "a/b", "a/b/c.txt" })
        {
            Assert.Equal(Owner, OwnerOf(path));
        }
        Assert.Equal("hello", File.ReadAllText(Path.Join(_dir, "a/b/c.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(Path.Join(_dir, "a/b/c.txt")));
    }

    [Fact]
    public async Task Write_BeyondTheSizeLimit_IsRefused_AndLeavesTheOldFileAndNoTempFile()
    {
        await WriteAsync("f.txt", "old");

        var e = await Assert.ThrowsAsync<WorkspaceException>(() =>
            _workspace.WriteAsync("f.txt", new MemoryStream(new byte[1000]), new WriteOptions(MaxBytes: 999)));

        Assert.Equal((ErrorCodes.FileTooLarge, 413), (e.Code, e.Status));
        Assert.Equal("old", File.ReadAllText(Path.Join(_dir, "f.txt")));
        Assert.Equal(["f.txt"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Write_ReplacesAtomically_AReaderSeesTheOldOrTheNewFileWhole()
    {
        var a = new string('a', 1 << 20);
        var b = new string('b', 1 << 20);
        await WriteAsync("f.txt", a);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var reader = Task.Factory.StartNew(() =>
        {
            var seen = 0;
            while (!stop.IsCancellationRequested)
            {
                var text = File.ReadAllText(Path.Join(_dir, "f.txt"));
                Assert.True(text == a || text == b, "a reader saw a half-written file");
                seen++;
            }
            return seen;
        }, TaskCreationOptions.LongRunning);

        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            await WriteAsync("f.txt", i % 2 == 0 ? b : a);
        }

        Assert.True(await reader > 10);
    }

    [Fact]
    public async Task Write_WhenTheDiskIsFull_SaysSo_AndLeavesNothingBehind()
    {
        var small = Path.Join(_dir, "small");
        Directory.CreateDirectory(small);
        Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small);
        try
        {
            using var full = new Workspace(small, Owner, Owner);
            var e = await Assert.ThrowsAsync<WorkspaceException>(() =>
                full.WriteAsync("big.bin", new MemoryStream(new byte[4 << 20]), new WriteOptions()));

            Assert.Equal((ErrorCodes.DiskFull, 507), (e.Code, e.Status));
            Assert.Empty(Directory.GetFileSystemEntries(small));
        }
        finally
        {
            Run("umount", small);
        }
    }

    [Fact]
    public void Delete_OfTheRoot_IsRefused_AndOfASymlinkRemovesOnlyTheLink()
    {
        var outside = TestPaths.NewTempDir("hutch-ws-out");
        try
        {
            File.WriteAllText(Path.Join(outside, "keep"), "k");
            File.CreateSymbolicLink(Path.Join(_dir, "link"), outside);

            _workspace.Delete("link", recursive: true);

            Assert.True(File.Exists(Path.Join(outside, "keep")));
            Assert.False(Path.Exists(Path.Join(_dir, "link")));
            Assert.Equal(ErrorCodes.InvalidPath, Assert.Throws<WorkspaceException>(() => _workspace.Delete("/workspace", recursive: true)).Code);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Theory]
    [InlineData("0644", 0x1a4)]
    [InlineData("755", 0x1ed)]
    [InlineData("0o700", 0x1c0)]
    public void Modes_AreOctalText(string text, int bits)
    {
        Assert.Equal(bits, Modes.Parse(text));
        Assert.Equal("0" + text.TrimStart('0', 'o').PadLeft(3, '0'), Modes.Format(bits));
    }

    [Theory]
    [InlineData("rwx")]
    [InlineData("4755")]
    [InlineData("9")]
    public void Modes_ThatAreNotPermissionBits_AreRefused(string text) =>
        Assert.Equal(ErrorCodes.InvalidMode, Assert.Throws<WorkspaceException>(() => Modes.Parse(text)).Code);

    private Task<FileWritten> WriteAsync(string path, string text) =>
        _workspace.WriteAsync(path, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)), new WriteOptions());

    private int OwnerOf(string path)
    {
        var output = RunForOutput("stat", "-c", "%u", Path.Join(_dir, path));
        return int.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Run(params string[] argv) => RunForOutput(argv);

    private static string RunForOutput(params string[] argv)
    {
        using var process = Process.Start(new ProcessStartInfo(argv[0], argv[1..]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', argv)} failed: {process.StandardError.ReadToEnd()}");
        return output;
    }
}
