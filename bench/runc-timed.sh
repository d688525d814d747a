#!/bin/bash
# runc with a stopwatch: Hutch.Bench's create breakdown sets this as the daemon's OCI runtime.
# Appends "<verb> <ms runc took> " to $HUTCH_BENCH_RUNC_LOG for run/delete, then returns runc's status.
t0=$EPOCHREALTIME
runc "$@"; rc=$?
t1=$EPOCHREALTIME
verb=
for a in "$@"; do case $a in run|delete|create|start|kill|state) verb=$a; break;; esac; done
[[ -n ${HUTCH_BENCH_RUNC_LOG:-} && -n $verb ]] && \
  echo "$verb $(( (${t1/./} - ${t0/./}) / 1000 )).$(( (${t1/./} - ${t0/./}) % 1000 / 100 ))" >> "$HUTCH_BENCH_RUNC_LOG"
exit $rc
