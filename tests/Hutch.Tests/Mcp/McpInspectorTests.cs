using System.Text.Json;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Mcp;

/// <summary>The MCP Inspector's CLI mode (npm, eng/npm-tools) lists the tools of `hutch mcp` and of /mcp without errors.</summary>
public sealed class McpInspectorTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task TheInspectorsCli_ListsTheTools(string transport)
    {
        var tools = await NpmTools.DirectoryAsync();
        var catalog = TestPaths.NewTempDir("hutch-inspector");
        try
        {
            string[] target = transport == "stdio"
                ? ["-e", $"HUTCH_URL={fixture.Daemon.Url}", "-e", $"HUTCH_API_KEY={fixture.ApiKey}", "-e", $"HUTCH_AGENT={TestPaths.Agent}",
                    "--method", "tools/list", TestPaths.Cli, "mcp"]
                : ["--method", "tools/list", "--transport", "http", "--server-url", $"{fixture.Daemon.Url}/mcp", "--header", $"Authorization: Bearer {fixture.ApiKey}"]; // --header takes every word after it
            var inspector = await ToolProcess.RunAsync(Path.Join(tools, "node_modules", ".bin", "mcp-inspector"), ["--cli", .. target], catalog,
                TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["MCP_CATALOG_PATH"] = Path.Join(catalog, "catalog.json"), ["MCP_INSPECTOR_SECRET_STORE"] = "memory" });

            Assert.True(inspector.Code == 0, inspector.Describe($"mcp-inspector --cli ({transport})"));
            var listed = JsonDocument.Parse(inspector.Stdout).RootElement.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
            Assert.Equal(13, listed.Count);
            Assert.Contains("exec", listed);
        }
        finally
        {
            Directory.Delete(catalog, recursive: true);
        }
    }
}
