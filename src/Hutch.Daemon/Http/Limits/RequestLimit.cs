using Microsoft.AspNetCore.Builder;

namespace Hutch.Daemon.Http.Limits;

/// <summary>Which budget an endpoint's requests draw on (docs/http-api.md#limits). Endpoints without one are not limited.</summary>
internal enum RequestLimit
{
    /// <summary>A command run through the request (exec, exec/stream, session exec): counted while it runs.</summary>
    Exec,

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
    public static TBuilder Limited<TBuilder>(this TBuilder builder, RequestLimit limit) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new LimitedBy(limit));
}
