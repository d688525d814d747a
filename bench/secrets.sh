#!/usr/bin/env bash
# bench/secrets.sh - issue #12's redaction target: redaction on a 1 GiB output stream with 20
# secrets costs <= 10 % of throughput, side by side with redaction off, in one run:
#   1. the redactor alone (bench/Hutch.RedactionBench): 1 GiB of log text, base64 text and random
#      bytes in 64 KiB chunks, redacted against copied;
#   2. end to end: `hutch exec --max-output 1G ID -- head -c 1G FILE > /dev/null` from a sandbox with
#      20 secrets and from one with none, alternating (the file is log text, in the page cache).
# usage: bench/secrets.sh [--quick]   (--quick: 256 MiB and 1 run each instead of 1 GiB and 3)
# Results: $OUT (default bench/results/<date>-secrets/): secrets.txt. Heavy: run nothing else meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GIB=1 RUNS=3
while (($#)); do
  case $1 in
    --quick) GIB=0.25 RUNS=1; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 || exit 1
ensure_built "$REPO" || exit 1
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-secrets}
WORK=$(mktemp -d /tmp/hutch-secrets-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
HUTCH=$REPO/artifacts/cli/hutch
say() { printf '== %s %s\n' "$(date +%T)" "$*" >&2; }
source "$REPO/bench/lib/scratch-daemon.sh"
scratch_daemon_env
trap scratch_daemon_cleanup EXIT

{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD)"
} | tee "$OUT/env.txt" >&2

say "the redactor alone"
dotnet build -c Release -o "$WORK/bench" "$REPO/bench/Hutch.RedactionBench/Hutch.RedactionBench.csproj" > "$WORK/build.txt" 2>&1 \
  || { cat "$WORK/build.txt" >&2; exit 1; }
"$WORK/bench/Hutch.RedactionBench" "$GIB" "$RUNS" > "$WORK/redactor.txt" || exit 1

say "daemon, two sandboxes, $GIB GiB of log text in each"
scratch_daemon_start || exit 1
uses=()
for i in $(seq -w 1 20); do
  python3 -c "import secrets; print('sk-$i-' + secrets.token_hex(20), end='')" | "$HUTCH" secret set "BENCH_KEY_$i" >/dev/null || exit 1
  uses+=(--secret "BENCH_KEY_$i")
done
WITH=$("$HUTCH" create --disk 4096 "${uses[@]}") || { cat "$WORK/daemon.log" >&2; exit 1; }
WITHOUT=$("$HUTCH" create --disk 4096) || exit 1
BYTES=$(python3 -c "print(int($GIB * (1 << 30)))")
for id in "$WITH" "$WITHOUT"; do
  "$HUTCH" exec "$id" -- sh -c "yes '2026-12-04T05:00:00 INFO GET /api/v1/items 200 took 12 ms user=42 cache=miss' | head -c $BYTES > /workspace/out.log; cat /workspace/out.log > /dev/null" || exit 1
done
timed() { # prints MB/s of one exec that streams the file to /dev/null
  local start end
  start=$(date +%s.%N)
  "$HUTCH" exec --max-output 1G "$1" -- cat /workspace/out.log > /dev/null || return 1
  end=$(date +%s.%N)
  python3 -c "print(f'{$BYTES / ($end - $start) / 1e6:.0f}')"
}
say "end to end, alternating ($RUNS each)"
timed "$WITH" > /dev/null; timed "$WITHOUT" > /dev/null # warm: the daemon's JIT, the page cache
for _ in $(seq "$RUNS"); do
  timed "$WITHOUT" >> "$WORK/e2e-off" || exit 1
  timed "$WITH" >> "$WORK/e2e-on" || exit 1
done

{
  cat "$OUT/env.txt"
  echo
  cat "$WORK/redactor.txt"
  echo
  echo "end to end: hutch exec --max-output 1G ID -- cat (a $GIB GiB log file) > /dev/null"
  awk '{printf "  no secrets       MB/s: %s\n", $1}' "$WORK/e2e-off"
  awk '{printf "  20 secrets       MB/s: %s\n", $1}' "$WORK/e2e-on"
  paste "$WORK/e2e-off" "$WORK/e2e-on" | awk '{o+=$1; n+=$2} END {printf "  cost of redaction: %.1f %% (target <= 10 %%)\n", 100*(1-n/o)}'
} | tee "$OUT/secrets.txt"
