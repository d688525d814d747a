#!/usr/bin/env python3
"""The client side of bench/egress.sh, run on the host and inside a sandbox alike.

  latency HOST PORT N        N sequential connections: connect, read the banner, close; prints the
                             p50 and p90 of connect-to-first-byte in ms
  hold HOST PORT N SECONDS   N connections at once, each waiting for its banner, all held open for
                             SECONDS; prints how many got their banner and how many failed
"""
import socket
import statistics
import sys
import time


def latency(host, port, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        with socket.create_connection((host, port), timeout=10) as s:
            if s.recv(16) != b"hi\n":
                raise SystemExit("no banner")
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print("p50 %.3f p90 %.3f" % (statistics.median(times), times[int(len(times) * 0.9)]))


def hold(host, port, n, seconds):
    sockets, ok, failed = [], 0, 0
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=10)
            sockets.append(s)
        except OSError:
            failed += 1
    for s in sockets:
        try:
            ok += s.recv(16) == b"hi\n"
        except OSError:
            failed += 1
    time.sleep(seconds)
    for s in sockets:
        s.close()
    print("ok %d failed %d" % (ok, failed))


if sys.argv[1] == "latency":
    latency(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
else:
    hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
