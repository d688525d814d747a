using System.Text.Json;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Mcp;

/// <summary>
/// A client we did not write: the official MCP TypeScript SDK's (npm, eng/npm-tools), run with node,
/// drives `hutch mcp` over stdio and the daemon's /mcp over HTTP (ts/mcp-client.mjs says what it does).
/// </summary>
public sealed class McpTypeScriptClientTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task TheTypeScriptClient_ListsRunsReadsCutsCancelsAndReadsErrors(string transport)
    {
        var seen = await RunClientAsync(transport);

        Assert.Equal(["run"], Strings(seen, "runTools"));
        Assert.Equal(["exec", "output", "read", "write", "ls", "search", "patch", "checkpoint", "diff", "reset", "create", "sandboxes", "delete"], Strings(seen, "workspaceTools"));
        Assert.True(seen.GetProperty("everyToolHasSchemas").GetBoolean());
        var ran = seen.GetProperty("runResult");
        Assert.Equal((3, "ran\n", "oops\n"), (ran.GetProperty("exitCode").GetInt32(), ran.GetProperty("stdout").GetString(), ran.GetProperty("stderr").GetString()));
        Assert.Equal("hello from node\n", seen.GetProperty("exec").GetProperty("stdout").GetString());
        Assert.Equal(seen.GetProperty("sandbox").GetString(), seen.GetProperty("exec").GetProperty("sandbox").GetString());
        Assert.Equal("print('hello from node')\n", seen.GetProperty("read").GetString());
        var all = string.Join('\n', Enumerable.Range(1, 200000)) + "\n";
        var big = seen.GetProperty("big");
        var headEnd = big.GetProperty("headEnd").GetInt32();
        Assert.Equal(all.Length, big.GetProperty("stdoutBytes").GetInt64());
        Assert.True(big.GetProperty("shownChars").GetInt32() < 20_000);
        Assert.Equal("199999\n200000\n", big.GetProperty("endsWith").GetString());
        Assert.Equal(all.Substring(headEnd + 1, 64), seen.GetProperty("bigRest").GetString());
        Assert.True(seen.GetProperty("progressNotifications").GetInt32() >= 2, $"progress notifications: {seen.GetProperty("progressNotifications")}");
        Assert.True(seen.GetProperty("error").GetProperty("isError").GetBoolean());
        Assert.StartsWith("path_not_found: ", seen.GetProperty("error").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("rejected", seen.GetProperty("cancelledCall").GetString()); // the aborted call never answers
        Assert.True(seen.GetProperty("killedAfterCancel").GetBoolean(), "the command still ran after its call was aborted");
    }

    private async Task<JsonElement> RunClientAsync(string transport)
    {
        var tools = await NpmTools.DirectoryAsync();
        var script = Path.Join(tools, "mcp-client.mjs");
        File.Copy(Path.Join(TestPaths.RepoRoot, "tests", "Hutch.Tests", "Mcp", "ts", "mcp-client.mjs"), script, overwrite: true);
        var node = await ToolProcess.RunAsync("node", [script, transport], tools, TimeSpan.FromMinutes(2), new Dictionary<string, string>
        {
            ["HUTCH_CLI"] = TestPaths.Cli,
            ["HUTCH_URL"] = fixture.Daemon.Url,
            ["HUTCH_API_KEY"] = fixture.ApiKey,
            ["HUTCH_AGENT"] = TestPaths.Agent,
        });
        Assert.True(node.Code == 0, node.Describe($"node mcp-client.mjs {transport}"));
        return JsonDocument.Parse(node.Stdout).RootElement;
    }

    private static string[] Strings(JsonElement seen, string name) => [.. seen.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];
}
