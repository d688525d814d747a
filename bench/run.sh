#!/usr/bin/env bash
# bench/run.sh - issue #2's performance targets, Hutch side by side with raw runc, bwrap, crun, srt.
#
# usage: bench/run.sh [--quick] [--skip-peers] [--skip-runc] [--skip-api] [-- Hutch.Bench options]
#   1. builds (./hutch doctor builds artifacts/ when sources changed; dotnet build of bench/Hutch.Bench)
#   2. raw `runc run` of /bin/true in a bundle like Hutch's (userns, read-only root, /usr bound), with
#      hyperfine; plus `runc run --detach` + `runc delete --force` of an idle container (what create
#      and delete pay), and delete after a SIGKILL of the init
#   3. ../shared/peers/bench_peers.sh with Hutch as a custom peer (`hutch run --workspace {ws} --`)
#   4. Hutch.Bench: create / first exec / exec round trip / idle memory / density through the HTTP API
#   5. one combined table
# Results: $OUT (default /tmp/hutch-bench/<time>/): runc.txt, peers.txt, api.txt, api.json, combined.txt.
# Needs root, runc, jq, hyperfine; the peers need bubblewrap firejail crun socat and
# `npm install -g @anthropic-ai/sandbox-runtime` (missing peers are skipped by the harness).
# Heavy: run nothing else CPU-bound meanwhile. Every sandbox and container it creates is deleted.
set -uo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK= SKIP_PEERS= SKIP_RUNC= SKIP_API=
BENCH_ARGS=()
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift;;
    --skip-peers) SKIP_PEERS=1; shift;;
    --skip-runc) SKIP_RUNC=1; shift;;
    --skip-api) SKIP_API=1; shift;;
    --) shift; BENCH_ARGS=("$@"); break;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2;;
  esac
done
OUT=${OUT:-/tmp/hutch-bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
source "$REPO/bench/lib/runc-bundle.sh"
say() { printf '\n== %s %s\n' "$(date +%T)" "$*" >&2; }
T0=$EPOCHREALTIME

# ------------------------------------------------------------------ 1. build
say "build"
(cd "$REPO" && ./hutch doctor) > "$OUT/doctor.txt" 2>&1 || { echo "./hutch doctor failed: see $OUT/doctor.txt" >&2; tail -20 "$OUT/doctor.txt" >&2; }
# (others edit src/ meanwhile: when the tree does not build right now, use the last good bench build)
if ! dotnet build -c Release -o "$REPO/artifacts/bench" "$REPO/bench/Hutch.Bench/Hutch.Bench.csproj" > "$OUT/build-bench.txt" 2>&1; then
  grep -m3 ' error ' "$OUT/build-bench.txt" >&2
  [[ -f $REPO/artifacts/bench/Hutch.Bench.dll ]] || { echo "bench build failed: see $OUT/build-bench.txt" >&2; exit 1; }
  echo "bench build failed (src/ mid-edit?): using the previous build in artifacts/bench, from $(date -r "$REPO/artifacts/bench/Hutch.Bench.dll" -Is)" | tee "$OUT/build-note.txt" >&2
fi
HUTCH=$REPO/artifacts/cli/hutch
AGENT=$REPO/artifacts/agent/hutch-agent
{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) cpu, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "cpu: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "hutch: $(cd "$REPO" && git rev-parse --short HEAD) $(cd "$REPO" && git status --porcelain src | wc -l | awk '{print ($1 ? "(+" $1 " uncommitted src changes)" : "")}')"
  echo "runc: $(runc --version | head -1); dotnet $(dotnet --version)"
  [[ -f $OUT/build-note.txt ]] && cat "$OUT/build-note.txt"
} | tee "$OUT/env.txt" >&2

