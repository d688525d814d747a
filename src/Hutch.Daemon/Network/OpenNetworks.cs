using System.Net;

namespace Hutch.Daemon.Network;

/// <summary>
/// The operator's HUTCH_EGRESS_OPEN_NETWORKS (<c>NAME=CIDR[,CIDR];…</c>): the internal networks a
/// policy may open by name. Read once at start; a malformed value stops the daemon, since a typo
/// here would otherwise quietly leave a network closed (or open another).
/// </summary>
public static class OpenNetworks
{
    public static IReadOnlyDictionary<string, IPNetwork[]> Parse(string? text)
    {
        var networks = new Dictionary<string, IPNetwork[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return networks;
        }
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            var name = eq > 0 ? part[..eq].Trim() : "";
            if (name.Length == 0 || name.Length > 63 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw Invalid(text, $"'{part}' does not start with a NAME= (letters, digits, - and _)");
            }
            var cidrs = part[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (cidrs.Length == 0)
            {
                throw Invalid(text, $"network '{name}' lists no CIDR");
            }
            networks[name] = [.. cidrs.Select(c => IPNetwork.TryParse(c, out var n) ? n : throw Invalid(text, $"'{c}' in network '{name}' is not a CIDR such as 10.213.0.0/16"))];
        }
        return networks;
    }

    private static ArgumentException Invalid(string text, string why) =>
        new($"HUTCH_EGRESS_OPEN_NETWORKS='{text}': {why}. The form is NAME=CIDR[,CIDR];NAME2=CIDR.");
}
