using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Hutch.Tests.Daemon;

/// <summary>The daemon's log lines each have an event id of their own, so a log filter or alert on an id means one line.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLogLine_HasAnEventIdOfItsOwn()
    {
        var log = typeof(Hutch.Daemon.HutchOptions).Assembly.GetType("Hutch.Daemon.Log", throwOnError: true)!;
        var lines = log.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Select(m => (m.Name, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        var shared = lines.GroupBy(m => m.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}").ToList();

        Assert.True(lines.Count > 20, $"only {lines.Count} log lines found: is Log still where this test looks?");
        Assert.Empty(shared);
    }
}