# ------------------------------------------------------------------ 2. raw runc
runc_bench() {
  local B=$OUT/runc-bundle S=$OUT/runc-state
  mkdir -p "$S"
  make_runc_bundle "$B" || return 1
  local runs=${QUICK:+10}; runs=${runs:-50}
  hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$OUT/runc-true.json" \
    "runc --root $S run -b $B bench-true" > "$OUT/runc-hf.txt" 2>&1 || { cat "$OUT/runc-hf.txt" >&2; return 1; }
  # run --detach of an idle init, then delete: --force on the running container, or SIGKILL + wait first
  cp "$B/idle.json" "$B/config.json"
  local i t0 t1 t2 pid
  : > "$OUT/runc-detach.tsv"
  for ((i = 0; i < runs; i++)); do
    t0=$EPOCHREALTIME
    runc --root "$S" run -d -b "$B" bench-idle </dev/null >/dev/null 2>>"$OUT/runc-errors.txt" || { echo "runc run -d failed" >&2; break; }
    t1=$EPOCHREALTIME
    if ((i % 2 == 0)); then
      runc --root "$S" delete --force bench-idle; t2=$EPOCHREALTIME
      echo "$t0 $t1 $t2 force" >> "$OUT/runc-detach.tsv"
    else
      pid=$(jq -r .pid < <(runc --root "$S" state bench-idle))
      t1=$EPOCHREALTIME   # state is not part of delete's cost
      kill -KILL "$pid"
      # dead = zombie or gone (whoever reaps it: pid 1 here, as for Hutch's agents); runc counts a zombie as stopped
      while read -r _ _ st _ < "/proc/$pid/stat" 2>/dev/null && [[ $st != Z ]]; do :; done
      runc --root "$S" delete bench-idle; t2=$EPOCHREALTIME
      echo "$t0 $t1 $t2 killfirst" >> "$OUT/runc-detach.tsv"
    fi
  done
  runc --root "$S" delete --force bench-idle >/dev/null 2>&1
  cp "$B/true.json" "$B/config.json"
  {
    jq -r '.results[0] | (.times|sort) as $t | "runc run /bin/true (userns, ro root, /usr bound; hyperfine -N, n=\($t|length)): median \($t[($t|length)/2|floor]*1000*100|round/100) ms, mean \(.mean*1000*100|round/100) ms, min \($t[0]*1000*100|round/100) ms"' "$OUT/runc-true.json"
    awk '{ r[NR] = ($2 - $1) * 1000; d = ($3 - $2) * 1000; if ($4 == "force") f[++nf] = d; else k[++nk] = d }
         function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return n ? a[int((n + 1) / 2)] : -1 }
         END { printf "runc run --detach of an idle init (sleep), n=%d: median %.1f ms\n", NR, med(r, NR);
               printf "runc delete --force of the running container, n=%d: median %.1f ms\n", nf, med(f, nf);
               printf "SIGKILL the init, wait until it is a zombie, then runc delete, n=%d: median %.1f ms\n", nk, med(k, nk) }' "$OUT/runc-detach.tsv"
  } | tee "$OUT/runc.txt" >&2
}
if [[ -z $SKIP_RUNC ]]; then say "raw runc"; runc_bench || echo "raw runc bench failed" >&2; fi

# ------------------------------------------------------------------ 3. peers harness with hutch run
if [[ -z $SKIP_PEERS ]]; then
  say "peers harness ${QUICK:+(--quick)}"
  export HUTCH_DATA_DIR=$OUT/hutch-run-data HUTCH_AGENT=$AGENT
  mkdir -p "$HUTCH_DATA_DIR"
  # FILL_MAX: `hutch run` keeps one .NET process per idle sandbox; 200 of them is several GiB, so cap the fill.
  FILL_MAX=${FILL_MAX:-100} PEERS_ROOT=$OUT/peers "$REPO/../shared/peers/bench_peers.sh" ${QUICK:+--quick} \
    --peer "hutch=$HUTCH run --workspace {ws} --" > "$OUT/peers.txt" 2> "$OUT/peers.log"
  echo "peers harness rc=$?" >&2
  cat "$OUT/peers.txt"
  # nothing of `hutch run` may be left
  left=$(HUTCH_DATA_DIR=$OUT/hutch-run-data runc --root "$OUT/hutch-run-data/runc" list -q 2>/dev/null | wc -l)
  echo "hutch run: runc containers left: $left" | tee -a "$OUT/peers.txt" >&2
  grep -o " $OUT/hutch-run-data[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount --lazy
  rm -rf "$OUT/hutch-run-data" 2>/dev/null
fi

# ------------------------------------------------------------------ 4. Hutch.Bench through the HTTP API
if [[ -z $SKIP_API ]]; then
  say "Hutch.Bench (HTTP API)"
  qa=(); [[ -n $QUICK ]] && qa=(--quick)
  dotnet "$REPO/artifacts/bench/Hutch.Bench.dll" --repo "$REPO" --agent "$AGENT" "${qa[@]}" --out "$OUT/api.json" "${BENCH_ARGS[@]}" \
    > "$OUT/api.txt" 2> "$OUT/api.log"
  echo "Hutch.Bench rc=$?" >&2
  cat "$OUT/api.txt"
