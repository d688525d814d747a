namespace Hutch.Daemon.Network;

/// <summary>
/// Validates a <see cref="NetworkPolicy"/> from the API into a <see cref="ParsedNetworkPolicy"/>.
/// Every problem is collected (not just the first), each naming its field (<c>network.allow[2]</c>),
/// and thrown as one <see cref="ErrorCodes.InvalidNetworkPolicy"/>: an agent fixes them in one round.
/// </summary>
public static class NetworkPolicyParser
{
    /// <summary>Most entries in each of allow and deny: enough for a real allowlist, small enough that matching stays a short scan.</summary>
    public const int MaxEntries = 256;

    /// <summary>Most problems listed in one error message.</summary>
    private const int MaxReported = 10;

    public static ParsedNetworkPolicy Parse(NetworkPolicy? policy, string field = "network")
    {
        if (policy is null)
        {
            return ParsedNetworkPolicy.None;
        }
        var errors = new List<string>();
        var mode = policy.Mode ?? NetworkModes.None;
        if (mode is not (NetworkModes.None or NetworkModes.Allowlist or NetworkModes.Public))
        {
            errors.Add($"{field}.mode: '{mode}' is not a mode; use 'none', 'allowlist' or 'public'");
        }
        var allow = Entries(policy.Allow, $"{field}.allow", allowOpenNetworks: true, errors);
        var deny = Entries(policy.Deny, $"{field}.deny", allowOpenNetworks: false, errors);
        if (policy.Preset is { } preset && preset != NetworkPresets.PackageRegistries)
        {
            errors.Add($"{field}.preset: '{preset}' is not a preset; the only one is '{NetworkPresets.PackageRegistries}'");
        }
        if (mode == NetworkModes.None && (allow.Count > 0 || deny.Count > 0 || policy.Preset is not null))
        {
            errors.Add($"{field}.mode: 'none' lets nothing out, so allow, deny and preset would do nothing; set mode to 'allowlist' (or leave them out)");
        }
        if (mode == NetworkModes.Allowlist && policy.Allow is null or [] && policy.Preset is null)
        {
            errors.Add($"{field}.allow: mode 'allowlist' needs at least one entry (or a preset); use mode 'none' to let nothing out");
        }
        if (errors.Count > 0)
        {
            var shown = string.Join("; ", errors.Take(MaxReported));
            var more = errors.Count > MaxReported ? $" (and {errors.Count - MaxReported} more)" : "";
            throw new HutchException(ErrorCodes.InvalidNetworkPolicy, $"Invalid network policy: {shown}{more}.");
        }
        return new ParsedNetworkPolicy(mode, allow, deny, policy.Preset);
    }

    private static List<PolicyEntry> Entries(string[]? texts, string field, bool allowOpenNetworks, List<string> errors)
    {
        var entries = new List<PolicyEntry>();
        if (texts is null)
        {
            return entries;
        }
        if (texts.Length > MaxEntries)
        {
            errors.Add($"{field}: {texts.Length} entries; at most {MaxEntries} (use a glob or a CIDR to cover many)");
            return entries;
        }
        for (var i = 0; i < texts.Length; i++)
        {
            var entry = PolicyEntryParser.Parse(texts[i], allowOpenNetworks, out var error);
            if (entry is null)
            {
                errors.Add($"{field}[{i}]: {error}");
            }
            else
            {
                entries.Add(entry);
            }
        }
        return entries;
    }
}
