#!/usr/bin/env bash
# bench/egress.sh - issue #11's egress targets, side by side in one run with the same client on the
# host (the direct path, no sandbox):
#   a 1 GiB download from a local upstream through the egress path >= 80 % of the same on the host;
#   added connect latency p50 <= 1 ms (connect to first byte of a server-speaks-first upstream);
#   1,000 concurrent connections across 50 sandboxes without error; the proxy's memory per idle
#   connection (the daemon's RSS with them held, against after they closed).
# usage: bench/egress.sh [--quick]   (--quick: 1 download each instead of 3, 200 latency samples
#   instead of 1000, 10 sandboxes instead of 50)
# The upstream runs in a network namespace this script makes (veth 10.213.250.0/30, no route out);
# no traffic goes anywhere else. Results: $OUT (default bench/results/<date>-egress/): egress.txt.
# Heavy: run nothing else CPU-bound meanwhile. Everything it creates is removed.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOWNLOADS=3 SAMPLES=1000 SANDBOXES=50 PER_SANDBOX=20
while (($#)); do
  case $1 in
    --quick) DOWNLOADS=1 SAMPLES=200 SANDBOXES=10; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps curl:curl python3:python3 || exit 1
ensure_built "$REPO" || exit 1
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-egress}
WORK=$(mktemp -d /tmp/hutch-egress-bench.XXXXXX)
chmod 755 "$WORK" # the sandboxes' users traverse it to their rootfs and workspaces
mkdir -p "$OUT"
HUTCH=$REPO/artifacts/cli/hutch
say() { printf '== %s %s\n' "$(date +%T)" "$*" >&2; }

NET=10.213.250 NS=hutch-b-$$ HOSTIF=hb$$-h UPIF=hb$$-u UP=10.213.250.2
export HUTCH_EGRESS_OPEN_NETWORKS=bench=$NET.0/30
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
SERVER=
source "$REPO/bench/lib/upstream-netns.sh"
scratch_daemon_env
trap bench_cleanup EXIT

say "upstream: netns $NS, $UP, a 1 GiB file served with sendfile"
upstream_netns_up || exit 1
dd if=/dev/zero of="$WORK/1g" bs=1M count=1024 status=none && cat "$WORK/1g" > /dev/null # in the page cache: the upstream's disk is not measured
coproc UPSTREAM { exec ip netns exec "$NS" python3 "$REPO/bench/lib/egress_upstream.py" "$UP" "$WORK/1g" 2>/dev/null; }
SERVER=$UPSTREAM_PID
read -r -t 10 ready <&"${UPSTREAM[0]}"; [[ $ready == ready ]] || { echo "the upstream did not start" >&2; exit 1; }

say "daemon"
scratch_daemon_start || exit 1
DPID=$(pgrep -f "hutch-engine serve" | head -1)
ID=$("$HUTCH" create --allow net:bench) || { cat "$WORK/daemon.log" >&2; exit 1; }
"$HUTCH" fs write "$ID" probe.py < "$REPO/bench/lib/egress_probe.py" >/dev/null || exit 1

{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); python $(python3 -c 'import sys; print(sys.version.split()[0])'); $(curl --version | head -1 | cut -d' ' -f1-2)"
} | tee "$OUT/env.txt" >&2

say "1 GiB download, host and sandbox alternating ($DOWNLOADS each)"
URL=http://$UP:8080/
# One of each first, not counted: a long-running daemon has compiled its relay by then (tiered JIT
# threads took a tenth of the CPU during a fresh daemon's first download).
curl -s -o /dev/null "$URL"
"$HUTCH" exec "$ID" -- curl -s -o /dev/null "$URL"
for i in $(seq "$DOWNLOADS"); do
  curl -s -o /dev/null -w '%{speed_download}\n' "$URL" >> "$WORK/dl-host"
  "$HUTCH" exec "$ID" -- curl -s -o /dev/null -w '%{speed_download}\n' "$URL" >> "$WORK/dl-sandbox"
done

say "connect to first byte, $SAMPLES sequential connections each"
LAT_HOST=$(python3 "$REPO/bench/lib/egress_probe.py" latency "$UP" 7000 "$SAMPLES")
LAT_SANDBOX=$("$HUTCH" exec "$ID" -- python3 probe.py latency "$UP" 7000 "$SAMPLES")

say "$((SANDBOXES * PER_SANDBOX)) connections at once across $SANDBOXES sandboxes"
IDS=()
for i in $(seq "$SANDBOXES"); do IDS+=("$("$HUTCH" create --allow net:bench)"); done
for id in "${IDS[@]}"; do "$HUTCH" fs write "$id" probe.py < "$REPO/bench/lib/egress_probe.py" >/dev/null; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"; }
tcpmem() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
RSS_BEFORE=$(rss) MEM_BEFORE=$(tcpmem)
printf '%s\n' "${IDS[@]}" | xargs -P "$SANDBOXES" -I{} "$HUTCH" exec {} -- python3 probe.py hold "$UP" 7000 "$PER_SANDBOX" 6 > "$WORK/hold" &
HOLD=$!
sleep 4
RSS_HELD=$(rss) MEM_HELD=$(tcpmem)
OPEN=$(ss -tn state established "dst $UP:7000" | tail -n +2 | wc -l)
wait "$HOLD"
sleep 2
RSS_AFTER=$(rss)
OK=$(awk '{s+=$2} END {print s+0}' "$WORK/hold")
FAILED=$(awk '{s+=$4} END {print s+0}' "$WORK/hold")

{
  cat "$OUT/env.txt"
  echo
  awk '{printf "download host    MB/s: %.0f\n", $1/1e6}' "$WORK/dl-host"
  awk '{printf "download sandbox MB/s: %.0f\n", $1/1e6}' "$WORK/dl-sandbox"
  paste "$WORK/dl-host" "$WORK/dl-sandbox" | awk '{h+=$1; s+=$2} END {printf "download through egress / host: %.1f %% (target >= 80 %%)\n", 100*s/h}'
  echo "connect to first byte, host:    $LAT_HOST ms"
  echo "connect to first byte, sandbox: $LAT_SANDBOX ms"
  awk -v h="$LAT_HOST" -v s="$LAT_SANDBOX" 'BEGIN {split(h,a," "); split(s,b," "); printf "added p50: %.3f ms (target <= 1 ms)\n", b[2]-a[2]}'
  echo "concurrent: $OK of $((SANDBOXES * PER_SANDBOX)) got their banner, $FAILED failed; $OPEN upstream connections open while held (target: all, none failed)"
  awk -v b="$RSS_BEFORE" -v h="$RSS_HELD" -v a="$RSS_AFTER" -v n="$OK" 'BEGIN {printf "daemon RSS: %d KiB before, %d held, %d after; per held connection: %.1f KiB (held - before; the execs that hold them count too)\n", b, h, a, (h-b)/(n>0?n:1)}'
  awk -v b="$MEM_BEFORE" -v h="$MEM_HELD" -v n="$OK" 'BEGIN {printf "kernel TCP memory: %d pages before, %d held: %.2f KiB per held connection (its three sockets: sandbox, proxy side, upstream side)\n", b, h, (h-b)*4/(n>0?n:1)}'
} | tee "$OUT/egress.txt"
