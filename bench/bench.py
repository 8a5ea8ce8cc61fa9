#!/usr/bin/env python3
"""Benchmark driver (scripts/bench.sh starts the hosts and calls this).

Seeds each host (an account and two projects through the API, 1,000 and 100,000 tasks
through SQL), drives each scenario with oha for a fixed time, several passes, and writes
the medians with their min-max to BENCHMARKS.md. Loopback only, bounded in time.
"""
import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery staple"


def api(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read() or b"null")


def seed_sql(tasks, project, user, prefix):
    sql = open(os.path.join(ROOT, "bench", "seed.sql")).read()
    for k, v in {"TASKS": str(tasks), "PROJECT": project, "USER": user, "IDPREFIX": prefix}.items():
        sql = sql.replace(k, v)
    return sql


def seed(name, base, run_sql):
    email = f"bench.{uuid.uuid4().hex[:8]}@example.test"
    reg = api(base, "POST", "/v1/auth/register", {"email": email, "password": PASSWORD, "name": "Bench"})
    token, user = reg["access_token"], reg["user"]["id"]
    projects = {}
    for size, prefix in ((1000, "00000000-0000-7000-8001-"), (100000, "00000000-0000-7000-8002-")):
        p = api(base, "POST", "/v1/projects", {"name": f"bench {size}"}, token)["id"]
        run_sql(seed_sql(size, p, user, prefix))
        projects[size] = p
    page = api(base, "GET", f"/v1/projects/{projects[100000]}/tasks?limit=50", token=token)
    assert len(page["data"]) == 50, page
    print(f"seeded {name}: projects {projects}", file=sys.stderr)
    return {"email": email, "token": token, "projects": projects, "task": "00000000-0000-7000-8001-000000000001"}


def oha(url, seconds, concurrency, method="GET", body=None, token=None):
    cmd = ["oha", "-z", f"{seconds}s", "-c", str(concurrency), "--no-tui", "--output-format", "json", "-m", method]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    codes = r.get("statusCodeDistribution", {})
    bad = {k: v for k, v in codes.items() if not k.startswith("2")}
    return {
        "rps": r["summary"]["requestsPerSec"],
        "p50": r["latencyPercentiles"]["p50"] * 1000,
        "p99": r["latencyPercentiles"]["p99"] * 1000,
        "errors": sum(bad.values()),
        "codes": codes,
    }


def fmt(xs, digits=1):
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floor", required=True)
    ap.add_argument("--workers", required=True)
    ap.add_argument("--workers-state", required=True)
    ap.add_argument("--spin", required=True)
    ap.add_argument("--spin-db", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    a = ap.parse_args()
    for u in (a.floor, a.workers, a.spin):
        assert "//127.0.0.1:" in u, "loopback only"

    def workers_sql(sql):
        path = os.path.join(ROOT, ".tmp", "bench-seed.sql")
        open(path, "w").write(sql)
        subprocess.run(["npx", "wrangler", "d1", "execute", "DB", "--local", "--persist-to", a.workers_state, "--file", path],
                       check=True, capture_output=True, cwd=ROOT)

    def spin_sql(sql):
        con = sqlite3.connect(a.spin_db, timeout=30)
        con.executescript(sql)
        con.close()

    hosts = {"workers (wrangler dev)": (a.workers, seed("workers", a.workers, workers_sql)),
             "spin (test host)": (a.spin, seed("spin", a.spin, spin_sql))}
    plan = []
    plan.append(("empty JS worker `GET /` (floor)", None, lambda base, s: (a.floor + "/", "GET", None, None)))
    plan.append(("`GET /v1/health`", "*", lambda base, s: (base + "/v1/health", "GET", None, None)))
    plan.append(("`GET …/tasks?limit=50`, 1,000 tasks", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][1000]}/tasks?limit=50", "GET", None, s["token"])))
    plan.append(("`GET …/tasks?limit=50`, 100,000 tasks", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][100000]}/tasks?limit=50", "GET", None, s["token"])))
    plan.append(("`GET /v1/tasks/{id}`", "*", lambda base, s: (f"{base}/v1/tasks/{s['task']}", "GET", None, s["token"])))
    plan.append(("`POST /v1/projects/{id}/tasks`", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][1000]}/tasks", "POST", {"title": "bench"}, s["token"])))
    plan.append(("`POST /v1/auth/login`", "*", lambda base, s: (f"{base}/v1/auth/login", "POST", {"email": s["email"], "password": PASSWORD}, None)))
    results = {}
    for label, scope, make in plan:
        targets = [("workers (wrangler dev)", hosts["workers (wrangler dev)"])] if scope is None else list(hosts.items())
        for host, (base, s) in targets:
            url, method, body, token = make(base, s)
            passes = [oha(url, a.seconds, a.concurrency, method, body, token) for _ in range(a.runs)]
            results[(label, host)] = passes
            r = passes
            print(f"{host:24} {label:45} rps {fmt([p['rps'] for p in r])}  p50 {fmt([p['p50'] for p in r], 2)} ms"
                  f"  p99 {fmt([p['p99'] for p in r], 2)} ms  non-2xx {sum(p['errors'] for p in r)}", file=sys.stderr)

    floor = results[("empty JS worker `GET /` (floor)", "workers (wrangler dev)")]
    floor_p50 = statistics.median(p["p50"] for p in floor)
    floor_rps = statistics.median(p["rps"] for p in floor)
    versions = subprocess.run(["npx", "wrangler", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[-1]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `scripts/bench.sh` on {datetime.date.today().isoformat()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}; wrangler {versions} (workerd through "
        f"wrangler dev), the Spin test host on wasmtime 44; oha, {a.concurrency} connections, {a.seconds} s per pass, "
        f"{a.runs} passes. Cells are the median pass with the min–max of the passes; ratios are to the floor "
        "(an empty JavaScript worker on the same workerd) measured in the same run. Rate limits were off "
        "(`RATE_LIMITS_ENABLED=false`) so the load generator measures the API, not its limiter.",
        "",
        "| scenario | host | requests/s | p50 ms | p99 ms | p50 / floor p50 | rps / floor rps | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (label, host), r in results.items():
        p50 = statistics.median(p["p50"] for p in r)
        rps = statistics.median(p["rps"] for p in r)
        ratio = f"{p50 / floor_p50:.2f}" if host.startswith("workers") else "–"
        rratio = f"{rps / floor_rps:.2f}" if host.startswith("workers") else "–"
        lines.append(f"| {label} | {host} | {fmt([p['rps'] for p in r], 0)} | {fmt([p['p50'] for p in r], 2)} | "
                     f"{fmt([p['p99'] for p in r], 2)} | {ratio} | {rratio} | {sum(p['errors'] for p in r)} |")
    lines += ["", "Cost growth (p50 with 100,000 tasks over p50 with 1,000, `limit=50`):", ""]
    for host in hosts:
        small = statistics.median(p["p50"] for p in results[("`GET …/tasks?limit=50`, 1,000 tasks", host)])
        big = statistics.median(p["p50"] for p in results[("`GET …/tasks?limit=50`, 100,000 tasks", host)])
        lines.append(f"- {host}: {big:.2f} ms / {small:.2f} ms = **{big / small:.2f}**")
    lines.append("")
    open(a.out, "w").write("\n".join(lines))
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
