# bench/bundles.sh's client: issue #15's target "a sandbox with five bundles mounted creates as fast
# as one without (same run)", through the HTTP API: create + first exec (which reads a bundle when
# there are some), warm pool and cold, 0 and 5 bundles interleaved so both meet the same machine.
# Env: HUTCH_URL, HUTCH_DATA_DIR, BUNDLES (comma-separated names, pushed already), N.
import os, time
from hutch_api import api

call = api()
bundles = os.environ["BUNDLES"].split(",")
n = int(os.environ.get("N", "20"))


def create_and_exec(request, argv):
    start = time.perf_counter()
    sandbox = call("POST", "/v1/sandboxes", request)
    result = call("POST", f"/v1/sandboxes/{sandbox['id']}/exec", {"argv": argv})
    elapsed = (time.perf_counter() - start) * 1000
    assert result["exitCode"] == 0, result
    return sandbox["id"], elapsed


def p50(samples):
    return sorted(samples)[len(samples) // 2]


with_five = {"bundles": [{"name": b} for b in bundles]}
read_one = ["cat", f"/bundles/{bundles[0]}/SKILL.md"]
read_own = ["cat", "/etc/os-release"]  # the same work for the sandbox without bundles: one small file read
cold = {"limits": {"memoryMiB": 513}}  # not the pool's shape: every create starts the runtime
ways = [
    ("warm pool, 0 bundles", {}, read_own, True),
    ("warm pool, 5 bundles", with_five, read_one, True),
    ("cold, 0 bundles", cold, read_own, False),
    ("cold, 5 bundles", {**cold, **with_five}, read_one, False),
]
samples = {label: [] for label, *_ in ways}
for _ in range(n):
    for label, request, argv, spaced in ways:
        sandbox, ms = create_and_exec(request, argv)
        samples[label].append(ms)
        call("DELETE", f"/v1/sandboxes/{sandbox}")
        if spaced:
            time.sleep(0.4)  # the pool refills between creates, as between a harness's tasks
for label, *_ in ways:
    s = samples[label]
    print(f"{label:<24} create + first exec p50 {p50(s):7.2f} ms  min {min(s):7.2f}  max {max(s):7.2f}  (n={n})", flush=True)
for kind in ("warm pool", "cold"):
    ratio = p50(samples[f"{kind}, 5 bundles"]) / p50(samples[f"{kind}, 0 bundles"])
    print(f"{kind}: 5 bundles / 0 bundles p50 = {ratio:.2f}", flush=True)
