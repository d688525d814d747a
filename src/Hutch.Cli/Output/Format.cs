using System.Globalization;

namespace Hutch.Cli.Output;

/// <summary>Short human renderings of times, sizes and durations.</summary>
internal static class Format
{
    /// <summary>"12s ago", "5m ago", "3h ago", "2d ago"; "in 5m" for the future.</summary>
    public static string Relative(DateTimeOffset when, DateTimeOffset now)
    {
        var delta = when - now;
        var span = Short(delta.Duration());
        return delta > TimeSpan.Zero ? $"in {span}" : $"{span} ago";
    }

    /// <summary>"45s", "5m", "3h", "2d": the largest unit, rounded down.</summary>
    public static string Short(TimeSpan span) => span switch
    {
        { TotalSeconds: < 60 } => $"{(int)span.TotalSeconds}s",
        { TotalMinutes: < 60 } => $"{(int)span.TotalMinutes}m",
        { TotalHours: < 48 } => $"{(int)span.TotalHours}h",
        _ => $"{(int)span.TotalDays}d",
    };

    /// <summary>"512 B", "1.5 KiB", "12.3 MiB", "2.0 GiB".</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>"850 ms", "2.5 s".</summary>
    public static string Millis(long ms) =>
        ms < 1000 ? $"{ms} ms" : (ms / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s";

    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>An instant as local-free UTC text: "2025-01-02 15:04:05Z".</summary>
    public static string Instant(DateTimeOffset when) =>
        when.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
