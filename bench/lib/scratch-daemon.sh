# bench/lib/scratch-daemon.sh - sourced by the benches that run a daemon of their own: its data dir
# under $WORK/data, a free loopback port, the agent built in artifacts/, no API key from the caller's
# environment; and the cleanup of what it made. Uses the caller's REPO, WORK and HUTCH; sets DAEMON.

scratch_daemon_env() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export HUTCH_DATA_DIR=$WORK/data HUTCH_URL=http://127.0.0.1:$port HUTCH_AGENT=$REPO/artifacts/agent/hutch-agent
  unset HUTCH_API_KEY
  DAEMON=
}

# Starts `hutch serve` (its log in $WORK/daemon.log) and waits until it answers.
scratch_daemon_start() {
  mkdir -p "$HUTCH_DATA_DIR"
  "$HUTCH" serve > "$WORK/daemon.log" 2>&1 &
  DAEMON=$!
  for _ in $(seq 100); do "$HUTCH" ls >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$WORK/daemon.log" >&2
  return 1
}

# Deletes the daemon's sandboxes, stops it, unmounts what it mounted under $WORK/data, removes $WORK.
scratch_daemon_cleanup() {
  [[ -n ${DAEMON:-} ]] && { "$HUTCH" ls 2>/dev/null | awk 'NR>1{print $1}' | xargs -r "$HUTCH" rm >/dev/null 2>&1; kill -TERM "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
  grep -o " $WORK/data[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount --lazy
  rm -rf "$WORK"
}
