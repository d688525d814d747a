using System.Net;
using System.Net.Sockets;

namespace Hutch.Daemon.Network.Dns;

/// <summary>The values of <see cref="DnsDecision.Outcome"/>.</summary>
public static class DnsOutcomes
{
    /// <summary>A synthetic A/AAAA record was given.</summary>
    public const string Answered = "answered";
    /// <summary>NXDOMAIN or NODATA with the reason in an Extended DNS Error: the policy or the refused ranges said no.</summary>
    public const string Refused = "refused";
    /// <summary>An allowed name, but no record of that type (HTTPS/SVCB): not a refusal.</summary>
    public const string NoData = "nodata";
    /// <summary>The host's resolver says the allowed name does not exist.</summary>
    public const string NotFound = "not_found";
    /// <summary>The host's resolver failed or timed out (SERVFAIL: the client may retry).</summary>
    public const string Failed = "failed";
    /// <summary>Not a well-formed query (FORMERR or NOTIMP).</summary>
    public const string Malformed = "malformed";
}

/// <summary>What the resolver decided about one query, for the sandbox's event log.</summary>
/// <param name="Name">The name asked (normalized when it is a host name, as sent otherwise), null for a malformed message.</param>
/// <param name="Type">The query type's mnemonic (<c>A</c>, <c>TXT</c>, <c>TYPE99</c>).</param>
/// <param name="Code">An <see cref="EgressCodes"/> value when refused, else null.</param>
/// <param name="Rule">The policy entry that decided (its text, or <c>public</c>), when one did.</param>
public sealed record DnsDecision(string? Name, string Type, string Outcome, string? Code, string? Rule, string Message);

/// <summary>The answer to send (null: send nothing) and what was decided (null with it).</summary>
public sealed record DnsResult(byte[]? Response, DnsDecision? Decision);

