#!/usr/bin/env bash
# bench/artifacts.sh - issue #15's artifact targets: detection after an exec in a workspace of
# 100,000 files when nothing changed (p50 <= 20 ms), as the exec round trip with globs minus the same
# without, for a glob over one directory (out/**) and one over every directory (**/*.csv); and the
# upload of a 1 GiB artifact to the local store (>= 80 % of cp from the same workspace to the same
# file system as the store).
# usage: bench/artifacts.sh [--quick]   (--quick: 20 execs per way, 256 MiB file)
# Results: $OUT (default bench/results/<date>-artifacts/). Run nothing else CPU-bound meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=60 MIB=1024
while (($#)); do
  case $1 in
    --quick) N=20 MIB=256; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 || exit 1
ensure_built "$REPO" || exit 1
HUTCH=$REPO/artifacts/cli/hutch
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-artifacts}
WORK=$(mktemp -d /tmp/hutch-artifacts-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
source "$REPO/bench/lib/scratch-daemon.sh"
scratch_daemon_env
trap scratch_daemon_cleanup EXIT
scratch_daemon_start || exit 1
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD)"
  echo
  N=$N MIB=$MIB python3 "$REPO/bench/lib/artifact_bench.py" || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
} | tee "$OUT/artifacts.txt"
