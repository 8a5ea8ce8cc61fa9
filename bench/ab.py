#!/usr/bin/env python3
"""Two builds of the worker side by side in one run (scripts/bench.sh --ab DIR_A DIR_B).

Each DIR holds a worker as adapters/cloudflare has it (entry.js and build/); each is served
by bench/miniflare.mjs (BENCH_WORKER_ROOT) over its own local D1 with the same seed (a
1,000-task project), as in the peer comparison: a JWT on every request, rate limits on with
a principal limit that never refuses, LOG_LEVEL=warn. For each scenario the two alternate
pass by pass (A, B, A, B, ...) under oha; cells are medians with the min-max of the passes,
and the ratio is B over A. Loopback only, bounded in time.
"""
import argparse
import atexit
import base64
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import peer  # noqa: E402

SCENARIOS = [("read", "read one task by id"), ("list_1k", "list `limit=50`, 1,000 tasks"),
             ("create", "create a task")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--scenarios", default="read,list_1k,create")
    a = ap.parse_args()
    wanted = [s for s in a.scenarios.split(",") if s]
    assert 1 <= a.runs <= 20 and 1 <= a.seconds <= 30 and 1 <= a.conns <= 64
    atexit.register(peer.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = os.path.join(bench.ROOT, ".tmp")
    logs = os.path.join(tmp, "bench-logs")
    os.makedirs(logs, exist_ok=True)
    key = "JWT_SIGNING_KEY=bench:" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    sides = {}
    for name, root in (("A", a.a), ("B", a.b)):
        os.environ["BENCH_WORKER_ROOT"] = os.path.abspath(root)
        side = peer.Ours(os.path.join(tmp, f"ab-{name}"), key, logs)
        peer.migrate(side.state)
        side.start("warn", f"ab-{name}.log")
        side.seed(sizes=(1000,))
        sides[name] = side
    os.environ.pop("BENCH_WORKER_ROOT", None)
    print(f"A = {a.a}, B = {a.b}; {a.runs} passes × {a.seconds} s, {a.conns} connections, oha; "
          "cells: median (min–max); B/A is the ratio of the medians.\n")
    print("| scenario | A req/s | B req/s | B/A | A p50 ms | B p50 ms | A p99 ms | B p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario, label in SCENARIOS:
        if scenario not in wanted:
            continue
        res = {"A": [], "B": []}
        for name in ("A", "B"):
            peer.warm_up(sides[name].request(scenario), 50)
        for _ in range(a.runs):
            for name in ("A", "B"):
                url, method, body, token = sides[name].request(scenario)
                res[name].append(bench.oha(url, a.seconds, a.conns, method, body, token))
        ra, rb = ([x["rps"] for x in res[n]] for n in ("A", "B"))
        print(f"| {label} | {bench.fmt(ra, 0)} | {bench.fmt(rb, 0)} | **{peer.med(rb) / peer.med(ra):.2f}** | "
              f"{bench.fmt([x['p50'] for x in res['A']], 2)} | {bench.fmt([x['p50'] for x in res['B']], 2)} | "
              f"{bench.fmt([x['p99'] for x in res['A']], 2)} | {bench.fmt([x['p99'] for x in res['B']], 2)} |",
              flush=True)
        bad = sum(x["errors"] for n in res for x in res[n])
        if bad:
            print(f"  ({bad} non-2xx answers in this scenario)")


if __name__ == "__main__":
    main()
