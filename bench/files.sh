#!/usr/bin/env bash
# bench/files.sh - issue #3's performance targets (workspace files), measured through the HTTP API.
#
# usage: bench/files.sh [--quick] [--skip-peers]
#   1. builds (./hutch doctor: artifacts/ when sources changed; dotnet build of bench/Hutch.FilesBench)
#   2. Hutch.FilesBench: 1 GiB upload/download vs local `cp` of the same file (interleaved), checkpoint,
#      diff and reset of the 1 GiB workspace, recursive listing of 100,000 files
#   3. ../shared/peers/bench_peers.sh --quick in the same run, with Hutch as a custom peer: its "File I/O
#      in the workspace" rows are dd inside each sandbox (bwrap, crun, srt, ... and `hutch run`)
# Results: $OUT (default /tmp/hutch-bench/files-<time>/): files.txt, peers.txt.
# Heavy: run nothing else CPU-bound meanwhile. Everything it creates is deleted.
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
OUT=${OUT:-/tmp/hutch-bench/files-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
say() { printf '\n== %s %s\n' "$(date +%T)" "$*" >&2; }

command -v socat >/dev/null || apt-get install -y -q socat >/dev/null   # the network floor row
say "build"
(cd "$REPO" && ./hutch doctor) > "$OUT/doctor.txt" 2>&1
dotnet build -c Release -o "$REPO/artifacts/files-bench" "$REPO/bench/Hutch.FilesBench/Hutch.FilesBench.csproj" > "$OUT/build.txt" 2>&1 \
  || { grep -m5 ' error ' "$OUT/build.txt" >&2; exit 1; }
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(df -T /tmp | awk 'NR==2{print $2}') under /tmp"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD)"
} > "$OUT/files.txt"

say "Hutch.FilesBench"
ARGS=(--cli "$REPO/artifacts/cli/hutch")
[[ -n $QUICK ]] && ARGS+=(--runs 3 --size-mib 256 --files 10000)
dotnet "$REPO/artifacts/files-bench/Hutch.FilesBench.dll" "${ARGS[@]}" | tee -a "$OUT/files.txt"

if [[ -z $SKIP_PEERS ]]; then
  say "peers (quick), with hutch run as a custom peer"
  "$REPO/../shared/peers/bench_peers.sh" --quick --peer "hutch=$REPO/artifacts/cli/hutch run --workspace {ws} --" > "$OUT/peers.txt" 2>&1
  sed -n '/### File I\/O/,/^$/p' "$OUT/peers.txt" | tee -a "$OUT/files.txt"
fi
echo "results in $OUT" >&2
