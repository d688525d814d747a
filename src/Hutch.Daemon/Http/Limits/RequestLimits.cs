using System.Globalization;
using System.Threading.RateLimiting;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;

namespace Hutch.Daemon.Http.Limits;

/// <summary>
/// The daemon's rate and concurrency limits (docs/http-api.md#limits), so that one caller, or one
/// sandbox, cannot starve the others: commands running per key and per sandbox, creates in flight
/// per key, terminal resizes per second per sandbox. Built on ASP.NET Core's rate limiting: creates
/// and resizes through its middleware, whose lease is held until the endpoint returns; commands
/// through <see cref="CommandSlots"/>, whose lease a command whose caller left keeps until it ends.
/// A refusal is 429 <c>rate_limited</c> with Retry-After.
/// </summary>
internal sealed class RequestLimits
{
    /// <summary>Partition of requests that a limit does not apply to (keys are "key-…", sandbox ids never empty).</summary>
    private const string Unlimited = "";

    /// <summary>
    /// Concurrency limits cannot know when a permit comes back; commands are usually short, so a
    /// second is a fair first wait.
    /// </summary>
    private static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    /// <param name="canonicalSandbox">Maps a route's sandbox name to its id, so a name and an id share one budget.</param>
    public RequestLimits(HutchOptions options, Func<string, string> canonicalSandbox)
    {
        var execsPerKey = Concurrency(null, Caller.KeyOf, options.MaxExecsPerKey,
            _ => $"This API key already has {options.MaxExecsPerKey} commands running through the API, the most it may at once (HUTCH_MAX_EXECS_PER_KEY). " +
                 "Retry when one has finished, or start long commands as background processes (POST /v1/sandboxes/{id}/processes).");
        var execsPerSandbox = Concurrency(null, c => Sandbox(c, canonicalSandbox), options.MaxExecsPerSandbox,
            c => $"Sandbox {RouteSandbox(c)} already has {options.MaxExecsPerSandbox} commands running through the API, the most one sandbox may at once (HUTCH_MAX_EXECS_PER_SANDBOX). " +
                 "Retry when one has finished, or start long commands as background processes.");
        var createsPerKey = Concurrency(RequestLimit.Create, Caller.KeyOf, options.MaxCreatesPerKey,
            _ => $"This API key already has {options.MaxCreatesPerKey} sandbox creates in flight, the most it may at once (HUTCH_MAX_CREATES_PER_KEY). Retry when one has answered.");
        var resizesPerSandbox = Rate(RequestLimit.Resize, c => Sandbox(c, canonicalSandbox), options.ResizesPerSecond,
            c => $"Terminals of sandbox {RouteSandbox(c)} may be resized at most {options.ResizesPerSecond} times a second (HUTCH_RESIZES_PER_SECOND). " +
                 "Send only the last size of a burst, or resize through the attach WebSocket, which coalesces for you.");

        // Per key before per sandbox: a refusal names the widest limit that was full.
        Commands = PartitionedRateLimiter.CreateChained(execsPerKey, execsPerSandbox);
        Middleware = new RateLimiterOptions
        {
            GlobalLimiter = PartitionedRateLimiter.CreateChained(createsPerKey, resizesPerSandbox),
            RejectionStatusCode = StatusCodes.Status429TooManyRequests,
            OnRejected = (rejected, _) => RejectAsync(rejected.HttpContext, rejected.Lease),
        };
    }

    /// <summary>Commands running through the API, per key and per sandbox (<see cref="CommandSlots"/>).</summary>
    public PartitionedRateLimiter<HttpContext> Commands { get; }

    /// <summary>For UseRateLimiter: creates in flight and resizes per second.</summary>
    public RateLimiterOptions Middleware { get; }

    /// <summary>A concurrency limit without a queue, for the endpoints marked <paramref name="limit"/> (null: every request it is asked about).</summary>
    private static PartitionedRateLimiter<HttpContext> Concurrency(RequestLimit? limit, Func<HttpContext, string> partition, int permits, Func<HttpContext, string> explain) =>
        new LabelledLimiter<HttpContext>(PartitionedRateLimiter.Create<HttpContext, string>(context => limit is null || LimitOf(context) == limit
            ? RateLimitPartition.GetConcurrencyLimiter(partition(context), _ => new ConcurrencyLimiterOptions { PermitLimit = permits, QueueLimit = 0 })
            : RateLimitPartition.GetNoLimiter(Unlimited)), new Refusal(explain));

    /// <summary>A token bucket of <paramref name="perSecond"/> tokens, refilled each second: a burst of one second's worth, then that rate.</summary>
    private static PartitionedRateLimiter<HttpContext> Rate(RequestLimit limit, Func<HttpContext, string> partition, int perSecond, Func<HttpContext, string> explain) =>
        new LabelledLimiter<HttpContext>(PartitionedRateLimiter.Create<HttpContext, string>(context => LimitOf(context) == limit
            ? RateLimitPartition.GetTokenBucketLimiter(partition(context), _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            })
            : RateLimitPartition.GetNoLimiter(Unlimited)), new Refusal(explain));

    private static RequestLimit? LimitOf(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<LimitedBy>()?.Kind;

    private static string RouteSandbox(HttpContext context) => context.GetRouteValue("id") as string ?? "";

    private static string Sandbox(HttpContext context, Func<string, string> canonical) => canonical(RouteSandbox(context));

    /// <summary>The 429 answer: problem+json naming the limit, and Retry-After in whole seconds (at least 1).</summary>
    public static async ValueTask RejectAsync(HttpContext context, RateLimitLease lease)
    {
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : ConcurrencyRetryAfter;
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var detail = lease.TryGetMetadata(Refusal.Name, out var refusal) && refusal is not null
            ? refusal.Explain(context)
            : "Too many requests.";
        await Problems.WriteAsync(context, ErrorCodes.RateLimited, $"{detail} Retry in {seconds} s.");
    }
}
