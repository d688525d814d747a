using System.Runtime.CompilerServices;
using Hutch.Client;
using Hutch.Mcp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace Hutch.Daemon.Mcp;

/// <summary>
/// The MCP server over streamable HTTP at <c>/mcp</c> (docs/mcp.md): the API key as bearer, checked
/// by the daemon's middleware as on every route; the profile from <c>?profile=</c>; one
/// <see cref="McpSession"/> (and so one sandbox) per MCP session. Its tools call this daemon's own
/// API over loopback with the caller's key, so an MCP call is redacted, limited and logged as the
/// same call made directly.
/// </summary>
public static class McpEndpoints
{
    public const string Route = "/mcp";

    /// <summary>Each session's <see cref="McpSession"/>, found again when the session ends.</summary>
    private static readonly ConditionalWeakTable<McpServerOptions, McpSession> Sessions = [];

    public static void AddMcp(IServiceCollection services, Func<string> ownUrl, string version) =>
        services.AddMcpServer().WithHttpTransport(http =>
        {
            // A sandbox per session needs sessions: the protocol's stateless mode would make one per request.
            http.SessionMode = HttpServerSessionMode.Stateful;
            http.ConfigureSessionOptions = (context, options, _) =>
            {
                // Both checked by Map's filter first.
                var profile = McpProfiles.Parse(context.Request.Query["profile"]) ?? McpProfiles.Workspace;
                var keepAfter = KeepAfter(context.Request.Query["keepAfter"]);
                var client = new HutchClient(new Uri(ownUrl()), Bearer(context.Request.Headers.Authorization));
                var session = new McpSession(client, new McpSettings(profile, keepAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : null));
                McpServerSetup.Configure(options, session, version);
                Sessions.AddOrUpdate(options, session);
                return Task.CompletedTask;
            };
            // The one hook that sees a session end (closed by its client, or pruned when idle): there its
            // sandbox's TTL is cut to keepAfter. Experimental in the SDK; the version is pinned.
#pragma warning disable MCPEXP002
            http.RunSessionHandler = async (_, server, cancellationToken) =>
            {
                try
                {
                    await server.RunAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (Sessions.TryGetValue(server.ServerOptions, out var session))
                    {
                        await session.DisposeAsync().ConfigureAwait(false);
                        session.Client.Dispose();
                    }
                }
            };
#pragma warning restore MCPEXP002
        });

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMcp(Route).AddEndpointFilter(async (context, next) =>
        {
            var profile = context.HttpContext.Request.Query["profile"].ToString();
            if (profile.Length > 0 && McpProfiles.Parse(profile) is null)
            {
                throw new HutchException(Hutch.Protocol.Api.ErrorCodes.InvalidQuery,
                    $"profile '{profile}' is not one of {string.Join(", ", McpProfiles.All)}: /mcp?profile=workspace, say");
            }
            var keepAfter = context.HttpContext.Request.Query["keepAfter"].ToString();
            if (keepAfter.Length > 0 && KeepAfter(keepAfter) is null)
            {
                throw new HutchException(Hutch.Protocol.Api.ErrorCodes.InvalidQuery,
                    $"keepAfter '{keepAfter}' is not 0-{MaxKeepAfterSeconds} seconds: how long a session's sandbox stays after the session ends (default 600)");
            }
            return await next(context).ConfigureAwait(false);
        });

    /// <summary>The most a session's sandbox may outlive it through ?keepAfter=: a day.</summary>
    public const int MaxKeepAfterSeconds = 86_400;

    private static int? KeepAfter(string? text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds <= MaxKeepAfterSeconds ? seconds : null;

    private static string Bearer(string? authorization) =>
        authorization is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : "";
}
