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
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HUTCH_DATA_DIR=$WORK/data HUTCH_URL=http://127.0.0.1:$PORT HUTCH_AGENT=$REPO/artifacts/agent/hutch-agent
unset HUTCH_API_KEY
DAEMON=
cleanup() {
  [[ -n $DAEMON ]] && { "$HUTCH" ls 2>/dev/null | awk 'NR>1{print $1}' | xargs -r "$HUTCH" rm >/dev/null 2>&1; kill -TERM "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
  grep -o " $WORK/data[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount --lazy
  rm -rf "$WORK"
  rm -f "$TOOLS/mcp_roundtrip.mjs"
}
trap cleanup EXIT

mkdir -p "$HUTCH_DATA_DIR"
"$HUTCH" serve > "$WORK/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do "$HUTCH" ls >/dev/null 2>&1 && break; sleep 0.1; done
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); node $(node --version)"
} | tee "$OUT/env.txt" >&2
cp "$REPO/bench/lib/mcp_roundtrip.mjs" "$TOOLS/"
{
  cat "$OUT/env.txt"
  echo
  HUTCH_CLI=$HUTCH HUTCH_API_KEY=$(cat "$HUTCH_DATA_DIR/api-key") N=$N node "$TOOLS/mcp_roundtrip.mjs" || { cat "$WORK/daemon.log" >&2; exit 1; }
} | tee "$OUT/mcp.txt"
