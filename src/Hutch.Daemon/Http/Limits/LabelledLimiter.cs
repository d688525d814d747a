using System.Threading.RateLimiting;

namespace Hutch.Daemon.Http.Limits;

/// <summary>What a refused request is told: which limit, and what to do about it.</summary>
/// <param name="Explain">The problem's detail for the refused request (it may name the sandbox).</param>
internal sealed record Refusal(Func<Microsoft.AspNetCore.Http.HttpContext, string> Explain)
{
    public static readonly MetadataName<Refusal> Name = new("hutch.refusal");
}

/// <summary>
/// One limit of a chain. The framework's chained limiter hands back the failing lease as it is, and
/// a lease of a token bucket or concurrency limiter does not say which limit it came from: this
/// wrapper adds that, so a 429 can name the limit that refused it.
/// </summary>
internal sealed class LabelledLimiter<TResource>(PartitionedRateLimiter<TResource> inner, Refusal refusal) : PartitionedRateLimiter<TResource>
{
    public override RateLimiterStatistics? GetStatistics(TResource resource) => inner.GetStatistics(resource);

    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount) =>
        Label(inner.AttemptAcquire(resource, permitCount));

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        Label(await inner.AcquireAsync(resource, permitCount, cancellationToken).ConfigureAwait(false));

    private RateLimitLease Label(RateLimitLease lease) => lease.IsAcquired ? lease : new RefusedLease(lease, refusal);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore() => inner.DisposeAsync();

    /// <summary>A refused lease that carries its <see cref="Refusal"/> beside the inner lease's metadata (Retry-After).</summary>
    private sealed class RefusedLease(RateLimitLease inner, Refusal refusal) : RateLimitLease
    {
        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => inner.MetadataNames.Append(Refusal.Name.Name);

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (metadataName == Refusal.Name.Name)
            {
                metadata = refusal;
                return true;
            }
            return inner.TryGetMetadata(metadataName, out metadata);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
        }
    }
}
