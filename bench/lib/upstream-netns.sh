# bench/lib/upstream-netns.sh - sourced by the egress benches: an upstream's own network namespace
# (a veth pair, NET.1 on the host and NET.2 inside, no route out, so no traffic leaves this host),
# and the one cleanup that removes everything a bench made (its daemon's sandboxes, the daemon, the
# upstream server, the namespace, mounts under its work dir, the work dir).
# Uses the caller's variables: NET NS HOSTIF UPIF (the namespace), SERVER and scratch-daemon.sh's (cleanup).

upstream_netns_up() {
  if ip -o addr | grep -q " $NET\."; then echo "$NET.0/30 is in use on this host; free it first" >&2; return 1; fi
  ip netns add "$NS" && ip link add "$HOSTIF" type veth peer name "$UPIF" netns "$NS" \
    && ip addr add "$NET.1/30" dev "$HOSTIF" && ip link set "$HOSTIF" up \
    && ip -n "$NS" addr add "$NET.2/30" dev "$UPIF" && ip -n "$NS" link set "$UPIF" up && ip -n "$NS" link set lo up
}

source "$(dirname "${BASH_SOURCE[0]}")/scratch-daemon.sh"

bench_cleanup() {
  [[ -n ${SERVER:-} ]] && kill "$SERVER" 2>/dev/null
  ip link del "$HOSTIF" 2>/dev/null; ip netns del "$NS" 2>/dev/null
  scratch_daemon_cleanup
}
