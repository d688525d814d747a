using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Security invariant 4 attacked through the files API: paths and symlinks that lead out of the
/// workspace, and a process inside the sandbox racing the API by swapping a directory for a symlink.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class FileApiAttackTests(DaemonFixture fixture) : IDisposable
{
    private readonly string _canary = TestPaths.NewTempDir("hutch-canary");

    private HutchClient Client => fixture.Client;

    public void Dispose() => Directory.Delete(_canary, recursive: true);

    [Theory]
    [InlineData("../escape.txt")]
    [InlineData("a/../../escape.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("/tmp/x")]
    [InlineData("/workspace/../etc/passwd")]
    public async Task PathsOutsideTheWorkspace_AreRefused_WithHowToWriteThem(string path)
    {
        await using var sandbox = await fixture.CreateAsync();

        var read = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadFileAsync(sandbox.Id, path));
        var write = await Assert.ThrowsAsync<HutchApiException>(() => Client.WriteTextAsync(sandbox.Id, path, "x"));

        Assert.All([read, write], e => Assert.Equal((ErrorCodes.PathOutsideWorkspace, 400), (e.Code, e.Status)));
        Assert.Contains("/workspace/src/a.py", read.Message);
    }

    [Fact]
    public async Task SymlinksPlantedInside_CannotLeadTheApiToHostFiles()
    {
        await using var sandbox = await fixture.CreateAsync();
        File.WriteAllText(Path.Join(_canary, "secret"), "HOST SECRET");
        await sandbox.ShAsync($"ln -s {_canary}/secret abs && ln -s ../../../../../../../../{_canary}/secret rel && ln -s {_canary} dir && ln -s / root");

        foreach (var path in new[] { "abs", "rel", "dir/secret", "root/etc/hostname" })
        {
            var read = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadFileAsync(sandbox.Id, path));
            Assert.Equal(ErrorCodes.PathOutsideWorkspace, read.Code);
        }
        foreach (var path in new[] { "dir/planted", "root/tmp/planted" })
        {
            var write = await Assert.ThrowsAsync<HutchApiException>(() => Client.WriteTextAsync(sandbox.Id, path, "x"));
            Assert.Equal(ErrorCodes.PathThroughSymlink, write.Code);
        }
        var list = await Assert.ThrowsAsync<HutchApiException>(() => Client.ListFilesAsync(sandbox.Id, "dir"));
        Assert.Equal(ErrorCodes.PathOutsideWorkspace, list.Code);
        Assert.Equal(["secret"], Directory.GetFileSystemEntries(_canary).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WritingOverASymlink_ReplacesTheLink_NotItsTarget()
    {
        await using var sandbox = await fixture.CreateAsync();
        File.WriteAllText(Path.Join(_canary, "target"), "untouched");
        await sandbox.ShAsync($"ln -s {_canary}/target link");

        await Client.WriteTextAsync(sandbox.Id, "link", "replaced");
        await Client.DeleteFileAsync(sandbox.Id, "link");

        Assert.Equal("untouched", File.ReadAllText(Path.Join(_canary, "target")));
    }

    [Fact]
    public async Task ASymlinkSwapRaceInside_NeverMakesTheApiReadOrWriteAHostFile()
    {
        await using var sandbox = await fixture.CreateAsync();
        File.WriteAllText(Path.Join(_canary, "secret"), "HOST SECRET");
        // Inside: swap "d" between a real directory (holding a file) and a symlink to the host canary, as fast as possible.
        var racer = Client.ExecAsync(sandbox.Id, new ExecRequest(Command:
            $"end=$(($(date +%s) + 6)); while [ $(date +%s) -lt $end ]; do rm -rf d; mkdir d; echo inside > d/secret; rm -rf d; ln -s {_canary} d; done; echo raced",
            TimeoutMs: 30_000));

        var attempts = 0;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            attempts++;
            try
            {
                // Empty when read between the shell's create and its write: still the sandbox's own file.
                var text = await Client.ReadTextAsync(sandbox.Id, "d/secret");
                Assert.Contains(text, new[] { "", "inside\n" });
            }
            catch (HutchApiException e) when (e.Code is ErrorCodes.PathOutsideWorkspace or ErrorCodes.PathNotFound or ErrorCodes.NotADirectory)
            {
            }
            try
            {
                await Client.WriteFileAsync(sandbox.Id, new WriteFileRequest($"d/planted-{attempts}", "pwned", CreateParents: false));
            }
            catch (HutchApiException e) when (e.Code is ErrorCodes.PathThroughSymlink or ErrorCodes.PathNotFound or ErrorCodes.NotADirectory)
            {
            }
            try
            {
                await Client.ListFilesAsync(sandbox.Id, "d", recursive: true);
            }
            catch (HutchApiException e) when (e.Code is ErrorCodes.PathOutsideWorkspace or ErrorCodes.PathNotFound or ErrorCodes.NotADirectory)
            {
            }
        }

        Assert.Equal("raced\n", (await racer).Stdout);
        Assert.True(attempts > 50, $"only {attempts} attempts: the race was not exercised");
        Assert.Equal(["secret"], Directory.GetFileSystemEntries(_canary).Select(Path.GetFileName));
        Assert.Equal("HOST SECRET", File.ReadAllText(Path.Join(_canary, "secret")));
    }
}
