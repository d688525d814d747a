using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hutch.Mcp;

/// <summary>One MCP server's options for one session, the same over stdio and HTTP.</summary>
public static class McpServerSetup
{
    public const string ServerName = "hutch";

    /// <summary>What the server tells a client about itself, for the model: when to use which tool.</summary>
    public const string Instructions =
        "Hutch gives you an isolated Linux sandbox to run code in. Tools act on this session's own sandbox unless you " +
        "pass `sandbox`; it is made on first use and kept for a while after the session ends. Paths are relative to " +
        "/workspace. Long outputs are cut to head and tail with a marker saying how to read the rest.";

    /// <summary>Fills <paramref name="options"/> with the tools of <paramref name="session"/>'s profile, and the file resources.</summary>
    public static void Configure(McpServerOptions options, McpSession session, string version)
    {
        options.ServerInfo = new Implementation { Name = ServerName, Version = version };
        options.ServerInstructions = Instructions;
        options.ToolCollection = [.. McpTools.For(session.Settings.Profile, session)];
        if (session.Settings.Profile != McpProfiles.Run)
        {
            options.ResourceCollection = [ResourceLinks.Files(session)];
        }
    }
}
