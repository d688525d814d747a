using System.Collections.Concurrent;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// When each sandbox whose delete failed is tried again: after 1 s, then twice as long each time, at
/// most a minute apart, so a stuck host is not hammered and a passing failure is over soon.
/// </summary>
public sealed class DeletionRetries(TimeProvider time)
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Longest = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset Next)> _due = new();

    public void Failed(string id) => _due.AddOrUpdate(id,
        _ => (1, time.GetUtcNow() + First),
        (_, was) => (was.Failures + 1, time.GetUtcNow() + Delay(was.Failures + 1)));

    public void Succeeded(string id) => _due.TryRemove(id, out _);

    /// <summary>Whether a sandbox in state deleting should be tried now (one this engine never tried, after a restart, is due at once).</summary>
    public bool IsDue(string id) => !_due.TryGetValue(id, out var entry) || entry.Next <= time.GetUtcNow();

    private static TimeSpan Delay(int failures) =>
        TimeSpan.FromTicks(Math.Min(Longest.Ticks, First.Ticks << Math.Min(failures - 1, 16)));
}
