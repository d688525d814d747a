namespace Hutch.Runtime.Network;

/// <summary>
/// The one nftables ruleset of every sandbox's network namespace (docs/design/0009-egress.md, section 1),
/// loaded by <see cref="EgressPlumbing"/> with `nft -f -`. It is static: all policy lives in the daemon's
/// proxy and resolver, so no claim or policy change ever touches it. The comments are nft's own (`#`),
/// so what is loaded is what is explained.
/// </summary>
internal static class EgressRuleset
{
    public const string Family = "inet";
    public const string Table = "hutch";

    public const string Text = """
        # Atomic replace for nft < 1.0.8 (no "destroy"): declare (a no-op if it exists), delete, redefine,
        # all in one transaction. A second load, or one after a daemon restart, leaves exactly one table.
        table inet hutch {}
        delete table inet hutch
        table inet hutch {
          chain nat_out {
            # Locally generated packets only: a sandbox has no other device, so nothing is forwarded.
            # "dstnat" is not accepted as a priority name in the output hook, hence -100.
            type nat hook output priority -100; policy accept;
            # DNS over TCP goes to the proxy even when addressed to 127.0.0.1: it tells port 53 apart.
            tcp dport 53 redirect to :999
            # The sandbox's own servers (127.0.0.1, ::1, 198.18.0.1, ...) are reached as they are.
            fib daddr type local return
            # DNS to any resolver address goes to the daemon's resolver.
            meta l4proto { tcp, udp } th dport 53 redirect to :53
            # Every other TCP connection goes to the daemon's proxy, which reads where it was going
            # (SO_ORIGINAL_DST) and decides.
            meta l4proto tcp redirect to :999
          }
          chain filter_out {
            # Default drop: whatever is not named below never leaves the sandbox's own addresses.
            type filter hook output priority 0; policy drop;
            # Backstop on redirected connections per sandbox (the proxy has its own, lower limit).
            ct state new ct status dnat meta l4proto tcp ct count over 1024 reject with tcp reset
            # Loopback, the sandbox's own addresses, and everything the nat chain redirected (it is local now).
            fib daddr type local accept
            # TCP that was not redirected (none should be): fail at once rather than hang.
            meta l4proto tcp reject with tcp reset
            # UDP other than 53, ICMP, SCTP, ...: refused at once (sendto gets EPERM).
            reject with icmpx admin-prohibited
          }
        }
        """;
}
