using Hutch.Mcp;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Mcp;

/// <summary>docs/mcp.md lists each profile's tools as the code builds them: refresh with HUTCH_UPDATE_MCP_DOCS=1 and this test.</summary>
public sealed class McpToolsDocTests
{
    private const string Begin = "<!-- tools:begin (generated: HUTCH_UPDATE_MCP_DOCS=1 dotnet test --filter McpToolsDocTests) -->\n";
    private const string End = "<!-- tools:end -->";

    [Fact]
    public void TheToolListInTheDocs_IsTheOneTheCodeBuilds()
    {
        var path = Path.Join(TestPaths.RepoRoot, "docs", "mcp.md");
        var page = File.ReadAllText(path);
        var start = page.IndexOf(Begin, StringComparison.Ordinal);
        var end = page.IndexOf(End, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"docs/mcp.md has no tools:begin/tools:end markers");
        var listed = page[(start + Begin.Length)..end];
        var built = McpToolList.Markdown();

        if (Environment.GetEnvironmentVariable("HUTCH_UPDATE_MCP_DOCS") == "1")
        {
            File.WriteAllText(path, page[..(start + Begin.Length)] + built + page[end..]);
            return;
        }
        Assert.True(listed == built, "docs/mcp.md's tool list differs from the code's: run this test with HUTCH_UPDATE_MCP_DOCS=1 and commit the page");
    }

    /// <summary>`hutch mcp --profile` names the profiles itself (the NativeAOT CLI does not reference Hutch.Mcp): the same list.</summary>
    [Fact]
    public void TheCliOffersTheProfilesTheServerHas() =>
        Assert.Equal(McpProfiles.All, Hutch.Cli.Commands.McpCommand.Profiles);
}
