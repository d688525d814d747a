# Sourced by bench scripts. make_runc_bundle DIR: an OCI bundle like Hutch's sandboxes, for raw
# `runc run` baselines: user namespace (65536 ids from 3000000), read-only root that holds only mount
# points and the /bin,/lib links, host /usr bound read-only, proc, tmpfs /dev and /tmp, no /sys.
# Leaves DIR/true.json (runs /bin/true, also copied to config.json) and DIR/idle.json (sleeps).
make_runc_bundle() {
  local B=$1
  mkdir -p "$B/rootfs"/{usr,proc,dev,tmp,etc}
  local l; for l in bin sbin lib lib64; do ln -sfn "usr/$l" "$B/rootfs/$l"; done
  (cd "$B" && rm -f config.json && runc spec) || return 1
  jq '.process.terminal=false | .process.args=["/bin/true"] | .root.readonly=true
      | .process.cwd="/"
      | .linux.namespaces += [{"type":"user"},{"type":"cgroup"}]
      | .linux.uidMappings=[{"containerID":0,"hostID":3000000,"size":65536}]
      | .linux.gidMappings=[{"containerID":0,"hostID":3000000,"size":65536}]
      | .mounts = ([.mounts[] | select(.destination != "/sys" and .destination != "/sys/fs/cgroup" and .destination != "/dev/mqueue")] + [
          {"destination":"/usr","type":"bind","source":"/usr","options":["rbind","ro","nosuid","nodev"]},
          {"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev","mode=1777"]}])' \
    "$B/config.json" > "$B/true.json" && cp "$B/true.json" "$B/config.json"
  jq '.process.args=["/bin/sleep","1000"]' "$B/true.json" > "$B/idle.json"
}
