#!/usr/bin/env python3
"""Where a warm isolate spends its CPU time per request (scripts/bench.sh --profile runs this).

Ours (the built worker, bench/miniflare.mjs) and, with --peer-bundle, the peer of the
side-by-side comparison (bench/peer-miniflare.mjs) run on Miniflare with workerd's
inspector on; for each scenario the load generator (oha, bounded in time) drives the
worker while bench/cpu-profile.mjs records V8's sampling profile of the worker's isolate.
The isolate's busy time (every sample but `(idle)`) divided by the requests answered is
its CPU time per request; it is split into wasm (by function, demangled and grouped by
crate), the JavaScript glue, the runtime's own JavaScript, garbage collection and
`(program)` (V8 and workerd native code, including the crossings between JavaScript and
the runtime). Ours: JWT on every request, membership checked, rate limits on with a high
principal limit, LOG_LEVEL=warn, as in the comparison. Loopback only, bounded in time.
"""
import argparse
import atexit
import base64
import collections
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import peer  # noqa: E402

ROOT = bench.ROOT
SCENARIOS = {"read": "read one task by id", "list_1k": "list `limit=50`, 1,000 tasks", "create": "create a task"}


def demangle(name):
    """Rust's legacy mangling (_ZN…E) to a path; v0 and plain names are returned as they are."""
    m = re.match(r"^_ZN((?:\d+[^\d].*?)+)E$", name)
    if not m:
        return name
    parts, rest = [], m.group(1)
    while rest and rest[0].isdigit():
        n = int(re.match(r"\d+", rest).group(0))
        rest = rest[len(str(n)):]
        parts.append(rest[:n])
        rest = rest[n:]
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(parts)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("$BP$", "*"),
                 ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("$u27$", "'"), ("..", "::")):
        text = text.replace(a, b)
    return text


def crate_of(name):
    n = name.lstrip("<&*")
    n = re.sub(r"^(impl |dyn |mut )", "", n)
    return re.split(r"::|\s|<|\[", n, maxsplit=1)[0] or name


def classify(frame):
    url, fn = frame.get("url", ""), frame.get("functionName", "") or "(anonymous)"
    if fn in ("(idle)", "(program)", "(garbage collector)", "(root)"):
        return fn, fn
    if url.startswith("wasm://") or frame.get("scriptId") and fn.startswith(("_ZN", "$")):
        d = demangle(fn)
        return "wasm", d
    if url.endswith(("/index.js", "/entry.js", "index.js", "entry.js")) or "shim" in url:
        return "js glue", f"{fn} ({os.path.basename(url)}:{frame.get('lineNumber', 0) + 1})"
    return "runtime js" if url else "native", f"{fn} ({url or 'native'})"


def analyse(profile, requests):
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {}
    for n in profile["nodes"]:
        for c in n.get("children", []):
            parent[c] = n["id"]
    self_us = collections.Counter()
    for sid, dt in zip(profile["samples"], profile["timeDeltas"]):
        self_us[sid] += max(dt, 0)
    total = sum(self_us.values())
    kinds, funcs, crates, inclusive = (collections.Counter() for _ in range(4))
    for nid, us in self_us.items():
        kind, name = classify(nodes[nid]["callFrame"])
        kinds[kind] += us
        funcs[(kind, name)] += us
        if kind == "wasm":
            crates[crate_of(name)] += us
        seen, cur = set(), nid
        while cur is not None:
            k, nm = classify(nodes[cur]["callFrame"])
            if k in ("wasm", "js glue") and nm not in seen:
                inclusive[(k, nm)] += us
                seen.add(nm)
            cur = parent.get(cur)
    busy = total - kinds["(idle)"]
    return {"total_us": total, "busy_us": busy, "requests": requests, "kinds": kinds, "funcs": funcs,
            "crates": crates, "inclusive": inclusive}


