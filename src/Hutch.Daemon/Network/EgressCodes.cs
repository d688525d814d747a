namespace Hutch.Daemon.Network;

/// <summary>
/// The stable reasons of egress decisions (docs/design/0009-egress.md, section 6). They reach
/// clients through the event log and the proxy's refusals, not as API errors yet; they join
/// <see cref="ErrorCodes"/> (with their 403) in the slice where the proxy answers with them.
/// </summary>
public static class EgressCodes
{
    /// <summary>The sandbox's policy is <c>none</c>.</summary>
    public const string PolicyNone = "egress_policy_none";
    /// <summary>The name is denied, or not in the allowlist.</summary>
    public const string DeniedHost = "egress_denied_host";
    /// <summary>The literal address is denied, or no IP/CIDR/net: entry allows it.</summary>
    public const string DeniedAddress = "egress_denied_address";
    /// <summary>The host or address is allowed, but not on this port.</summary>
    public const string Port = "egress_port";
    /// <summary>The address connected to is in an always-refused range (private, loopback, the host's own…).</summary>
    public const string PrivateAddress = "egress_private_address";
    /// <summary>A CONNECT target or Host header that is not a plain name, dotted quad or [IPv6].</summary>
    public const string BadTarget = "egress_bad_target";
}
