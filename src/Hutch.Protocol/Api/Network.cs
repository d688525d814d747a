namespace Hutch.Protocol.Api;

/// <summary>
/// What a sandbox may reach on the network (docs/design/0009-egress.md). Not accepted by any route
/// yet: a policy other than <c>none</c> is only ever set once the daemon enforces it.
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
