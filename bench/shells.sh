#!/usr/bin/env bash
# bench/shells.sh - issue #4's PTY target: echo round trip of one key over a shell's attach
# WebSocket, through `hutch serve` in its own process.
#
# usage: bench/shells.sh [--iterations N]
#   1. builds (./hutch doctor: artifacts/ when sources changed; dotnet build of bench/Hutch.ShellBench)
#   2. Hutch.ShellBench: p50/p90/p99 of the echo by bash's readline and by the tty line discipline (cat)
# Results: $OUT (default /tmp/hutch-bench/shells-<time>/shells.txt). Everything it creates is deleted.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARGS=()
while (($#)); do
  case $1 in
    --iterations) ARGS+=(--iterations "$2"); shift 2;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
OUT=${OUT:-/tmp/hutch-bench/shells-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
say() { printf '\n== %s %s\n' "$(date +%T)" "$*" >&2; }

say "build"
(cd "$REPO" && ./hutch doctor) > "$OUT/doctor.txt" 2>&1
dotnet build -c Release -o "$REPO/artifacts/shell-bench" "$REPO/bench/Hutch.ShellBench/Hutch.ShellBench.csproj" > "$OUT/build.txt" 2>&1 \
  || { grep -m5 ' error ' "$OUT/build.txt" >&2; exit 1; }
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD)"
} > "$OUT/shells.txt"

say "Hutch.ShellBench"
dotnet "$REPO/artifacts/shell-bench/Hutch.ShellBench.dll" --cli "$REPO/artifacts/cli/hutch" "${ARGS[@]}" | tee -a "$OUT/shells.txt"
echo "results in $OUT" >&2