fi

# ------------------------------------------------------------------ 5. combined table
say "combined"
{
  PR=$(ls -d "$OUT"/peers/results/*/ 2>/dev/null | tail -1)
  cat "$OUT/env.txt"
  echo
  echo "### Fresh sandbox running \`true\`, launch to exit (median ms; ratio = Hutch API create+first exec p50 divided by this)"
  api_sum=$(jq -r '.create_plus_first_exec.p50 // empty' "$OUT/api.json" 2>/dev/null)
  printf '%-34s | %9s | %s\n' "what" "median ms" "ratio"
  row() { printf '%-34s | %9.2f | %s\n' "$1" "$2" "$(awk -v a="$api_sum" -v b="$2" 'BEGIN{ if (a == "" || b <= 0) print "-"; else printf "%.2fx", a / b }')"; }
  if [[ -n $PR ]]; then
    for f in "$PR"/hf-*-true.json; do
      p=${f##*/hf-}; p=${p%-true.json}
      m=$(jq -r '.results[0].times | sort | .[(length/2|floor)] * 1000' "$f" 2>/dev/null) && [[ -n $m && $m != null ]] && row "$p (peers harness)" "$m"
    done
  fi
  [[ -f $OUT/runc-true.json ]] && row "runc run (userns, like Hutch's)" "$(jq -r '.results[0].times | sort | .[(length/2|floor)] * 1000' "$OUT/runc-true.json")"
  if [[ -n $api_sum ]]; then
    row "hutch API: create" "$(jq -r .create.p50 "$OUT/api.json")"
    row "hutch API: create + first exec" "$api_sum"
    p=$(jq -r '.pool_create_plus_first_exec.p50 // empty' "$OUT/api.json"); [[ -n $p ]] && row "hutch API: same, warm pool" "$p"
    row "hutch API: delete" "$(jq -r .delete.p50 "$OUT/api.json")"
  fi
  if [[ -f $OUT/api.json ]]; then
    echo
    echo "### Targets (issue #2)"
    jq -r '
      def ok(c): if c then "MET" else "MISSED" end;
      "1. create -> first exec ready p50 <= 50 ms, cold (no pool): \(.create_plus_first_exec.p50) ms (create \(.create.p50) + first exec \(.first_exec.p50)) -> \(ok(.create_plus_first_exec.p50 <= 50))",
      (if .pool_create_plus_first_exec.p50 then "1p. with the warm pool of \(.pool_size): \(.pool_create_plus_first_exec.p50) ms (create \(.pool_create.p50) + first exec \(.pool_first_exec.p50); \(.pool_hits)/\(.pool_create.n) pool hits) -> \(ok(.pool_create_plus_first_exec.p50 <= 50))" else empty end),
      "2. exec round trip p50 <= 3 ms: p50 \(.exec_rtt.p50) / p90 \(.exec_rtt.p90) / p99 \(.exec_rtt.p99) ms, n=\(.exec_rtt.n) -> \(ok(.exec_rtt.p50 <= 3))",
      "3. idle memory <= 8 MiB/sbx: system delta \(.idle.mib_per_sandbox_system_delta) MiB/sbx over \(.idle.n) (released on delete \(.idle.mib_per_sandbox_released_on_delete)); agent RSS \(.idle.agent_rss_mib_per_sandbox), PSS \(.idle.agent_pss_mib_per_sandbox); at the largest fill: \((.fill[-1].mib_per_sandbox_system) // "-") MiB/sbx over \((.fill[-1].up) // 0) -> \(ok(((.fill[-1].mib_per_sandbox_system) // .idle.mib_per_sandbox_system_delta) <= 8))",
      "4. 100 concurrent idle sandboxes: reached \(.fill_max_up)\(if .fill_error then " (" + .fill_error + ")" else " without error" end) -> \(ok(.fill_max_up >= 100))"' "$OUT/api.json"
  fi
  if [[ -n $PR ]]; then
    echo
    echo "### Idle memory per sandbox (peers harness: idle = RSS of one sandbox's machinery; fill = system delta / N)"
    sed -n '/^### Memory and density/,/^### File I\/O/p' "$PR/summary.txt" | sed '$d'
  fi
  echo "total bench time: $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s; raw data: $OUT"
} > "$OUT/combined.txt"
cat "$OUT/combined.txt"
