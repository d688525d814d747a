using Hutch.Mcp.Tools;
using ModelContextProtocol.Server;

namespace Hutch.Mcp;

/// <summary>The tools of each profile (docs/mcp.md lists them, generated from here), bound to one session.</summary>
public static class McpTools
{
    public static IReadOnlyList<McpServerTool> For(string profile, McpSession session) => profile switch
    {
        McpProfiles.Run => [ExecTools.Run(session)],
        McpProfiles.Workspace => Workspace(session),
        McpProfiles.Full => [.. Workspace(session), .. LongRunning(session)],
        _ => throw new ArgumentException($"unknown profile '{profile}'", nameof(profile)),
    };

    private static List<McpServerTool> Workspace(McpSession session) =>
    [
        ExecTools.Exec(session),
        ExecTools.Output(session),
        FileTools.Read(session),
        FileTools.Write(session),
        FileTools.List(session),
        SearchTool.Create(session),
        WorkspaceTools.Patch(session),
        WorkspaceTools.Checkpoint(session),
        WorkspaceTools.Diff(session),
        WorkspaceTools.Reset(session),
        SandboxTools.Create(session),
        SandboxTools.List(session),
        SandboxTools.Delete(session),
    ];

    private static List<McpServerTool> LongRunning(McpSession session) =>
    [
        ProcessTools.Start(session),
        ProcessTools.Logs(session),
        ProcessTools.Kill(session),
        ProcessTools.List(session),
        ShellTools.Open(session),
        ShellTools.Type(session),
        ShellTools.Screen(session),
        ServiceTools.Service(session),
        ServiceTools.Port(session),
        NetworkTools.Network(session),
        NetworkTools.Events(session),
    ];
}
