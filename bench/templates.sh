#!/usr/bin/env bash
# bench/templates.sh - issue #14's targets: create + first exec from a template with the warm pool
# (p50 <= 15 ms) and cold (<= 60 ms), beside the host's root in the same run; the disk an unmodified
# template sandbox costs (< 1 MiB); 200 sandboxes of one template without copying it.
# usage: bench/templates.sh [--quick]   (--quick: 5 creates per way, 20 sandboxes for density)
# The template is a Debian base (minbase) made by `hutch template debian --save` once and kept in
# /var/cache/hutch-tests (as eng/test.sh does). Results: $OUT (default bench/results/<date>-templates/).
# Run nothing else CPU-bound meanwhile.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=15 DENSITY=200
while (($#)); do
  case $1 in
    --quick) N=5 DENSITY=20; shift;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
source "$REPO/eng/ensure-deps.sh"
ensure_deps python3:python3 mmdebstrap:mmdebstrap || exit 1
ensure_built "$REPO" || exit 1
HUTCH=$REPO/artifacts/cli/hutch
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
ROOTFS=/var/cache/hutch-tests/debian-$SUITE-minbase.tar
if [[ ! -s $ROOTFS ]]; then
  mkdir -p "$(dirname "$ROOTFS")"
  "$HUTCH" template debian --suite "$SUITE" --save "$ROOTFS.part" >/dev/null && mv "$ROOTFS.part" "$ROOTFS" || exit 1
fi
OUT=${OUT:-$REPO/bench/results/$(date +%Y%m%d)-templates}
WORK=$(mktemp -d /tmp/hutch-templates-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"
source "$REPO/bench/lib/scratch-daemon.sh"
scratch_daemon_env
export HUTCH_WARM_POOL=2 HUTCH_WARM_POOL_TEMPLATES=bench:1=2 HUTCH_MAX_SANDBOXES=$((DENSITY + 20))
trap scratch_daemon_cleanup EXIT
scratch_daemon_start || exit 1
"$HUTCH" template import "$ROOTFS" --rootfs --name bench:1 >/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD); template: $SUITE minbase ($(du -h "$ROOTFS" | cut -f1) tar)"
  echo
  TEMPLATE=bench:1 N=$N DENSITY=$DENSITY python3 "$REPO/bench/lib/template_bench.py" || { tail -20 "$WORK/daemon.log" >&2; exit 1; }
} | tee "$OUT/templates.txt"
