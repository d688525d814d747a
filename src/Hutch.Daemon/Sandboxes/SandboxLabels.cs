using System.Text.RegularExpressions;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// A sandbox's labels: the caller's own key/value strings, checked at create and matched by the
/// list's <c>label=k=v</c> filter. Keys are plain words so a filter can be written in a URL and a
/// shell without quoting; values are printable so a list stays readable on a terminal.
/// </summary>
public static partial class SandboxLabels
{
    public const int MaxLabels = 32, MaxKeyLength = 63, MaxValueLength = 255;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")]
    private static partial Regex KeyPattern();

    /// <summary>The labels to keep (empty when none were given), or invalid_label naming what is wrong.</summary>
    public static Dictionary<string, string> Validate(Dictionary<string, string>? labels)
    {
        if (labels is null)
        {
            return [];
        }
        if (labels.Count > MaxLabels)
        {
            throw Invalid($"A sandbox takes at most {MaxLabels} labels; {labels.Count} were given.");
        }
        foreach (var (key, value) in labels)
        {
            CheckKey(key);
            if (value.Length > MaxValueLength || value.Any(char.IsControl))
            {
                throw Invalid($"The value of label '{key}' is not allowed: at most {MaxValueLength} characters, none of them control characters.");
            }
        }
        return labels;
    }

    /// <summary>
    /// Parses the list's filters: each "k=v" (the label k has the value v; the first '=' splits) or
    /// "k" (the label k is set, to anything).
    /// </summary>
    public static IReadOnlyList<(string Key, string? Value)> ParseFilters(IEnumerable<string> filters)
    {
        var parsed = new List<(string, string?)>();
        foreach (var filter in filters)
        {
            var eq = filter.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? filter : filter[..eq];
            CheckKey(key);
            parsed.Add((key, eq < 0 ? null : filter[(eq + 1)..]));
        }
        return parsed;
    }

    /// <summary>Whether a sandbox's labels satisfy every filter.</summary>
    public static bool Match(IReadOnlyDictionary<string, string> labels, IReadOnlyList<(string Key, string? Value)> filters) =>
        filters.All(f => labels.TryGetValue(f.Key, out var value) && (f.Value is null || f.Value == value));

    private static void CheckKey(string key)
    {
        if (!KeyPattern().IsMatch(key))
        {
            throw Invalid($"The label key '{Printable(key)}' is not allowed. Use 1-{MaxKeyLength} letters, digits and '.', '_', '/', '-', starting with a letter or digit (a filter is label=KEY=VALUE or label=KEY).");
        }
    }

    private static string Printable(string text) =>
        new([.. text.Take(MaxKeyLength + 1).Select(c => char.IsControl(c) ? '?' : c)]);

    private static HutchException Invalid(string message) => new(ErrorCodes.InvalidLabel, message);
}
