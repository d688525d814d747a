namespace Hutch.Protocol.Api;

/// <summary>
/// What a sandbox may reach on the network (docs/network.md, docs/design/0009-egress.md).
/// </summary>
/// <param name="Mode">
/// <c>none</c> (the default: no connection leaves the sandbox), <c>allowlist</c> (only what
/// <paramref name="Allow"/> or <paramref name="Preset"/> names) or <c>public</c> (every public name
/// and address). Private, loopback, link-local and the host's own addresses are refused in every mode.
/// </param>
/// <param name="Allow">
/// Up to 256 entries, each a host name (<c>example.org</c>), a glob (<c>*.example.org</c>: any
/// subdomain, not example.org itself), an IP address (<c>192.0.2.7</c>, <c>[2001:db8::7]</c>), a CIDR
/// (<c>10.0.0.0/8</c>, <c>[2001:db8::/32]</c>) or <c>net:NAME</c> (an internal network the operator
/// opened with HUTCH_EGRESS_OPEN_NETWORKS), each optionally followed by <c>:PORT</c> or
/// <c>:LOW-HIGH</c> (every port when left out). Names are compared in lower-case ASCII (IDN as punycode).
/// </param>
/// <param name="Deny">
/// Up to 256 entries of the same forms except <c>net:</c>; a deny entry wins over every allow entry
/// and over <c>public</c>.
/// </param>
/// <param name="Preset">
/// A named list of hosts the daemon expands at start, added to the allowlist: <c>package-registries</c>
/// (the apt, npm and pip indexes this host is configured with).
/// </param>
public sealed record NetworkPolicy(
    string? Mode = null,
    string[]? Allow = null,
    string[]? Deny = null,
    string? Preset = null);

/// <summary>The values of <see cref="NetworkPolicy.Mode"/>.</summary>
public static class NetworkModes
{
    /// <summary>No connection and no DNS answer leaves the sandbox (the default).</summary>
    public const string None = "none";
    /// <summary>Only the names, addresses and networks the policy lists, on the ports it lists.</summary>
    public const string Allowlist = "allowlist";
    /// <summary>Every public name and address, except what the policy denies.</summary>
    public const string Public = "public";
}

/// <summary>The values of <see cref="NetworkPolicy.Preset"/>.</summary>
public static class NetworkPresets
{
    /// <summary>The package indexes apt, npm and pip are configured with on the host.</summary>
    public const string PackageRegistries = "package-registries";
}

/// <summary>
/// One line of <c>GET /v1/sandboxes/{id}/network/events</c>: a connection the sandbox tried, what the
/// daemon decided and why. Refusals are recorded when they happen, allowed connections when they close
/// (with their bytes).
/// </summary>
/// <param name="Cursor">Where the next read starts to get the events after this one.</param>
/// <param name="Time">When it was decided (refused) or closed (allowed).</param>
/// <param name="Outcome"><c>allowed</c>, <c>refused</c>, or <c>failed</c> (allowed, but the upstream could not be reached).</param>
/// <param name="Via"><c>transparent</c> (a connection captured in the sandbox's network namespace), <c>proxy</c> (a request to the egress proxy: HTTP_PROXY, CONNECT) or <c>dns</c> (a name lookup its resolver refused or could not answer).</param>
/// <param name="Protocol"><c>tcp</c>, or <c>dns</c> for a lookup.</param>
/// <param name="Host">The name the sandbox asked for (a lookup, or a connection to the address its answer gave); null for a connection to a literal address.</param>
/// <param name="Address">The address connected to, or that was refused.</param>
/// <param name="Port">The destination port.</param>
/// <param name="Code">Why it was refused or failed (egress_policy_none, egress_denied_address, egress_private_address, …); null when allowed, but for a note about a request of an allowed connection (secret_body_too_large, secret_body_encoded).</param>
/// <param name="Rule">The policy entry that decided (its normalized text), <c>public</c>, or null.</param>
/// <param name="Message">What happened and what to do about it, for a person or a model.</param>
/// <param name="BytesOut">Bytes the sandbox sent upstream.</param>
/// <param name="BytesIn">Bytes the upstream sent back.</param>
/// <param name="DurationMs">How long the connection was open.</param>
public sealed record NetworkEvent(
    long Cursor,
    DateTimeOffset Time,
    string Outcome,
    string Via,
    string Protocol,
    string? Host,
    string? Address,
    int Port,
    string? Code,
    string? Rule,
    string Message,
    long BytesOut = 0,
    long BytesIn = 0,
    long DurationMs = 0);

/// <summary>What a preset stands for on the daemon's host (<c>GET /v1/network/presets</c>).</summary>
/// <param name="Name">The preset, as a policy's <c>preset</c> names it.</param>
/// <param name="Allow">The entries it adds to an allowlist (host:port), as rules name them.</param>
/// <param name="Sources">Where each registry was read.</param>
/// <param name="Notes">What could not be read, or a tool with no index configured.</param>
public sealed record NetworkPresetInfo(string Name, string[] Allow, NetworkPresetSource[] Sources, string[] Notes);

/// <summary>One registry the host is configured with.</summary>
/// <param name="Tool"><c>apt</c>, <c>pip</c> or <c>npm</c>.</param>
/// <param name="Url">The index's URL (without user information).</param>
/// <param name="From">The file or variable it was read from, or the tool's built-in default.</param>
public sealed record NetworkPresetSource(string Tool, string Url, string From);

/// <summary>The values of <see cref="NetworkEvent.Outcome"/>.</summary>
public static class NetworkOutcomes
{
    public const string Allowed = "allowed";
    public const string Refused = "refused";
    public const string Failed = "failed";
}
