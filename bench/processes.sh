#!/usr/bin/env bash
# bench/processes.sh - issue #4's performance targets (long-running work), measured through the HTTP API.
#
# usage: bench/processes.sh [--quick] [--skip-peers]
#   1. builds: the agent and the CLI into artifacts/ when sources changed (eng/ensure-deps.sh), and
#      bench/Hutch.ProcessBench into artifacts/process-bench
#   2. Hutch.ProcessBench (starts `hutch serve` on a temp data dir, drives it with Hutch.Client, stops it):
#      process start vs exec of `true`, log follow latency (stdin echo; timestamps written in the
#      sandbox), 100 concurrent background processes and the memory after, session exec vs exec,
#      the same round trips with 1000 ended process records kept
#   3. ../shared/peers/bench_peers.sh --quick in the same run, with `hutch run` as a custom peer: its
#      launch rows put a fresh sandbox per command (every peer) next to Hutch's process start in a
#      running sandbox; `none` (fork+exec, no sandbox) is the floor of any process start
# Results: $OUT (default bench/results/<date>-processes/): processes.txt (tables), samples.tsv (every
# sample, ms), peers.txt (the peers run), build logs. Run nothing CPU-bound meanwhile: on 2 cores a
# parallel build moves every percentile. Everything it creates is deleted.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK= SKIP_PEERS=
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift;;
    --skip-peers) SKIP_PEERS=1; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-processes}
mkdir -p "$OUT"
say() { printf '\n== %s %s\n' "$(date +%T)" "$*" >&2; }

say "build"
# shellcheck source=../eng/ensure-deps.sh
source "$REPO/eng/ensure-deps.sh"
{ ensure_deps procps:procps && ensure_built "$REPO"; } > "$OUT/build-hutch.txt" 2>&1 \
  || { cat "$OUT/build-hutch.txt" >&2; exit 1; }
dotnet build -c Release -o "$REPO/artifacts/process-bench" "$REPO/bench/Hutch.ProcessBench/Hutch.ProcessBench.csproj" > "$OUT/build.txt" 2>&1 \
  || { grep -m5 ' error ' "$OUT/build.txt" >&2; exit 1; }
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(df -T /tmp | awk 'NR==2{print $2}') under /tmp"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD)$( [[ -n $(git -C "$REPO" status --porcelain -- src) ]] && echo ' + uncommitted changes in src/')"
  echo "runc: $(runc --version | head -1); dotnet $(dotnet --version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/processes.txt"

say "Hutch.ProcessBench"
ARGS=(--cli "$REPO/artifacts/cli/hutch" --out "$OUT")
[[ -n $QUICK ]] && ARGS+=(--n 50 --records 200)
dotnet "$REPO/artifacts/process-bench/Hutch.ProcessBench.dll" "${ARGS[@]}" | tee -a "$OUT/processes.txt"
rc=${PIPESTATUS[0]}
echo "load average at the end of the bench: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/processes.txt"
((rc == 0)) || { echo "Hutch.ProcessBench failed (exit $rc)" >&2; exit "$rc"; }

if [[ -z $SKIP_PEERS ]]; then
  say "peers (quick), with hutch run as a custom peer"
  "$REPO/../shared/peers/bench_peers.sh" --quick --peer "hutch=$REPO/artifacts/cli/hutch run --workspace {ws} --" > "$OUT/peers.txt" 2>&1
  { echo; sed -n '/### Sandbox launch latency/,/^$/p' "$OUT/peers.txt"; } | tee -a "$OUT/processes.txt"
fi
echo "results in $OUT" >&2
