using System.CommandLine;
using Hutch.Cli.Engines;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch mcp`: an MCP server over stdio (docs/mcp.md), for Claude Code, Cursor and any MCP client.
/// It talks to the running daemon; when none answers, it runs one in its own process. hutch-engine
/// serves it (the MCP SDK is not trimmed into the NativeAOT `hutch`).
/// </summary>
internal static class McpCommand
{
    /// <summary>The profiles, as docs/mcp.md and the MCP library name them (the library is hutch-engine's, not ours to reference here).</summary>
    public static readonly string[] Profiles = ["run", "workspace", "full"];

    public static Command Create(IEngineHost engine)
    {
        var profile = new Option<string>("--profile")
        {
            Description = "Which tools to offer: run (one tool: a command in a fresh sandbox), workspace (default: a sandbox per session, commands, files, checkpoints), full (and processes, services, shells, ports, network)",
            HelpName = "PROFILE",
            DefaultValueFactory = _ => "workspace",
        };
        profile.AcceptOnlyFromAmong(Profiles);
        var keepAfter = new Option<long?>("--keep-after")
        {
            Description = "How long a session's sandbox is kept after the session ends, e.g. 10m (default), 1h, 0 (deleted at once)",
            HelpName = "DURATION",
            CustomParser = result => Durations.Parse(result, "--keep-after"),
        };
        var maxOutput = new Option<int?>("--max-output")
        {
            Description = "Bytes of each output stream (and of a file read) an answer holds before it is cut to head and tail (default 16384)",
            HelpName = "BYTES",
        };
        var command = new Command("mcp", "Serve Hutch's tools to an MCP client over stdio: hutch mcp --profile workspace") { profile, keepAfter, maxOutput };
        command.Validators.Add(result =>
        {
            if (result.GetValue(maxOutput) is { } bytes && bytes is < 1024 or > 1 << 20)
            {
                result.AddError($"--max-output is 1024-1048576 bytes, not {bytes}");
            }
        });
        command.SetAction((parse, cancellationToken) => engine.ServeMcpAsync(
            new McpStart(parse.GetValue(profile)!, parse.GetValue(keepAfter) is { } s ? TimeSpan.FromSeconds(s) : null, parse.GetValue(maxOutput)),
            cancellationToken));
        return command;
    }
}
