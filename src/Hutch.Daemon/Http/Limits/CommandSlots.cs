using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http.Limits;

/// <summary>
/// The limit of commands running through the API (per key and per sandbox), as an endpoint filter
/// rather than the rate limiting middleware: the middleware gives its lease back when the request
/// ends, but a command whose caller left runs on, and must keep its place until it ends
/// (<see cref="CommandLease"/>). The endpoint hands <see cref="Of"/> to the engine.
/// </summary>
internal static class CommandSlots
{
    /// <summary>Counts the endpoint's requests as commands: refused 429 past a limit, else a lease for the engine.</summary>
    public static RouteHandlerBuilder RunsACommand(this RouteHandlerBuilder builder, RequestLimits limits) =>
        builder.ProducesProblem(StatusCodes.Status429TooManyRequests).AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var lease = limits.Commands.AttemptAcquire(context);
            if (!lease.IsAcquired)
            {
                using (lease)
                {
                    await RequestLimits.RejectAsync(context, lease);
                }
                return Results.Empty;
            }
            var command = new CommandLease(lease);
            context.Features.Set(command);
            try
            {
                return await next(invocation);
            }
            finally
            {
                command.EndOfRequest();
            }
        });

    /// <summary>The request's command lease (null on an endpoint that is not counted).</summary>
    public static CommandLease? Of(HttpContext context) => context.Features.Get<CommandLease>();
}
