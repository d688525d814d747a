using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// The attack review's 500s: requests bigger or deeper than the kernel takes, and deletes that race.
/// Each is a 4xx with a stable code (or just works), and nothing is made or left half done.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class OversizedRequestAttackTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    /// <summary>25 names of 200 bytes: each name is fine, the path (5,024 bytes) is past PATH_MAX.</summary>
    private static readonly string LongPath = string.Join('/', Enumerable.Repeat(new string('a', 200), 25));

    [Fact]
    public async Task APathOver4096Bytes_IsNameTooLong_ForEveryFileCall_AndNothingIsMade()
    {
        await using var sandbox = await fixture.CreateAsync();

        Task[] calls =
        [
            Client.WriteTextAsync(sandbox.Id, LongPath, "x"),
            Client.UploadAsync(sandbox.Id, LongPath, new MemoryStream([1, 2, 3])),
            Client.MakeDirectoryAsync(sandbox.Id, LongPath),
            Client.StatAsync(sandbox.Id, LongPath),
            Client.ReadTextAsync(sandbox.Id, LongPath),
            Client.MoveAsync(sandbox.Id, "nothing", LongPath),
            Client.DeleteFileAsync(sandbox.Id, LongPath, recursive: true),
        ];
        foreach (var call in calls)
        {
            var e = await Assert.ThrowsAsync<HutchApiException>(() => call);
            Assert.Equal((400, ErrorCodes.NameTooLong), (e.Status, e.Code));
        }
        Assert.Empty((await Client.ListFilesAsync(sandbox.Id)).Entries);
    }

    [Fact]
    public async Task APathJustUnderTheLimit_Works()
    {
        await using var sandbox = await fixture.CreateAsync();
        // "/workspace/" (11 bytes) + 21 names of 190 and their slashes + a last name: 4,095 bytes in all.
        var path = string.Join('/', Enumerable.Repeat(new string('b', 190), 21)) + "/" + new string('c', 4095 - 11 - 21 * 191);

        await Client.WriteTextAsync(sandbox.Id, path, "deep");

        Assert.Equal("deep", await Client.ReadTextAsync(sandbox.Id, path));
    }

    [Fact]
    public async Task AnEnvValueOfOneMiB_IsCommandTooLong_AtCreateAndAtExec()
    {
        var big = new Dictionary<string, string> { ["BIG"] = new string('x', 1 << 20) };
        var before = (await Client.ListSandboxesAsync()).Count;

        var create = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Env: big)));
        Assert.Equal((400, ErrorCodes.CommandTooLong), (create.Status, create.Code));
        Assert.Contains("env.BIG", create.Detail);
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Count);

        await using var sandbox = await fixture.CreateAsync();
        var exec = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Env: big)));
        Assert.Equal((400, ErrorCodes.CommandTooLong), (exec.Status, exec.Code));
        var process = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true", Env: big)));
        Assert.Equal((400, ErrorCodes.CommandTooLong), (process.Status, process.Code));
    }

    [Fact]
    public async Task TwentyThousandEnvKeys_WorkWithinTheBudget_AndPastItAreCommandTooLong()
    {
        var many = Enumerable.Range(0, 20_000).ToDictionary(i => $"K{i}", _ => "v");
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Env: many));

        var count = await sandbox.ShAsync("env | grep -c '^K[0-9]*=v$'");
        Assert.Equal("20000\n", count.Stdout);

        var tooMany = Enumerable.Range(0, 20_000).ToDictionary(i => $"K{i}", _ => new string('v', 20));
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Env: tooMany)));
        Assert.Equal((400, ErrorCodes.CommandTooLong), (e.Status, e.Code));
    }

    [Fact]
    public async Task AnArgumentPastTheKernelsLimit_IsCommandTooLong_NotASpawnFailure_WhileSuchAShellLineRuns()
    {
        await using var sandbox = await fixture.CreateAsync();
        var line = "echo " + new string('y', 200_000);

        // A shell line goes to the sandbox as a script (docs/exec.md#sizes), not as an argument.
        var command = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: line + " | wc -c"));
        Assert.Equal("200001\n", command.Stdout);
        var argv = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["echo", new string('y', 200_000)])));
        var manyArgs = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["true", .. Enumerable.Repeat(new string('z', 100_000), 12)])));

        foreach (var e in new[] { argv, manyArgs })
        {
            Assert.Equal((400, ErrorCodes.CommandTooLong), (e.Status, e.Code));
            Assert.Contains("stdin", e.Detail);
        }
    }

    [Fact]
    public async Task ATree20000Deep_IsDeletedByTheFilesApi_AndBySandboxDelete_LeavingNothingOnTheHost()
    {
        var sandbox = await fixture.CreateAsync();
        await BuildDeepTreeAsync(sandbox, "deep");

        await Client.DeleteFileAsync(sandbox.Id, "deep", recursive: true);
        Assert.Empty((await Client.ListFilesAsync(sandbox.Id)).Entries);

        await BuildDeepTreeAsync(sandbox, "again");
        await Client.DeleteSandboxAsync(sandbox.Id);

        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "workspaces", sandbox.Id)), "the sandbox's workspace stayed on the host");
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, "true"));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task ParallelDeletesOfOneSandbox_AllSucceed_AndItIsGone()
    {
        var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("sleep 600 & sleep 600 & echo started");

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => Client.DeleteSandboxAsync(sandbox.Id))));

        Assert.DoesNotContain(sandbox.Id, (await Client.ListSandboxesAsync()).Select(s => s.Id));
        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "workspaces", sandbox.Id)));
        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "runc", sandbox.Id)));
    }

    /// <summary>Nests directories 20,000 deep (far past PATH_MAX, by chdir) with a file at the bottom.</summary>
    private static async Task BuildDeepTreeAsync(TestSandbox sandbox, string top)
    {
        var built = await sandbox.PythonAsync($"""
            import os
            os.mkdir("{top}"); os.chdir("{top}")
            for i in range(20000):
                os.mkdir("d"); os.chdir("d")
            open("f", "w").write("x")
            print("built")
            """, timeoutMs: 120_000);
        Assert.Equal("built\n", built.Stdout);
    }
}
