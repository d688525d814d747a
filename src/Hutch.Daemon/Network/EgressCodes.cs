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
    /// <summary>A name lookup the sandbox made (DNS over UDP or TCP) was refused.</summary>
    public const string DnsDenied = "egress_dns_denied";
    /// <summary>The sandbox has used all its synthetic addresses (one per name it looked up).</summary>
    public const string DnsLimit = "egress_dns_limit";
    /// <summary>The sandbox already has the most open connections it may have.</summary>
    public const string Limit = "egress_limit";
    /// <summary>Allowed, but the upstream refused or could not be reached (a failure, not a refusal).</summary>
    public const string ConnectFailed = "egress_connect_failed";
    /// <summary>Allowed, but the upstream did not answer in time.</summary>
    public const string ConnectTimeout = "egress_connect_timeout";
    /// <summary>A TLS server name (SNI) or HTTP Host that is not the name the connection was allowed for (domain fronting), or a request that cannot be checked for it.</summary>
    public const string Fronting = "egress_fronting";
    /// <summary>An open connection that a new policy no longer allows was closed.</summary>
    public const string PolicyChanged = "egress_policy_changed";
    /// <summary>A connection to a secret's host whose TLS the daemon terminates: the sandbox's handshake failed (an h2-only client, a client that does not trust its sandbox's CA).</summary>
    public const string SecretTls = "secret_tls";
    /// <summary>A request body to a secret's host that says "body" was over 1 MiB and went unchanged (its placeholders not replaced); the connection goes on.</summary>
    public const string SecretBodyTooLarge = "secret_body_too_large";
    /// <summary>A request body to a secret's host that says "body" was compressed (Content-Encoding) and went unchanged; the connection goes on.</summary>
    public const string SecretBodyEncoded = "secret_body_encoded";
    /// <summary>A secret's host whose certificate the daemon could not verify: nothing was sent to it (a 502 inside the sandbox's TLS).</summary>
    public const string UpstreamTls = "egress_upstream_tls";
}
