using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Network;

/// <summary>/v1/sandboxes/{id}/network/…: what the sandbox's connections met; /v1/network/presets: what presets stand for. The policy itself is set at create and by PATCH.</summary>
internal static class NetworkEndpoints
{
    public static void Map(IEndpointRouteBuilder app, NetworkService network)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/network");

        group.MapGet("/events", (string id, long? cursor, bool? follow, HttpContext context) =>
                Ndjson.WriteAsync(context, network.ReadEventsAsync(id, cursor ?? 0, follow ?? false, context.RequestAborted), ApiJsonContext.Default.NetworkEvent))
            .Produces<NetworkEvent>(StatusCodes.Status200OK, "application/x-ndjson")
            .WithSummary("The sandbox's connections as NDJSON from a cursor (default 0): refused when refused, allowed when closed, with the reason and the rule; follow=true waits for more");

        app.MapGet("/v1/network/presets", async () => TypedResults.Json(
                (await network.PresetsAsync()).Select(p => new NetworkPresetInfo(p.Name, [.. p.Entries.Select(e => e.Text)],
                    [.. p.Sources.Select(s => new NetworkPresetSource(s.Tool, s.Url.ToString(), s.From))], [.. p.Notes])).ToArray(),
                ApiJsonContext.Default.NetworkPresetInfoArray))
            .Produces<NetworkPresetInfo[]>()
            .WithSummary("What each network preset stands for on this host: package-registries is read from the host's apt, pip and npm configuration");
    }
}
