using Hutch.Runtime.Templates;

namespace Hutch.Daemon.Templates;

/// <summary>
/// Removes what templates no longer need: build cache entries on request, and the layers that no
/// version, no cache entry and no import or build in flight uses (they hold a
/// <see cref="LayerLease"/> and a <see cref="TemplateStore.BuildCacheHold"/>; docs/design/0012).
/// A running sandbox's layers are always a version's or a cache entry's, which cannot be removed
/// while it runs. Deleting a version removes its layers the same way.
/// </summary>
public sealed class TemplatePruning(TemplateStore store, LayerStore layers, TimeProvider time)
{
    /// <summary>The longest age a prune takes (100 years): past it, a date would overflow.</summary>
    public const long MaxAgeSeconds = 100L * 366 * 24 * 3600;

    /// <summary>Build cache entries older than <paramref name="cacheOlderThanSeconds"/> (all without it), then every unused layer.</summary>
    public TemplatePruneResult Prune(long? cacheOlderThanSeconds)
    {
        if (cacheOlderThanSeconds is < 0 or > MaxAgeSeconds)
        {
            throw new HutchException(ErrorCodes.InvalidQuery,
                $"cacheOlderThanSeconds must be between 0 and {MaxAgeSeconds}; it was {cacheOlderThanSeconds}. Leave it out to remove every build cache entry.");
        }
        var cache = store.PruneBuildCache(cacheOlderThanSeconds is { } age ? time.GetUtcNow().AddSeconds(-age) : null);
        var removed = layers.RemoveUnused(store.LayersInUse);
        return new TemplatePruneResult(cache, removed.Layers.Count, removed.Bytes, [.. removed.Layers]);
    }

    /// <summary>Removes a version (or all of a name) as <see cref="TemplateStore.Remove"/> does, then the layers nothing uses any more.</summary>
    public IReadOnlyList<TemplateRecord> Remove(string name, string? version)
    {
        var removed = store.Remove(name, version);
        layers.RemoveUnused(store.LayersInUse);
        return removed;
    }
}
