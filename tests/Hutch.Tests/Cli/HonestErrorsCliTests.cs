using System.Net;
using System.Text;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>What the CLI and the API say when something is already done, in use, or asked wrong.</summary>
[Collection(DaemonCollection.Name)]
public sealed class HonestErrorsCliTests(DaemonFixture fixture)
{
    [Fact]
    public async Task RmByName_Twice_SucceedsBothTimes_AsByIdDoes()
    {
        await fixture.Client.CreateSandboxAsync(new CreateSandboxRequest(Name: "twice"));
        var other = (await fixture.Client.CreateSandboxAsync()).Id;

        var first = await HutchAsync("rm", "twice");
        var second = await HutchAsync("rm", "twice");
        await HutchAsync("rm", other);
        var secondById = await HutchAsync("rm", other);

        Assert.Equal((0, "twice\n", ""), (first.Code, first.Stdout, first.Stderr));
        Assert.Equal((0, "twice\n", ""), (second.Code, second.Stdout, second.Stderr));
        Assert.Equal((0, other + "\n", ""), (secondById.Code, secondById.Stdout, secondById.Stderr));
    }

    [Fact]
    public async Task RmByAName_NeverUsed_IsStillNotFound()
    {
        var rm = await HutchAsync("rm", "never-was-a-sandbox");

        Assert.Equal(1, rm.Code);
        Assert.Contains("(sandbox_not_found)", rm.Stderr);
    }

    [Fact]
    public async Task FsRm_OfADirectoryThatIsNotEmpty_SaysTheCliFlag_AndTheApiSaysItsParameter()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir -p full && touch full/a");

        var rm = await HutchAsync("fs", "rm", sandbox.Id, "full");
        using var http = fixture.RawHttp();
        var problem = await DaemonFixture.ProblemOf(await http.DeleteAsync($"/v1/sandboxes/{sandbox.Id}/files?path=full"));

        Assert.Equal(1, rm.Code);
        Assert.Contains("--recursive", rm.Stderr);
        Assert.DoesNotContain("recursive=true", rm.Stderr);
        Assert.Equal(ErrorCodes.DirectoryNotEmpty, problem.Code);
        Assert.Contains("?recursive=true", problem.Detail);
        Assert.DoesNotContain("--recursive", problem.Detail);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1000001")]
    public async Task FilesList_WithALimitOutOfRange_Is400_NamingTheLimit(string limit)
    {
        await using var sandbox = await fixture.CreateAsync();
        using var http = fixture.RawHttp();

        var response = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/files/list?limit={limit}");
        var problem = await DaemonFixture.ProblemOf(response);

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidLimit), (response.StatusCode, problem.Code));
        Assert.Contains("limit", problem.Detail);
    }

    [Fact]
    public async Task ASecondDaemon_OnTheSameDataDir_RefusesToStart_AndLeavesTheFirstOnesSandboxesAlone()
    {
        await using var sandbox = await fixture.CreateAsync();

        var second = await HutchAsync("serve", "--data-dir", fixture.DataDir, "--url", $"http://127.0.0.1:{FreePort()}");
        var still = await sandbox.ShAsync("echo alive");

        Assert.Equal(1, second.Code);
        Assert.Equal("", second.Stdout);
        var line = Assert.Single(second.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(fixture.DataDir, line);
        Assert.EndsWith("(data_dir_in_use)", line);
        Assert.Equal("alive\n", still.Stdout);
        Assert.Equal(SandboxStates.Running, (await fixture.Client.GetSandboxAsync(sandbox.Id)).State);
    }

    [Fact]
    public async Task Serve_OnABusyPort_SaysSoInOneLine_AndExits1()
    {
        var dataDir = TestPaths.NewTempDir("hutch-busy");
        try
        {
            var serve = await HutchAsync("serve", "--data-dir", dataDir, "--url", fixture.Daemon.Url);

            Assert.Equal(1, serve.Code);
            Assert.Equal("", serve.Stdout);
            var line = Assert.Single(serve.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(fixture.Daemon.Url, line);
            Assert.Contains("--url", line);
            Assert.EndsWith("(address_in_use)", line);
            Assert.DoesNotContain("   at ", serve.Stderr + serve.Stdout);
            Assert.DoesNotContain("Exception", serve.Stderr + serve.Stdout);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dataDir)); // refused before it made anything there
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private async Task<(int Code, string Stdout, string Stderr)> HutchAsync(params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, args);
        return (code, Encoding.UTF8.GetString(stdout), stderr);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
