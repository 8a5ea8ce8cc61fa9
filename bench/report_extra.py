#!/usr/bin/env python3
"""Appends to BENCHMARKS.md what scripts/bench.sh measures besides load: sizes, start-up,
and the per-operation costs inside wasm and natively."""
import argparse
import gzip
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def size(path):
    raw = open(path, "rb").read()
    return len(raw), len(gzip.compress(raw, 9))


def criterion_rows(path):
    rows, name = [], None
    for line in open(path).read().splitlines():
        m = re.match(r"^(\S.*?)\s+time:\s+\[(\S+ \S+) (\S+ \S+) (\S+ \S+)\]", line)
        if m:
            rows.append((m.group(1).strip(), m.group(3)))
            name = None
            continue
        m = re.match(r"^\s+time:\s+\[(\S+ \S+) (\S+ \S+) (\S+ \S+)\]", line)
        if m and name:
            rows.append((name, m.group(2)))
            name = None
            continue
        if line and not line.startswith((" ", "Benchmarking", "Found", "Gnuplot", "change", "Performance", "No change",
                                         "Warning")):
            name = line.strip()
    return rows


def us(v):
    if v is None:
        return "failed"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.1f} µs"


def main():
    ap = argparse.ArgumentParser()
    for a in ("criterion", "ops-wasm", "ops-native", "startup", "startup-log", "worker-wasm", "spin-wasm", "out"):
        ap.add_argument("--" + a, required=True)
    a = ap.parse_args()
    out = []
    wr, wg = size(a.worker_wasm)
    sr, sg = size(a.spin_wasm)
    out += ["", "## Size and start-up", "",
            "| artifact | raw | gzip -9 |", "|---|---|---|",
            f"| worker wasm (`adapters/cloudflare/build/index_bg.wasm`) | {wr:,} B | {wg:,} B (budget 1 MiB, checked by the test command) |",
            f"| Spin component (`taskapi_spin.wasm`, embeds the /docs assets) | {sr:,} B | {sg:,} B |", ""]
    try:
        prof = json.load(open(a.startup))
        window_ms = (prof["endTime"] - prof["startTime"]) / 1000
        busy = sum(d for n, d in zip(prof["samples"], prof["timeDeltas"])
                   if next(x for x in prof["nodes"] if x["id"] == n)["callFrame"]["functionName"] != "(idle)") / 1000
        out.append(f"- `wrangler check startup`: the start-up phase of the worker (evaluating the bundle, compiling and "
                   f"instantiating the wasm) spans **{window_ms:.1f} ms** on this machine; the profiler took "
                   f"{len(prof['samples'])} sample(s) in that window ({busy:.1f} ms attributed to code rather than idle), "
                   "too coarse to split further. The profile is in `.tmp/worker-startup.cpuprofile`.")
    except (OSError, ValueError, KeyError, StopIteration):
        out.append("- `wrangler check startup` did not produce a profile; see `.tmp/bench-logs/startup.log`.")
    out.append("")
    wasm = {r["operation"]: r["us"] for r in json.load(open(a.ops_wasm))}
    native = {r["operation"]: r["us"] for r in json.load(open(a.ops_native))}
    out += ["## Per-operation costs inside wasm and natively", "",
            "The same Rust code (`bench/ops`) timed in a loop: inside wasm as workerd would run it (wasm32-unknown-unknown, "
            "wasm-bindgen, run by Node's V8: `bench/ops.mjs`) and natively (`cargo run --release -p taskapi-bench-ops`). "
            "The router rows use an in-memory store that answers from memory, so they measure routing, extractors, the "
            "token check and JSON, not a database.", "",
            "| operation | inside wasm (V8) | native | wasm / native |", "|---|---|---|---|"]
    for op, w in wasm.items():
        n = native.get(op)
        ratio = f"{w / n:.1f}×" if w and n else "–"
        out.append(f"| {op} | {us(w)} | {us(n)} | {ratio} |")
    out += ["", "## Per-operation costs, natively (criterion, `cargo bench -p taskapi-native --bench ops`)", "",
            "Here the router rows run over an in-memory SQLite (rusqlite).", "",
            "| operation | median |", "|---|---|"]
    out += [f"| {n} | {t} |" for n, t in criterion_rows(a.criterion)]
    out.append("")
    out.append(open(os.path.join(ROOT, "bench", "observations.md")).read())
    out.append(open(os.path.join(ROOT, "bench", "profile-notes.md")).read())
    open(a.out, "a").write("\n".join(out))


if __name__ == "__main__":
    main()
