using System.CommandLine.Parsing;
using System.Globalization;

namespace Hutch.Cli.Commands;

/// <summary>Durations as a person types them: "90" (seconds), "90s", "30m", "2h", "7d", or parts together ("1h30m").</summary>
internal static class Durations
{
    /// <summary>Whole seconds, or null when <paramref name="text"/> is not a duration.</summary>
    public static long? Seconds(string text)
    {
        text = text.Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var plain))
        {
            return plain;
        }
        long total = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsAsciiDigit(text[i]))
            {
                continue;
            }
            var unit = text[i] switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 0L };
            if (unit == 0 || i == start || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                || n > long.MaxValue / unit / 2)
            {
                return null;
            }
            total += n * unit;
            start = i + 1;
        }
        return start == text.Length && text.Length > 0 ? total : null;
    }

    /// <summary>A CustomParser for an option that takes a duration (its name in <paramref name="option"/> for the error).</summary>
    public static long? Parse(ArgumentResult result, string option)
    {
        var text = result.Tokens.Single().Value;
        if (Seconds(text) is { } seconds)
        {
            return seconds;
        }
        result.AddError($"{option} '{text}' is not a duration: write seconds, or a number with s, m, h or d, e.g. {option} 30m or {option} 1h30m.");
        return null;
    }
}
