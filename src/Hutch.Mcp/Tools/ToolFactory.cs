using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>What a tool does to its world, as MCP's annotations say it (clients ask before destructive ones).</summary>
internal sealed record ToolHints(bool ReadOnly, bool Destructive, bool Idempotent, bool OpenWorld)
{
    /// <summary>Reads a sandbox, changes nothing.</summary>
    public static ToolHints Reads { get; } = new(true, false, true, false);

    /// <summary>Runs a command: anything may happen inside the sandbox, and through its network.</summary>
    public static ToolHints Runs { get; } = new(false, true, false, true);

    /// <summary>Writes or adds, replacing nothing that cannot be had again.</summary>
    public static ToolHints Adds { get; } = new(false, false, false, false);

    /// <summary>Replaces or deletes what was there.</summary>
    public static ToolHints Replaces { get; } = new(false, true, true, false);
}

/// <summary>A tool from a delegate whose parameters are its input schema and whose answers are <typeparamref name="TAnswer"/>.</summary>
internal static class ToolFactory
{
    /// <summary>What every tool's optional `sandbox` argument says.</summary>
    public const string SandboxArgument = "The sandbox's id or name; leave out to use this session's own";

    public static McpServerTool Create<TAnswer>(string name, string title, string description, ToolHints hints, Delegate body) =>
        McpServerTool.Create(body, new McpServerToolCreateOptions
        {
            Name = name,
            Title = title,
            Description = description,
            ReadOnly = hints.ReadOnly,
            Destructive = hints.Destructive,
            Idempotent = hints.Idempotent,
            OpenWorld = hints.OpenWorld,
            UseStructuredContent = true,
            OutputSchema = Answers.SchemaOf<TAnswer>(),
            SerializerOptions = Answers.Json,
        });
}
