using System.Globalization;
using System.Text.RegularExpressions;

namespace Hutch.Files.Patching;

/// <summary>
/// The timestamps diff -u writes after a tab on its "---" and "+++" lines. With -N (diff -ruN), a
/// file missing on one side is shown as an empty file dated at the Unix epoch, in local time
/// ("1969-12-31 19:00:00.000000000 -0500" is the epoch too); that, not "/dev/null", is how such a
/// diff says a file is created or deleted.
/// </summary>
internal static partial class PlainTimestamps
{
    [GeneratedRegex(@"\t([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)? ([+-][0-9]{4})$", RegexOptions.CultureInvariant)]
    private static partial Regex Timestamp();

    /// <summary>Whether a "---"/"+++" line (read as a header) ends with the epoch as its timestamp.</summary>
    public static bool IsEpoch(string fileLine)
    {
        var match = Timestamp().Match(fileLine);
        if (!match.Success || !DateTime.TryParseExact(match.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return false;
        }
        var zone = match.Groups[2].Value; // "+hhmm", which no .NET format specifier reads
        var offset = new TimeSpan(int.Parse(zone.AsSpan(1, 2), CultureInfo.InvariantCulture), int.Parse(zone.AsSpan(3, 2), CultureInfo.InvariantCulture), 0);
        return local - (zone[0] == '-' ? -offset : offset) == DateTime.UnixEpoch;
    }
}
