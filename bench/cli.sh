#!/usr/bin/env bash
# bench/cli.sh - issue #10's targets for the CLI a harness calls once per command, side by side in
# one run with bwrap and raw `runc run` of /bin/true, and with engine/hutch-engine, the same command
# tree framework-dependent (JIT + ReadyToRun) as `hutch` was before it was NativeAOT:
#   `hutch --version` <= 10 ms; `hutch exec ID -- true` <= 8 ms p50; `hutch run -- true` through a
#   running daemon with its warm pool <= 25 ms p50.
# usage: bench/cli.sh [--runs N] [--compare HUTCH]   (default 100 runs per command after 5 warmups,
#   hyperfine -N; --compare adds another build of `hutch`, e.g. the last commit's, timed in the same run)
# `run` is timed twice: back to back (the pool of 2 refills while the next run already asks), and with
# 300 ms between runs (a harness's think time; the pool is full again), which hyperfine does not count.
# Results: $OUT (default /tmp/hutch-bench/cli-<time>/): cli.json, cli-spaced.json, summary.txt.
# Heavy: run nothing else CPU-bound meanwhile. The daemon, its sandboxes and the runc bundle are removed.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=100
COMPARE=
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2;;
    --compare) COMPARE=$2; shift 2;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
source "$REPO/bench/lib/runc-bundle.sh"
ensure_deps hyperfine:hyperfine bwrap:bubblewrap jq:jq || exit 1
ensure_built "$REPO" || exit 1
OUT=${OUT:-/tmp/hutch-bench/cli-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
HUTCH=$REPO/artifacts/cli/hutch
# The same command tree, framework-dependent and ReadyToRun: what `hutch` was before it was NativeAOT.
ENGINE=$REPO/artifacts/cli/engine/hutch-engine

# A daemon of its own: its data dir, a free port, the default warm pool (2).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HUTCH_DATA_DIR=$OUT/data HUTCH_URL=http://127.0.0.1:$PORT HUTCH_AGENT=$REPO/artifacts/agent/hutch-agent
unset HUTCH_API_KEY
mkdir -p "$HUTCH_DATA_DIR"
"$HUTCH" serve > "$OUT/daemon.log" 2>&1 &
DAEMON=$!
cleanup() {
  [[ -n ${ID:-} ]] && "$HUTCH" rm "$ID" >/dev/null 2>&1
  kill -TERM "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
  runc --root "$OUT/runc-state" delete --force bench-true >/dev/null 2>&1
  grep -o " $OUT/data[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount --lazy
  rm -rf "$OUT/data" "$OUT/runc-bundle" "$OUT/runc-state"
}
trap cleanup EXIT
for _ in $(seq 100); do "$HUTCH" ls >/dev/null 2>&1 && break; sleep 0.1; done
ID=$("$HUTCH" create) || { echo "the daemon did not start: see $OUT/daemon.log" >&2; exit 1; }

make_runc_bundle "$OUT/runc-bundle" || exit 1
mkdir -p "$OUT/runc-state"
BWRAP=(bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL
       --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
       --proc /proc --dev /dev --tmpfs /tmp -- /bin/true)

{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); runc: $(runc --version | head -1); $(bwrap --version)"
} | tee "$OUT/env.txt"

COMPARED=()
if [[ -n $COMPARE ]]; then
  COMPARED=(-n "compared hutch --version" "$COMPARE --version"
            -n "compared hutch exec ID -- true" "$COMPARE exec $ID -- true")
fi
hyperfine -N --style none --warmup 5 --runs "$RUNS" --export-json "$OUT/cli.json" \
  -n "hutch --version" "$HUTCH --version" \
  -n "hutch exec ID -- true" "$HUTCH exec $ID -- true" \
  "${COMPARED[@]}" \
  -n "hutch run -- true (daemon, back to back)" "$HUTCH run -- true" \
  -n "hutch-engine --version (JIT+R2R, as before)" "$ENGINE --version" \
  -n "hutch-engine exec ID -- true (as before)" "$ENGINE exec $ID -- true" \
  -n "bwrap /bin/true" "${BWRAP[*]}" \
  -n "runc run /bin/true (userns, like Hutch's)" "runc --root $OUT/runc-state run -b $OUT/runc-bundle bench-true" \
  > "$OUT/hyperfine.txt" 2>&1 || { cat "$OUT/hyperfine.txt" >&2; exit 1; }
hyperfine -N --style none --warmup 3 --runs "$((RUNS / 2))" --prepare "sleep 0.3" --export-json "$OUT/cli-spaced.json" \
  -n "hutch run -- true (daemon, 300 ms apart)" "$HUTCH run -- true" \
  >> "$OUT/hyperfine.txt" 2>&1 || { cat "$OUT/hyperfine.txt" >&2; exit 1; }

{
  cat "$OUT/env.txt"
  printf '\n%-44s | %7s | %7s | %7s | %s\n' "command" "p50 ms" "p90 ms" "mean ms" "runs"
  jq -rs '[.[].results[]] | .[] | (.times | sort) as $t
    | [.command, ($t[($t|length)/2|floor]*1000), ($t[($t|length)*0.9|floor]*1000), (.mean*1000), ($t|length)]
    | @tsv' "$OUT/cli.json" "$OUT/cli-spaced.json" \
    | awk -F'\t' '{ printf "%-44s | %7.2f | %7.2f | %7.2f | %d\n", $1, $2, $3, $4, $5 }'
  echo "raw data: $OUT"
} | tee "$OUT/summary.txt"
