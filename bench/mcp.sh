#!/usr/bin/env bash
# bench/mcp.sh - issue #13's target: a tool call's round trip of `exec true` through `hutch mcp`
# (stdio) and the daemon's /mcp (streamable HTTP), p50 <= 5 ms, beside the plain HTTP API's exec in
# the same sandbox, in one run (bench/lib/mcp_roundtrip.mjs, the official TypeScript SDK's client;
# the plain call with node's fetch). Two rounds each way, alternating.
# usage: bench/mcp.sh [--quick]   (--quick: 100 calls per way instead of 500)
# Results: $OUT (default bench/results/<date>-mcp/): mcp.txt. Run nothing else CPU-bound meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=500
while (($#)); do
  case $1 in
    --quick) N=100; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 || exit 1
ensure_built "$REPO" || exit 1
TOOLS=$(ensure_npm_tools "$REPO") || exit 1
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-mcp}
WORK=$(mktemp -d /tmp/hutch-mcp-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
HUTCH=$REPO/artifacts/cli/hutch
source "$REPO/bench/lib/scratch-daemon.sh"
scratch_daemon_env
trap 'scratch_daemon_cleanup; rm -f "$TOOLS/mcp_roundtrip.mjs"' EXIT

# The floor under any exec: this host's own cost of starting `sh -c true` and reaping it
# (posix_spawn, as the agent does, with no sandbox, daemon or HTTP), like the peers' `none`.
spawn_floor() {
  python3 - "$1" "$N" <<'PY'
import os, sys, time
samples = []
for i in range(int(sys.argv[2]) + 20):
    start = time.perf_counter()
    os.waitpid(os.posix_spawn("/bin/sh", ["sh", "-c", "true"], os.environ), 0)
    samples.append((time.perf_counter() - start) * 1000)
samples = sorted(samples[20:])
at = lambda q: "%.2f" % samples[min(len(samples) - 1, int(len(samples) * q))]
print(f"{sys.argv[1]}: host posix_spawn of sh -c true  p50 {at(0.5)} p90 {at(0.9)} p99 {at(0.99)} ms (n={len(samples)})")
PY
}

scratch_daemon_start || exit 1
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); node $(node --version)"
} | tee "$OUT/env.txt" >&2
cp "$REPO/bench/lib/mcp_roundtrip.mjs" "$TOOLS/"
{
  cat "$OUT/env.txt"
  echo
  spawn_floor before
  HUTCH_CLI=$HUTCH HUTCH_API_KEY=$(cat "$HUTCH_DATA_DIR/api-key") N=$N node "$TOOLS/mcp_roundtrip.mjs" || { cat "$WORK/daemon.log" >&2; exit 1; }
  spawn_floor after
} | tee "$OUT/mcp.txt"