def profile_scenario(inspector, url, method, body, token, seconds, conns, out):
    rec = subprocess.Popen(["node", os.path.join(ROOT, "bench", "cpu-profile.mjs"), str(inspector), out],
                           cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = rec.stdout.readline()
    if not line.startswith("started"):
        rec.kill()
        raise RuntimeError(f"the profiler did not start: {line}")
    r = bench.oha(url, seconds, conns, method, body, token)
    rec.stdin.write("stop\n")
    rec.stdin.flush()
    rec.wait(timeout=60)
    requests = round(r["rps"] * seconds)
    return json.load(open(out)), requests, r


def us(x, requests):
    return x / max(requests, 1)


def report(name, a, top):
    req = a["requests"]
    lines = [f"### {name}: {req} requests, isolate busy {a['busy_us'] / 1000:.0f} ms of "
             f"{a['total_us'] / 1000:.0f} ms sampled, **{us(a['busy_us'], req):.0f} µs per request**", "",
             "| part | µs per request | share of busy |", "|---|---|---|"]
    for kind, v in a["kinds"].most_common():
        if kind != "(idle)":
            lines.append(f"| {kind} | {us(v, req):.1f} | {100 * v / max(a['busy_us'], 1):.0f} % |")
    if a["crates"]:
        lines += ["", "| wasm, self time by crate | µs per request |", "|---|---|"]
        for c, v in a["crates"].most_common(top):
            lines.append(f"| `{c}` | {us(v, req):.1f} |")
    lines += ["", f"| top {top} functions, self time | part | µs per request |", "|---|---|---|"]
    for (kind, fn), v in [x for x in a["funcs"].most_common() if x[0][0] != "(idle)"][:top]:
        lines.append(f"| `{fn[:110]}` | {kind} | {us(v, req):.1f} |")
    lines += ["", f"| top {top} wasm and glue functions, inclusive | part | µs per request |", "|---|---|---|"]
    for (kind, fn), v in a["inclusive"].most_common(top):
        lines.append(f"| `{fn[:110]}` | {kind} | {us(v, req):.1f} |")
    return lines


BEGIN = "<!-- cpu-profile:begin (written by bench/cpu_profile.py) -->"
END = "<!-- cpu-profile:end -->"
PARTS = [("wasm", "wasm (Rust)"), ("js glue", "the worker's JavaScript (ours: entry.js and wasm-bindgen's glue; the peer: its bundle)"),
         ("runtime js", "the runtime's JavaScript (D1 client `cloudflare-internal:d1-api`, …)"),
         ("native", "runtime calls in native code (Request, Response, Headers, fetch to D1, queueMicrotask, …)"),
         ("(program)", "V8 and workerd outside any function"), ("(garbage collector)", "garbage collection")]


def section(results, scenarios, a, has_peer):
    out = ["## Where a warm isolate spends its CPU time", "",
           f"Generated by `{a.command}` on {datetime.date.today().isoformat()}: miniflare {bench.miniflare_version()} "
           f"driven from Node; V8's sampling profiler (every {a.sampling_us} µs) on the worker's isolate through "
           f"workerd's inspector (`bench/cpu-profile.mjs`), while oha drives {a.conns} connections, {a.passes} "
           f"passes × {a.seconds} s per scenario and side after 200 warm-up requests, the sides alternating pass by "
           "pass (both served at once, each with its own inspector); a side's passes are summed. Busy time is every sample but `(idle)`; per request, it "
           "is that time divided by the requests answered. Ours as in the comparison above (a JWT on every "
           "request, the membership checked, rate limits on with a principal limit that never refuses, "
           "`LOG_LEVEL=warn`)" + (f"; the peer: cloudflare/templates {a.peer_rev}, chanfana-openapi-template, "
                                 "as in the comparison above." if has_peer else "."), ""]
    head = "| scenario | ours µs/request |" + (" peer µs/request | ours / peer |" if has_peer else "")
    out += [head, "|---|---|" + ("---|---|" if has_peer else "")]

    def per_request(side, s, pick):
        """µs per request of what `pick` takes from `side`'s result in scenario `s`."""
        r = results[(side, s)]
        return us(pick(r), r["requests"])

    def busy(r):
        return r["busy_us"]

    for s in scenarios:
        row = f"| {SCENARIOS[s]} | {per_request('ours', s, busy):.0f} |"
        if has_peer:
            ratio = per_request("ours", s, busy) / per_request("peer", s, busy)
            row += f" {per_request('peer', s, busy):.0f} | {ratio:.2f} |"
        out.append(row)
    out += ["", "Split by part, µs per request" + (" (ours / peer)" if has_peer else "") + ":", "",
            "| part | " + " | ".join(SCENARIOS[s] for s in scenarios) + " |", "|---|" + "---|" * len(scenarios)]
    for kind, label in PARTS:
        cells = []
        for s in scenarios:
            cell = f"{per_request('ours', s, lambda r: r['kinds'][kind]):.0f}"
            if has_peer:
                cell += f" / {per_request('peer', s, lambda r: r['kinds'][kind]):.0f}"
            cells.append(cell)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    first = scenarios[0]
    o = results[("ours", first)]
    out += ["", f"Ours, {SCENARIOS[first]}: the {a.top} largest functions by self time, and wasm by crate:", "",
            "| function | part | µs per request |", "|---|---|---|"]
    for (kind, fn), v in [x for x in o["funcs"].most_common() if x[0][0] != "(idle)"][:a.top]:
        out.append(f"| `{fn[:100]}` | {kind} | {us(v, o['requests']):.1f} |")
    out += ["", "| crate (wasm, self time) | µs per request |", "|---|---|"]
    for c, v in o["crates"].most_common(a.top):
        out.append(f"| `{c[:60]}` | {us(v, o['requests']):.1f} |")
    notes = os.path.join(ROOT, "bench", "cpu-profile-notes.md")
    if os.path.exists(notes):
        out += ["", open(notes).read().rstrip()]
    out += ["", "The profiles (one per pass) are kept in `.tmp/bench-logs/cpu-*.cpuprofile` (Chrome DevTools opens them), "
            "with every scenario's tables in `.tmp/bench-logs/cpu-profile-detail.md`."]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default="read,list_1k,create")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--sampling-us", type=int, default=100)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--peer-bundle")
    ap.add_argument("--peer-config")
    ap.add_argument("--peer-rev", default="(unknown revision)")
    ap.add_argument("--command", default="scripts/bench.sh --profile")
    ap.add_argument("--out", help="BENCHMARKS.md to write the section into (else printed)")
    a = ap.parse_args()
    scenarios = [s for s in a.scenarios.split(",") if s]
    assert all(s in SCENARIOS for s in scenarios) and 1 <= a.seconds <= 60 and 1 <= a.conns <= 64 and 1 <= a.passes <= 10

    atexit.register(peer.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = os.path.join(ROOT, ".tmp")
    logs = os.path.join(tmp, "bench-logs")
    os.makedirs(logs, exist_ok=True)
    key = "JWT_SIGNING_KEY=bench:" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    inspectors = {"ours": peer.free_port(), "peer": peer.free_port()}

    os.environ["BENCH_INSPECTOR_PORT"] = str(inspectors["ours"])
    ours = peer.Ours(os.path.join(tmp, "cpu-profile-ours"), key, logs)
    peer.migrate(ours.state)
    ours.start("warn", "cpu-profile-ours.log")
    ours.seed(sizes=(1000,))
    hosts = {"ours": ours}
    has_peer = bool(a.peer_bundle)
    if has_peer:
        os.environ["BENCH_INSPECTOR_PORT"] = str(inspectors["peer"])
        states = {1000: os.path.join(tmp, "cpu-profile-peer-1k")}
        pr = peer.Peer(os.path.abspath(a.peer_bundle), os.path.abspath(a.peer_config), states, logs)
        pr.prepare()
        pr.ports = {1000: peer.free_port()}
        pr.logfile = os.path.join(logs, "cpu-profile-peer.log")
        pr.proc = peer.start(["node", "bench/peer-miniflare.mjs", pr.bundle, pr.config,
                              f"{pr.ports[1000]}:{states[1000]}"], pr.logfile)
        peer.wait_until_up(f"{pr.base(1000)}/tasks?per_page=1", 90, pr.logfile)
        hosts["peer"] = pr
    os.environ.pop("BENCH_INSPECTOR_PORT", None)

    # Scenario by scenario, the sides alternate pass by pass; a side's passes are summed.
    results = {}
    for s in scenarios:
        for side, host in hosts.items():
            peer.warm_up(host.request(s), 200)
        for n in range(a.passes):
            for side, host in hosts.items():
                prof, count, r = profile_scenario(inspectors[side], *host.request(s), a.seconds, a.conns,
                                                  os.path.join(logs, f"cpu-{side}-{s}-{n}.cpuprofile"))
                res = analyse(prof, count)
                peer.log(f"{side} {s} pass {n + 1}: {r['rps']:.0f} req/s, busy {us(res['busy_us'], count):.0f} µs/request")
                if (side, s) in results:
                    acc = results[(side, s)]
                    for k in ("total_us", "busy_us", "requests"):
                        acc[k] += res[k]
                    for k in ("kinds", "funcs", "crates", "inclusive"):
                        acc[k].update(res[k])
                else:
                    results[(side, s)] = res
    ours.stop()
    if has_peer:
        peer.stop(hosts["peer"].proc)
    detail = []
    for (side, s), res in results.items():
        detail += report(f"{side}, {SCENARIOS[s]}", res, a.top) + [""]
    open(os.path.join(logs, "cpu-profile-detail.md"), "w").write("\n".join(detail))
    text = "\n".join(section(results, scenarios, a, has_peer))
    if a.out:
        peer.write_section(a.out, text, BEGIN, END)
        peer.log(f"wrote the CPU profile section into {a.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
