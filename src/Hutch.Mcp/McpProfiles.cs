namespace Hutch.Mcp;

/// <summary>
/// The tool sets a server starts with (docs/mcp.md): one tool for one-off commands, the workspace
/// tools a coding agent needs, or those and everything long-running.
/// </summary>
public static class McpProfiles
{
    /// <summary>One tool: a command in a fresh sandbox, deleted after.</summary>
    public const string Run = "run";

    /// <summary>The default: a sandbox per session, commands, files and checkpoints.</summary>
    public const string Workspace = "workspace";

    /// <summary>The workspace's tools and background processes, services, shells, ports and network.</summary>
    public const string Full = "full";

    public static IReadOnlyList<string> All { get; } = [Run, Workspace, Full];

    /// <summary>The profile named, or null when the name is none of <see cref="All"/>.</summary>
    public static string? Parse(string? name) => All.FirstOrDefault(p => p == (name ?? Workspace));
}
