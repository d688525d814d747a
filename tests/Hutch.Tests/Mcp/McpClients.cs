using Hutch.Tests.Infrastructure;
using ModelContextProtocol.Client;

namespace Hutch.Tests.Mcp;

/// <summary>MCP clients of the official C# SDK, connected to a test daemon: over stdio through `hutch mcp`, or over HTTP to /mcp.</summary>
public static class McpClients
{
    /// <summary>`hutch mcp` (the published CLI, handing over to hutch-engine) talking to <paramref name="fixture"/>'s daemon.</summary>
    public static Task<McpClient> StdioAsync(DaemonFixture fixture, params string[] arguments) =>
        McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "hutch",
            Command = TestPaths.Cli,
            Arguments = ["mcp", .. arguments],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["HUTCH_URL"] = fixture.Daemon.Url,
                ["HUTCH_API_KEY"] = fixture.ApiKey,
                ["HUTCH_AGENT"] = TestPaths.Agent,
            },
        }));

    /// <summary>The daemon's /mcp over streamable HTTP, with its API key as bearer.</summary>
    public static Task<McpClient> HttpAsync(DaemonFixture fixture, string? profile = null) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri($"{fixture.Daemon.Url}/mcp{(profile is null ? "" : $"?profile={profile}")}"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {fixture.ApiKey}" },
        }));
}
