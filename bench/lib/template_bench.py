# bench/templates.sh's client: issue #14's targets through the HTTP API, host root beside a template.
# Env: HUTCH_URL, HUTCH_DATA_DIR, TEMPLATE (NAME:VERSION, pooled by the daemon), N, DENSITY.
import os, subprocess, time
from hutch_api import api

call = api()
template = os.environ["TEMPLATE"]
n = int(os.environ.get("N", "15"))
density = int(os.environ.get("DENSITY", "200"))


def create_and_exec(request):
    start = time.perf_counter()
    sandbox = call("POST", "/v1/sandboxes", request)
    result = call("POST", f"/v1/sandboxes/{sandbox['id']}/exec", {"argv": ["true"]})
    elapsed = (time.perf_counter() - start) * 1000
    assert result["exitCode"] == 0, result
    return sandbox["id"], elapsed


def p50(samples):
    return sorted(samples)[len(samples) // 2]


def rounds(label, request, spaced):
    samples = []
    for _ in range(n):
        sandbox, ms = create_and_exec(request)
        samples.append(ms)
        call("DELETE", f"/v1/sandboxes/{sandbox}")
        if spaced:
            time.sleep(0.4)  # the pool refills between creates, as between a harness's tasks
    print(f"{label:<46} p50 {p50(samples):7.2f} ms  min {min(samples):7.2f}  max {max(samples):7.2f}  (n={n})", flush=True)


def used_bytes(path):
    out = subprocess.run(["df", "-B1", "--output=used", path], capture_output=True, text=True, check=True).stdout.split()
    return int(out[-1])


def du_bytes(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True).stdout.split()[0])


cold = {"limits": {"memoryMiB": 513}}  # not the pool's shape: every create starts the runtime
for round_ in (1, 2):
    rounds(f"round {round_}: host root, warm pool", {}, spaced=True)
    rounds(f"round {round_}: template {template}, warm pool", {"template": template}, spaced=True)
    rounds(f"round {round_}: host root, cold", cold, spaced=False)
    rounds(f"round {round_}: template {template}, cold", {"template": template, **cold}, spaced=False)

# What an unmodified template sandbox costs on disk: its quota's count, and its own directories.
sandbox, _ = create_and_exec({"template": template})
info = call("GET", f"/v1/sandboxes/{sandbox}")
volume = os.path.join(os.environ["HUTCH_DATA_DIR"], "workspaces", sandbox)
print(f"unmodified template sandbox: quota counts {info['usage']['diskBytes']} bytes; du of its volume dir {du_bytes(volume)} bytes", flush=True)
call("DELETE", f"/v1/sandboxes/{sandbox}")

# Many sandboxes of one template: the layers are shared, nothing is copied.
workspaces = os.path.join(os.environ["HUTCH_DATA_DIR"], "workspaces")
layers = os.path.join(os.environ["HUTCH_DATA_DIR"], "templates", "layers")
layers_before, used_before = du_bytes(layers), used_bytes(workspaces)
made, start = [], time.perf_counter()
for _ in range(density):
    made.append(call("POST", "/v1/sandboxes", {"template": template, **cold})["id"])
seconds = time.perf_counter() - start
time.sleep(31)  # btrfs accounts space at its next commit (30 s at most)
used_after, layers_after = used_bytes(workspaces), du_bytes(layers)
print(f"{density} sandboxes of {template}: made in {seconds:.1f} s ({seconds / density * 1000:.1f} ms each); workspaces volume grew "
      f"{(used_after - used_before) / 2**20:.1f} MiB ({(used_after - used_before) / density / 2**10:.0f} KiB each); layers {layers_before} -> {layers_after} bytes", flush=True)
probe = call("POST", f"/v1/sandboxes/{made[-1]}/exec", {"argv": ["sh", "-c", "cat /etc/debian_version"]})
print(f"the last one answers: {probe['stdout'].strip()}", flush=True)
for sandbox in made:
    call("DELETE", f"/v1/sandboxes/{sandbox}?wait=false")
