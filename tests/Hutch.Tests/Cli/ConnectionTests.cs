using System.Diagnostics;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>How the CLI finds its daemon: --url and --api-key, a URL alone with the local key, and no silent fall-back from a URL the caller named.</summary>
[Collection(DaemonCollection.Name)]
public class ConnectionTests(DaemonFixture fixture)
{
    private const string Nobody = "http://127.0.0.1:1";

    [Fact]
    public async Task UrlAndApiKeyOptions_ReachTheDaemon_WithNothingInTheEnvironment()
    {
        var empty = TestPaths.NewTempDir("hutch-e");
        try
        {
            var (code, stdout, stderr) = await HutchAsync(new() { ["HUTCH_DATA_DIR"] = empty }, "ls", "--url", fixture.Daemon.Url, "--api-key", fixture.ApiKey);

            Assert.True(code == 0, stderr);
            Assert.StartsWith("ID", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task HutchUrlAlone_TakesTheKeyOfTheDataDir()
    {
        var (code, _, stderr) = await HutchAsync(new() { ["HUTCH_URL"] = fixture.Daemon.Url, ["HUTCH_DATA_DIR"] = fixture.DataDir }, "ls");

        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task AUrlOptionThatDoesNotAnswer_IsAnErrorNamingIt()
    {
        var (code, _, stderr) = await HutchAsync(new() { ["HUTCH_URL"] = fixture.Daemon.Url, ["HUTCH_API_KEY"] = fixture.ApiKey }, "ls", "--url", Nobody);

        Assert.Equal(1, code);
        Assert.Contains("127.0.0.1:1", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Run_WithANamedUrlThatDoesNotAnswer_FailsInsteadOfRunningElsewhere(bool asOption)
    {
        var dataDir = TestPaths.NewTempDir("hutch-c");
        try
        {
            var env = new Dictionary<string, string> { ["HUTCH_DATA_DIR"] = dataDir, ["HUTCH_API_KEY"] = "k" };
            string[] args = asOption ? ["run", "--url", Nobody, "--", "echo", "ran"] : ["run", "--", "echo", "ran"];
            if (!asOption)
            {
                env["HUTCH_URL"] = Nobody;
            }

            var (code, stdout, stderr) = await HutchAsync(env, args);

            Assert.Equal((1, ""), (code, stdout));
            Assert.Contains("127.0.0.1:1", stderr, StringComparison.Ordinal);
            Assert.Contains(asOption ? "--url" : "HUTCH_URL", stderr, StringComparison.Ordinal);
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> HutchAsync(Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        foreach (var name in new[] { "HUTCH_URL", "HUTCH_API_KEY", "HUTCH_DATA_DIR" })
        {
            psi.Environment.Remove(name);
        }
        foreach (var (name, value) in env)
        {
            psi.Environment[name] = value;
        }
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