/// <summary>
/// The sandbox's resolver (docs/design/0009-egress.md, section 3), without sockets: an allowed name
/// is resolved on the host (overrides first), the refused addresses are dropped, and if any remain
/// the name's synthetic address is answered; otherwise NXDOMAIN with an Extended DNS Error that says
/// why. Only A and AAAA are answered; a name that is not allowed is never looked up, so a DNS
/// tunnel reaches only a domain the policy already allows.
/// </summary>
/// <param name="policy">The policy in force now (a PATCH swaps it).</param>
/// <param name="ranges">The always-refused ranges as they are now.</param>
/// <param name="lookup">The host's resolver; <see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/> by default. Tests pass a fake: no query leaves the machine.</param>
/// <param name="hosts">The operator's overrides (HUTCH_EGRESS_HOSTS_FILE), asked before <paramref name="lookup"/>.</param>
public sealed class DnsResolver(
    Func<PolicyMatcher> policy,
    Func<RefusedRanges> ranges,
    SyntheticNames names,
    Func<string, CancellationToken, Task<IPAddress[]>>? lookup = null,
    HostsFile? hosts = null)
{
    public const uint Ttl = 300;

    /// <summary>How long the host's resolver may take: below glibc's 5 s, so the client sees SERVFAIL rather than its own timeout.</summary>
    public static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(4);

    /// <summary>RFC 8914 INFO-CODEs used: 0 Other, 15 Blocked, 21 Not Supported, 23 Network Error.</summary>
    public const ushort EdeOther = 0, EdeBlocked = 15, EdeNotSupported = 21, EdeNetworkError = 23;

    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _lookup =
        (hosts ?? HostsFile.Empty).Before(lookup ?? System.Net.Dns.GetHostAddressesAsync);

    public async Task<DnsResult> ResolveAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (DnsMessage.Parse(request.Span) is not { } query)
        {
            return DnsMessage.Reject(request.Span) is { } reject
                ? new DnsResult(reject, new DnsDecision(null, "", DnsOutcomes.Malformed, null, null, "a malformed DNS message was answered with FORMERR or NOTIMP"))
                : new DnsResult(null, null);
        }
        var type = TypeName(query.Type);
        if (query.Class != DnsMessage.ClassIn)
        {
            return Refuse(query, null, type, DnsMessage.Refused, EgressCodes.DnsDenied, null, $"class {query.Class} refused: only class IN is answered");
        }
        var name = query.Name is null ? null : HostName.Normalize(query.Name, out _);
        if (name is null)
        {
            return Refuse(query, query.Name, type, DnsMessage.NxDomain, EgressCodes.DnsDenied, null,
                $"'{query.Name ?? "(binary or empty)"}' is not a host name (letters, digits, '-' and '_' only)");
        }
        var matcher = policy();
        if (Judge(matcher, name) is { } refusal)
        {
            return Refuse(query, name, type, DnsMessage.NxDomain, refusal.Code, refusal.Rule, refusal.Message);
        }
        if (query.Type is DnsMessage.TypeHttps or DnsMessage.TypeSvcb)
        {
            // No HTTPS/SVCB record: its ipv4hint/ipv6hint or ECH config would sidestep the synthetic addresses.
            return new DnsResult(DnsMessage.Empty(query, DnsMessage.NoError), new DnsDecision(name, type, DnsOutcomes.NoData, null, null, $"{type} {name}: no record (only A and AAAA are answered)"));
        }
        if (query.Type is not (DnsMessage.TypeA or DnsMessage.TypeAaaa))
        {
            return Refuse(query, name, type, DnsMessage.NoError, EgressCodes.DnsDenied, null, $"{type} {name} refused: this resolver answers only A and AAAA", EdeNotSupported);
        }
        return await AnswerAsync(query, name, type, matcher, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DnsResult> AnswerAsync(DnsQuery query, string name, string type, PolicyMatcher matcher, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(LookupTimeout);
            try
            {
                addresses = await _lookup(name, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData)
            {
                addresses = [];
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var why = e is SocketException s ? s.Message : $"no answer within {LookupTimeout.TotalSeconds:0} s";
                return new DnsResult(DnsMessage.Empty(query, DnsMessage.ServFail, EdeNetworkError, $"the host could not resolve {name}: {why}"),
                    new DnsDecision(name, type, DnsOutcomes.Failed, null, null, $"{type} {name}: the host's resolver failed: {why}"));
            }
        }
        if (addresses.Length == 0)
        {
            return new DnsResult(DnsMessage.Empty(query, DnsMessage.NxDomain, EdeOther, $"{name} does not exist (the host's resolver said so)"),
                new DnsDecision(name, type, DnsOutcomes.NotFound, null, null, $"{type} {name}: the host's resolver knows no such name"));
        }
        var refused = new List<string>();
        string? denyRule = null;
        var kept = 0;
        var refusedRanges = ranges();
        foreach (var address in addresses)
        {
            if (refusedRanges.Check(address, 0, matcher.Opened) is { } range)
            {
                refused.Add(range.Message);
            }
            else if (DeniedOnEveryPort(matcher, name, address, EgressCodes.DeniedAddress) is { } rule)
            {
                denyRule ??= rule;
                refused.Add($"{address} is denied by network.deny entry '{rule}'");
            }
            else
            {
                kept++;
            }
        }
        if (kept == 0)
        {
            var code = denyRule is not null && refused.Count == 1 ? EgressCodes.DeniedAddress : EgressCodes.PrivateAddress;
            return Refuse(query, name, type, DnsMessage.NxDomain, code, denyRule,
                $"{name} resolves only to refused addresses: {string.Join("; ", refused.Take(3))}{(refused.Count > 3 ? $"; and {refused.Count - 3} more" : "")}");
        }
        int? allocated;
        try
        {
            allocated = names.Allocate(name);
        }
        catch (IOException e)
        {
            // The map could not be recorded (disk full): no address that a restart could give to another name.
            return new DnsResult(DnsMessage.Empty(query, DnsMessage.ServFail, EdeOther, $"the daemon could not record {name}: {e.Message}"),
                new DnsDecision(name, type, DnsOutcomes.Failed, null, null, $"{type} {name}: the sandbox's name map could not be written: {e.Message}"));
        }
        if (allocated is not { } index)
        {
            return Refuse(query, name, type, DnsMessage.NxDomain, EgressCodes.DnsLimit, null,
                $"{name} refused: this sandbox has resolved {SyntheticNames.MaxNames} different names, the most it may (create a new sandbox)");
        }
        // Both families get a synthetic answer whatever the upstream has: the proxy connects by name.
        var synthetic = query.Type == DnsMessage.TypeA ? SyntheticNames.V4(index) : SyntheticNames.V6(index);
        return new DnsResult(DnsMessage.Address(query, synthetic, Ttl),
            new DnsDecision(name, type, DnsOutcomes.Answered, null, null, $"{type} {name} answered {synthetic} ({kept} of {addresses.Length} upstream addresses usable)"));
    }

    /// <summary>
    /// A DNS query names no port, so a name resolves when the policy allows it on at least one port
    /// and no deny entry covers it on every port. Port 0 (which no entry covers) asks the first: deny
    /// entries are skipped there, and an allow entry that names the host answers "allowed" (public)
    /// or "other port" (egress_port). A deny on every port shows as a deny at both port 1 and 65535.
    /// Being generous here costs nothing: the proxy judges name and port again on connect.
    /// </summary>
    private static (string Code, string? Rule, string Message)? Judge(PolicyMatcher matcher, string name)
    {
        var anyPort = matcher.Decide(name, null, 0);
        if (anyPort.Code == EgressCodes.PolicyNone)
        {
            return (EgressCodes.PolicyNone, null, $"{name} refused: this sandbox's network policy is 'none', so no name resolves (set network.mode to 'allowlist' or 'public')");
        }
        if (DeniedOnEveryPort(matcher, name, null, EgressCodes.DeniedHost) is { } rule)
        {
            return (EgressCodes.DnsDenied, rule, $"{name} refused: denied by network.deny entry '{rule}'");
        }
        return anyPort.Allowed || anyPort.Code == EgressCodes.Port
            ? null
            : (EgressCodes.DnsDenied, null, $"{name} is not in this sandbox's allowlist (add it to network.allow)");
    }

    private static string? DeniedOnEveryPort(PolicyMatcher matcher, string name, IPAddress? address, string code)
    {
        var low = matcher.Decide(name, address, 1);
        var high = matcher.Decide(name, address, 65535);
        return !low.Allowed && low.Code == code && low.Rule is not null && !high.Allowed && high.Code == code && high.Rule is not null ? low.Rule : null;
    }

    private static DnsResult Refuse(DnsQuery query, string? name, string type, byte rcode, string code, string? rule, string message, ushort ede = EdeBlocked) =>
        new(DnsMessage.Empty(query, rcode, ede, $"{code}: {message}"), new DnsDecision(name, type, DnsOutcomes.Refused, code, rule, message));

    public static string TypeName(ushort type) => type switch
    {
        1 => "A", 2 => "NS", 5 => "CNAME", 6 => "SOA", 10 => "NULL", 12 => "PTR", 15 => "MX", 16 => "TXT", 28 => "AAAA",
        33 => "SRV", 35 => "NAPTR", 64 => "SVCB", 65 => "HTTPS", 255 => "ANY",
        _ => $"TYPE{type}",
    };
}
