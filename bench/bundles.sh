#!/usr/bin/env bash
# bench/bundles.sh - issue #15's bundle target: a sandbox with five bundles mounted creates as fast as
# one without, in the same run. p50 of create + first exec through the HTTP API, warm pool and cold,
# 0 and 5 bundles interleaved (bench/lib/bundle_bench.py). The bundles are small directories
# (a SKILL.md, a script, 50 data files) pushed once with `hutch bundle push`.
# usage: bench/bundles.sh [--quick]   (--quick: 5 creates per way instead of 20)
# Results: $OUT (default bench/results/<date>-bundles/). Run nothing else CPU-bound meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=20
while (($#)); do
  case $1 in
    --quick) N=5; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 || exit 1
ensure_built "$REPO" || exit 1
HUTCH=$REPO/artifacts/cli/hutch
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-bundles}
WORK=$(mktemp -d /tmp/hutch-bundles-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
source "$REPO/bench/lib/scratch-daemon.sh"
scratch_daemon_env
export HUTCH_WARM_POOL=2
trap scratch_daemon_cleanup EXIT
scratch_daemon_start || exit 1
NAMES=()
for i in 1 2 3 4 5; do
  dir=$WORK/src/b$i
  mkdir -p "$dir/data"
  printf 'skill %s\n' "$i" > "$dir/SKILL.md"
  printf '#!/bin/sh\necho tool %s\n' "$i" > "$dir/tool.sh" && chmod 755 "$dir/tool.sh"
  for f in $(seq 50); do head -c 4096 /dev/urandom > "$dir/data/$f.bin"; done
  "$HUTCH" bundle push "$dir" --name "bench$i" >/dev/null || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
  NAMES+=("bench$i")
done
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); bundles: 5 x 52 files (~200 KiB each)"
  echo
  BUNDLES=$(IFS=,; echo "${NAMES[*]}") N=$N python3 "$REPO/bench/lib/bundle_bench.py" || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
} | tee "$OUT/bundles.txt"
