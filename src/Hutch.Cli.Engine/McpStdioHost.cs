using Hutch.Cli.Engines;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Mcp;
using ModelContextProtocol.Server;

namespace Hutch.Cli.Engine;

/// <summary>
/// `hutch mcp`: the MCP server on stdin and stdout, for one client session. It talks to the daemon
/// that is said to run and answers; when none does, it runs one in this process for as long as the
/// session lasts (its sandboxes stay, bounded by their TTLs, for the next daemon on that data dir).
/// </summary>
internal static class McpStdioHost
{
    public static async Task<int> RunAsync(McpStart start, CancellationToken cancellationToken)
    {
        // stdout carries the protocol: whatever else would print there (the in-process daemon's log) goes to stderr.
        Console.SetOut(Console.Error);
        var client = await EngineChooser.DaemonClientAsync(cancellationToken).ConfigureAwait(false);
        RunningDaemon? daemon = null;
        try
        {
            if (client is null)
            {
                var options = new HutchOptions();
                daemon = await DaemonHost.StartAsync(options, Console.Error, cancellationToken).ConfigureAwait(false);
                client = HutchClient.FromEnvironment(options.DataDir);
            }
            var settings = new McpSettings(start.Profile, start.KeepAfter, MaxOutputBytes: start.MaxOutputBytes ?? 16 * 1024);
            await using var session = new McpSession(client, settings);
            var serverOptions = new McpServerOptions();
            McpServerSetup.Configure(serverOptions, session, typeof(McpStdioHost).Assembly.GetName().Version?.ToString(3) ?? "0.1.0");
            await using var transport = new StdioServerTransport(serverOptions);
            await using var server = McpServer.Create(transport, serverOptions);
            await server.RunAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        finally
        {
            client?.Dispose();
            if (daemon is not null)
            {
                await daemon.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
