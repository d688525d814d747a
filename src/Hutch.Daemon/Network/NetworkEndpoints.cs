using Hutch.Daemon.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Network;

/// <summary>/v1/sandboxes/{id}/network/…: what the sandbox's connections met. The policy itself is set at create and by PATCH.</summary>
internal static class NetworkEndpoints
{
    public static void Map(IEndpointRouteBuilder app, NetworkService network)
    {
        var group = app.MapGroup("/v1/sandboxes/{id}/network");

        group.MapGet("/events", (string id, long? cursor, bool? follow, HttpContext context) =>
                Ndjson.WriteAsync(context, network.ReadEventsAsync(id, cursor ?? 0, follow ?? false, context.RequestAborted), ApiJsonContext.Default.NetworkEvent))
            .Produces<NetworkEvent>(StatusCodes.Status200OK, "application/x-ndjson")
            .WithSummary("The sandbox's connections as NDJSON from a cursor (default 0): refused when refused, allowed when closed, with the reason and the rule; follow=true waits for more");
    }
}
