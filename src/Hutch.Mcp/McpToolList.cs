using System.Text;
using System.Text.Json;
using Hutch.Client;
using ModelContextProtocol.Protocol;

namespace Hutch.Mcp;

/// <summary>
/// The tools of every profile as docs/mcp.md lists them: rendered from the tools themselves, so the
/// page cannot drift from the code (McpToolsDocTests compares them).
/// </summary>
public static class McpToolList
{
    public static string Markdown()
    {
        // Tools are only built here, never called: the client points nowhere.
        using var client = new HutchClient(new Uri("http://127.0.0.1:1"), "unused");
        var session = new McpSession(client, new McpSettings());
        var text = new StringBuilder();
        foreach (var profile in McpProfiles.All)
        {
            var tools = McpTools.For(profile, session).Select(t => t.ProtocolTool).ToList();
            text.Append($"### `{profile}` ({tools.Count} tool{(tools.Count == 1 ? "" : "s")})\n\n");
            text.Append("| tool | what it does | arguments | hints |\n| --- | --- | --- | --- |\n");
            foreach (var tool in tools)
            {
                text.Append($"| `{tool.Name}` | {Cell(tool.Description)} | {Arguments(tool.InputSchema)} | {Hints(tool.Annotations)} |\n");
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static string Arguments(JsonElement schema)
    {
        var required = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(e => e.GetString()).ToHashSet() : [];
        var names = schema.GetProperty("properties").EnumerateObject().Select(p => required.Contains(p.Name) ? $"`{p.Name}`" : $"`{p.Name}`?");
        return string.Join(", ", names) is { Length: > 0 } list ? list : "none";
    }

    private static string Hints(ToolAnnotations? a) => a is null ? "" : string.Join(", ", new[]
    {
        a.ReadOnlyHint == true ? "read-only" : null,
        a.DestructiveHint == true && a.ReadOnlyHint != true ? "destructive" : null,
        a.IdempotentHint == true ? "idempotent" : null,
        a.OpenWorldHint == true ? "open-world" : null,
    }.OfType<string>());

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
