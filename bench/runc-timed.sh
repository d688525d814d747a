#!/bin/bash
# runc with a stopwatch: Hutch.Bench's create breakdown sets this as the daemon's OCI runtime.
# Hutch starts `runc run` with a clean environment (PATH only), so the log's place comes from the
# arguments: <--root dir>/../runc-times.log gets "<verb> <ms runc took>" for each call.
t0=$EPOCHREALTIME
/usr/sbin/runc "$@"; rc=$?
t1=$EPOCHREALTIME
verb= root= prev=
for a in "$@"; do
  [[ $prev == --root ]] && root=$a
  [[ -z $verb ]] && case $a in run|delete|create|start|kill|state) verb=$a;; esac
  prev=$a
done
if [[ -n $root && -n $verb ]]; then
  us=$(( 10#${t1/./} - 10#${t0/./} ))
  printf '%s %d.%03d\n' "$verb" $((us / 1000)) $((us % 1000)) >> "$root/../runc-times.log"
fi
exit $rc
