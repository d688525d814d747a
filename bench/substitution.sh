#!/usr/bin/env bash
# bench/substitution.sh - issue #12's substitution target: swapping a placeholder for its secret adds
# p50 <= 1 ms to a request through the egress proxy. In one run, from one sandbox, the same client
# (bench/lib/https_keepalive.py) sends HTTPS requests carrying the placeholder in Authorization to
#   secret.bench: one of the secret's hosts, so the daemon terminates TLS and substitutes;
#   plain.bench:  the same server under another name, relayed untouched (TLS end to end);
# on one kept-alive connection (the target), with GETs and with POSTs whose JSON body holds the
# placeholder too (the secret says header,body), and on new connections (a handshake each, reported apart).
# usage: bench/substitution.sh [--quick]   (--quick: 200 requests instead of 1000, 20 connections instead of 100)
# The upstream runs in a network namespace this script makes (veth 10.213.251.0/30, no route out),
# with a certificate from a CA made here; no traffic goes anywhere else. Results: $OUT (default
# bench/results/<date>-substitution/): substitution.txt. Run nothing else CPU-bound meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQUESTS=1000 CONNECTIONS=100
while (($#)); do
  case $1 in
    --quick) REQUESTS=200 CONNECTIONS=20; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 openssl:openssl || exit 1
ensure_built "$REPO" || exit 1
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-substitution}
WORK=$(mktemp -d /tmp/hutch-substitution-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
HUTCH=$REPO/artifacts/cli/hutch
CLIENT=$REPO/bench/lib/https_keepalive.py
say() { printf '== %s %s\n' "$(date +%T)" "$*" >&2; }

NET=10.213.251 NS=hutch-s-$$ HOSTIF=hs$$-h UPIF=hs$$-u UP=10.213.251.2
printf '%s secret.bench plain.bench\n' "$UP" > "$WORK/hosts"
export HUTCH_EGRESS_OPEN_NETWORKS=bench=$NET.0/30 HUTCH_EGRESS_HOSTS_FILE=$WORK/hosts HUTCH_EGRESS_CA_FILE=$WORK/ca.pem
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
SERVER=
source "$REPO/bench/lib/upstream-netns.sh"
scratch_daemon_env
trap bench_cleanup EXIT

say "a CA and the upstream's certificate for both names"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 1 -subj /CN=bench-ca 2>/dev/null \
  && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/up.key" -out "$WORK/up.csr" -subj /CN=secret.bench 2>/dev/null \
  && printf 'subjectAltName=DNS:secret.bench,DNS:plain.bench\n' > "$WORK/san" \
  && openssl x509 -req -in "$WORK/up.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 -extfile "$WORK/san" -out "$WORK/up.pem" 2>/dev/null || exit 1

say "upstream: netns $NS, $UP:8443"
upstream_netns_up || exit 1
coproc UPSTREAM { exec ip netns exec "$NS" python3 "$CLIENT" server "$UP" "$WORK/up.pem" "$WORK/up.key" 2>/dev/null; }
SERVER=$UPSTREAM_PID
read -r -t 10 ready <&"${UPSTREAM[0]}"; [[ $ready == ready ]] || { echo "the upstream did not start" >&2; exit 1; }

say "daemon, a secret for secret.bench, a sandbox holding its placeholder"
scratch_daemon_start || exit 1
printf 'sk-bench-%s' "$(openssl rand -hex 16)" | "$HUTCH" secret set API_KEY --host secret.bench --substitute header,body >/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
ID=$("$HUTCH" create --secret API_KEY --network allowlist --allow secret.bench:8443 --allow plain.bench:8443 --allow net:bench:9) \
  || { cat "$WORK/daemon.log" >&2; exit 1; }
"$HUTCH" fs write "$ID" client.py < "$CLIENT" >/dev/null && "$HUTCH" fs write "$ID" ca.pem < "$WORK/ca.pem" >/dev/null || exit 1
run() { "$HUTCH" exec "$ID" -- sh -c "python3 client.py $1 $2 $3 \$(test $2 = secret.bench && echo \$SSL_CERT_FILE || echo ca.pem)"; }

{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); python $(python3 -c 'import sys; print(sys.version.split()[0])')"
} | tee "$OUT/env.txt" >&2

say "warm-up (not counted): 200 requests each way"
run keepalive secret.bench 200 > /dev/null && run keepalive plain.bench 200 > /dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
say "$REQUESTS requests on one connection, twice each, alternating"
for round in 1 2; do
  run keepalive secret.bench "$REQUESTS" >> "$WORK/ka-secret"
  run keepalive plain.bench "$REQUESTS" >> "$WORK/ka-plain"
  run post secret.bench "$REQUESTS" >> "$WORK/post-secret"
  run post plain.bench "$REQUESTS" >> "$WORK/post-plain"
done
say "$CONNECTIONS new connections each"
run connect secret.bench "$CONNECTIONS" > "$WORK/new-secret"
run connect plain.bench "$CONNECTIONS" > "$WORK/new-plain"
EVENT=$("$HUTCH" net events "$ID" 2>/dev/null | grep -m1 -o 'TLS intercepted[^"]*' || true)

{
  cat "$OUT/env.txt"
  echo
  awk '{printf "kept-alive, substituted (secret.bench):  p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/ka-secret"
  awk '{printf "kept-alive, untouched (plain.bench):     p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/ka-plain"
  paste "$WORK/ka-secret" "$WORK/ka-plain" | awk '{s+=$1; p+=$3; n++} END {printf "substitution adds p50 %.3f ms per request (mean of the rounds; target <= 1 ms)\n", (s-p)/n}'
  awk '{printf "kept-alive POST, body substituted:       p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/post-secret"
  awk '{printf "kept-alive POST, untouched:              p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/post-plain"
  paste "$WORK/post-secret" "$WORK/post-plain" | awk '{s+=$1; p+=$3; n++} END {printf "header and body substitution add p50 %.3f ms per POST (target <= 1 ms)\n", (s-p)/n}'
  awk '{printf "new connection, substituted: p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/new-secret"
  awk '{printf "new connection, untouched:   p50 %.3f ms, p99 %.3f ms\n", $1, $2}' "$WORK/new-plain"
  paste "$WORK/new-secret" "$WORK/new-plain" | awk '{printf "a new intercepted connection adds p50 %.3f ms (two handshakes instead of one)\n", $1-$3}'
  echo "an event of the run: ${EVENT:-none found}"
} | tee "$OUT/substitution.txt"
