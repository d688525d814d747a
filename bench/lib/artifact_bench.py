# bench/artifacts.sh's client: issue #15's artifact targets through the HTTP API.
# Env: HUTCH_URL, HUTCH_DATA_DIR, N (execs per way), MIB (size of the uploaded file).
import os, shutil, subprocess, time
from hutch_api import api

data_dir = os.environ["HUTCH_DATA_DIR"]
call = api(timeout=600)
n = int(os.environ.get("N", "60"))
mib = int(os.environ.get("MIB", "1024"))

# 100,000 files: 100 directories of 1,000 small files, plus out/ with 10 results and 10 CSVs about.
FILL = """
import os
for d in range(100):
    os.makedirs(f"tree/d{d:03}", exist_ok=True)
    for f in range(1000):
        open(f"tree/d{d:03}/f{f:04}.txt", "w").write("x")
os.makedirs("out", exist_ok=True)
for i in range(10):
    open(f"out/r{i}.bin", "w").write("result")
    open(f"tree/d{i:03}/t{i}.csv", "w").write("a,b")
"""


def sandbox(globs):
    request = {"limits": {"diskMiB": 4096, "tmpMiB": 64}}
    if globs:
        request["artifacts"] = {"globs": globs}
    box = call("POST", "/v1/sandboxes", request)["id"]
    result = call("POST", f"/v1/sandboxes/{box}/exec", {"argv": ["python3", "-c", FILL], "timeoutMs": 600000})
    assert result["exitCode"] == 0, result
    return box


def exec_p50(box):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        result = call("POST", f"/v1/sandboxes/{box}/exec", {"argv": ["true"]})
        samples.append((time.perf_counter() - start) * 1000)
        assert result["exitCode"] == 0 and not result.get("artifacts"), result
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.9)]


plain, narrow, wide = sandbox(None), sandbox(["out/**"]), sandbox(["**/*.csv"])
print(f"workspace: 100,010 files in 100 directories of 1,000, out/ with 10; {n} execs of `true` per sandbox, nothing changed")
base = exec_p50(plain)
for label, box in [("out/**", narrow), ("**/*.csv", wide)]:
    p50, p90 = exec_p50(box)
    print(f"  globs {label:9} exec p50 {p50:6.2f} ms (p90 {p90:6.2f}); without globs {base[0]:6.2f} ms -> detection ~{p50 - base[0]:6.2f} ms")
# Again without globs, to see the noise between the two measurements of the same thing.
again = exec_p50(plain)
print(f"  no globs again      exec p50 {again[0]:6.2f} ms (p90 {again[1]:6.2f})")

# Upload: a MIB-MiB file recorded as an artifact, against cp of the same file to the store's file system.
result = call("POST", f"/v1/sandboxes/{plain}/exec", {"argv": ["sh", "-c", f"head -c {mib}M /dev/urandom > big.bin"], "timeoutMs": 600000})
assert result["exitCode"] == 0, result
source = subprocess.run(["find", data_dir + "/workspaces", "-maxdepth", "4", "-path", f"*{plain}*", "-name", "big.bin"],
                        capture_output=True, text=True).stdout.split()[0]
subprocess.run(["cat", source], stdout=subprocess.DEVNULL, check=True)   # both read it from the page cache
target = os.path.join(data_dir, "cp-target.bin")
cps, records = [], []
for i in range(3):
    start = time.perf_counter()
    subprocess.run(["cp", source, target], check=True)
    subprocess.run(["sync", target], check=True)   # fsync of the file, as the store does for a blob
    cps.append(time.perf_counter() - start)
    os.remove(target)
    subprocess.run(["sh", "-c", f"cd {os.path.dirname(source)} && printf x >> big.bin"], check=True)   # new content, stored anew
    start = time.perf_counter()
    info = call("POST", f"/v1/sandboxes/{plain}/artifacts", {"path": "big.bin"})
    records.append(time.perf_counter() - start)
    assert info["state"] == "stored", info
cp_s, rec_s = sorted(cps)[1], sorted(records)[1]
print(f"upload of {mib} MiB to the local store: median {rec_s:.2f} s ({mib / rec_s:.0f} MiB/s); cp + sync FILE to the same file system {cp_s:.2f} s ({mib / cp_s:.0f} MiB/s) -> {100 * cp_s / rec_s:.0f} % of cp")
for box in (plain, narrow, wide):
    call("DELETE", f"/v1/sandboxes/{box}")
