namespace Hutch.Mcp;

/// <summary>How one MCP server answers; the same for stdio and HTTP.</summary>
/// <param name="Profile">Which tools it offers (<see cref="McpProfiles"/>).</param>
/// <param name="KeepAfter">How long a session's own sandbox outlives the session (a TTL set when it ends); zero deletes it then.</param>
/// <param name="IdleTtl">The TTL a session's sandbox has while the session lives, pushed forward by each call: what bounds it when a client vanishes.</param>
/// <param name="MaxOutputBytes">The most of each output stream (and of a file read) an answer holds; the rest is cut and a cursor given.</param>
public sealed record McpSettings(
    string Profile = McpProfiles.Workspace,
    TimeSpan? KeepAfter = null,
    TimeSpan? IdleTtl = null,
    int MaxOutputBytes = 16 * 1024)
{
    public TimeSpan KeepAfterOrDefault => KeepAfter ?? TimeSpan.FromMinutes(10);

    public TimeSpan IdleTtlOrDefault => IdleTtl ?? TimeSpan.FromHours(1);
}
