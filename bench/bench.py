#!/usr/bin/env python3
"""Benchmark driver (scripts/bench.sh starts the hosts and calls this).

Seeds each host (an account and two projects through the API, 1,000 and 100,000 tasks
through SQL), drives each scenario with oha for a fixed time, several passes, and writes
the medians with their min-max to BENCHMARKS.md. Loopback only, bounded in time.
"""
import argparse
import base64
import datetime
import hashlib
import re
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


REFRESH_TOKENS = 30000


def seed_refresh_tokens(user, run_sql, name, runs):
    """REFRESH_TOKENS sessions of `user`, each with a fresh refresh token (stored as the
    server stores them: SHA-256 hex), split into one token file per pass."""
    now = 1795000000000
    tokens, rows_s, rows_r = [], [], []
    for i in range(REFRESH_TOKENS):
        token = "rt_" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        digest = hashlib.sha256(token.encode()).hexdigest()
        sid = f"00000000-0000-7000-8003-{i:012d}"
        tokens.append(token)
        rows_s.append(f"('{sid}','{user}','{digest}',1,{now},{now},{now + 30 * 86400000})")
        rows_r.append(f"('{digest}','{sid}',1,{now})")
    sql = []
    for k in range(0, REFRESH_TOKENS, 250):  # D1 caps a statement at 100 KB
        sql.append("INSERT INTO sessions (id, user_id, refresh_hash, generation, created_at, refreshed_at, expires_at) VALUES "
                   + ",".join(rows_s[k:k + 250]) + ";")
        sql.append("INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at) VALUES "
                   + ",".join(rows_r[k:k + 250]) + ";")
    run_sql("\n".join(sql))
    files = []
    per = REFRESH_TOKENS // runs
    for r in range(runs):
        path = os.path.join(ROOT, ".tmp", f"bench-refresh-{name}-{r}.txt")
        open(path, "w").write("\n".join(tokens[r * per:(r + 1) * per]) + "\n")
        files.append(path)
    return files


def seed(name, base, run_sql, runs):
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
    refresh_files = seed_refresh_tokens(user, run_sql, name, runs)
    print(f"seeded {name}: projects {projects}, {REFRESH_TOKENS} refresh tokens", file=sys.stderr)
    return {"email": email, "token": token, "projects": projects, "task": "00000000-0000-7000-8001-000000000001",
            "patch_tasks": ",".join(f"00000000-0000-7000-8001-{i:012d}" for i in range(101, 201)),
            "refresh_files": refresh_files, "pass": 0}


WRK_THREADS = 2


def wrk(url, seconds, concurrency, script, env):
    """wrk with a Lua script, for scenarios whose requests must differ (bodies, tokens)."""
    cmd = ["wrk", "-t", str(WRK_THREADS), "-c", str(concurrency), "-d", f"{seconds}s", "--latency", "-s", script, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **env,
                         "THREADS": str(WRK_THREADS)}).stdout
    line = next((l for l in out.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out}")
    r = json.loads(line[len("WRKJSON "):])
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50": r["p50_us"] / 1000,
        "p99": r["p99_us"] / 1000,
        "errors": r["non2xx"] + r["socket_errors"],
        "codes": {},
    }


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


def next_refresh_file(s):
    f = s["refresh_files"][s["pass"] % len(s["refresh_files"])]
    s["pass"] += 1
    return f


def fmt(xs, digits=1):
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def miniflare_version():
    return json.load(open(os.path.join(ROOT, "node_modules", "miniflare", "package.json")))["version"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floor", required=True)
    ap.add_argument("--workers", required=True)
    ap.add_argument("--workers-state", required=True)
    ap.add_argument("--miniflare", required=True)
    ap.add_argument("--miniflare-state", required=True)
    ap.add_argument("--spin", required=True)
    ap.add_argument("--spin-db", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    a = ap.parse_args()
    for u in (a.floor, a.workers, a.miniflare, a.spin):
        assert "//127.0.0.1:" in u, "loopback only"

    def d1_sql(state):
        def run(sql):
            path = os.path.join(ROOT, ".tmp", "bench-seed.sql")
            open(path, "w").write(sql)
            subprocess.run(["npx", "wrangler", "d1", "execute", "DB", "--local", "--persist-to", state, "--file", path],
                           check=True, capture_output=True, cwd=ROOT)
        return run

    def spin_sql(sql):
        con = sqlite3.connect(a.spin_db, timeout=30)
        con.executescript(sql)
        con.close()

    hosts = {"workers (wrangler dev)": (a.workers, seed("workers", a.workers, d1_sql(a.workers_state), a.runs)),
             "workers (Miniflare from Node)": (a.miniflare, seed("miniflare", a.miniflare, d1_sql(a.miniflare_state), a.runs)),
             "spin (test host)": (a.spin, seed("spin", a.spin, spin_sql, a.runs))}
    plan = []
    plan.append(("empty JS worker `GET /` (floor)", None, lambda base, s: (a.floor + "/", "GET", None, None)))
    plan.append(("`GET /v1/health`", "*", lambda base, s: (base + "/v1/health", "GET", None, None)))
    plan.append(("`GET …/tasks?limit=50`, 1,000 tasks", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][1000]}/tasks?limit=50", "GET", None, s["token"])))
    plan.append(("`GET …/tasks?limit=50`, 100,000 tasks", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][100000]}/tasks?limit=50", "GET", None, s["token"])))
    plan.append(("`GET /v1/tasks/{id}`", "*", lambda base, s: (f"{base}/v1/tasks/{s['task']}", "GET", None, s["token"])))
    plan.append(("`POST /v1/projects/{id}/tasks`", "*", lambda base, s: (f"{base}/v1/projects/{s['projects'][1000]}/tasks", "POST", {"title": "bench"}, s["token"])))
    plan.append(("`PATCH /v1/tasks/{id}` (wrk, a new title each time)", "*", lambda base, s: (
        "wrk", base, os.path.join(ROOT, "bench", "wrk", "patch.lua"), {"TOKEN": s["token"], "TASKS": s["patch_tasks"]})))
    plan.append(("`POST /v1/auth/login`", "*", lambda base, s: (f"{base}/v1/auth/login", "POST", {"email": s["email"], "password": PASSWORD}, None)))
    plan.append(("`POST /v1/auth/refresh` (wrk, a fresh token each time)", "*", lambda base, s: (
        "wrk", base, os.path.join(ROOT, "bench", "wrk", "refresh.lua"), {"TOKENS": next_refresh_file(s)})))
    results = {}
    for label, scope, make in plan:
        targets = [("workers (wrangler dev)", hosts["workers (wrangler dev)"])] if scope is None else list(hosts.items())
        for host, (base, s) in targets:
            passes = []
            for _ in range(a.runs):
                spec = make(base, s)
                if spec[0] == "wrk":
                    passes.append(wrk(spec[1], a.seconds, a.concurrency, spec[2], spec[3]))
                else:
                    url, method, body, token = spec
                    passes.append(oha(url, a.seconds, a.concurrency, method, body, token))
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
        f"wrangler dev), miniflare {miniflare_version()} (the same workerd driven directly from Node by "
        f"`bench/miniflare.mjs`), the Spin test host on wasmtime 44; oha 1.16.0 (wrk 4.1.0 with a Lua script where every "
        f"request must differ: PATCH bodies, refresh tokens), {a.concurrency} connections, {a.seconds} s per pass, "
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
