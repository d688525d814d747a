using Microsoft.AspNetCore.Builder;

namespace Hutch.Daemon.Http.Limits;

/// <summary>
/// Which budget of the rate limiting middleware an endpoint's requests draw on (docs/http-api.md#limits).
/// Commands are counted by <see cref="CommandSlots"/> instead; endpoints without either are not limited.
/// </summary>
internal enum RequestLimit
{
    /// <summary>A sandbox create: counted while it is in flight.</summary>
    Create,

    /// <summary>A terminal resize: a rate, since each one is a round trip to the agent and a SIGWINCH.</summary>
    Resize,
}

/// <summary>Endpoint metadata: the endpoint's requests draw on <paramref name="Kind"/>.</summary>
internal sealed record LimitedBy(RequestLimit Kind);

internal static class RequestLimitExtensions
{
    /// <summary>Marks the endpoint's requests as drawing on <paramref name="limit"/>; <see cref="RequestLimits"/> reads the mark.</summary>
    public static RouteHandlerBuilder Limited(this RouteHandlerBuilder builder, RequestLimit limit) =>
        builder.WithMetadata(new LimitedBy(limit)).ProducesProblem(Microsoft.AspNetCore.Http.StatusCodes.Status429TooManyRequests);
}
