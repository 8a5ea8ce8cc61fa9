#!/usr/bin/env python3
"""End-to-end trace test on real Spin: one request with a known traceparent.

    SPIN_BIN=/path/to/spin python tests/otel/spin_otlp_test.py

Starts tests/otel/receiver.py (OTLP/HTTP on a free loopback port) and `spin up` with the
repository's spin.toml, the built component and every migrations/*.sql, exporting to the
receiver. Sends GET /v1/health with `traceparent: 00-<trace>-<span>-01` and checks:

  1. Spin exports a SERVER span in that trace whose parent is the caller's span;
  2. that span records the request (url.path, http.response.status_code);
  3. Spin exports its spin.request_count metric (deploy/prometheus/alerts.yml reads it);
  4. the response's `traceresponse` header carries the trace id        (core: awaits it);
  5. the request's JSON log line on Spin's stdout carries that trace_id (core: awaits it).

Spin: $SPIN_BIN, else `spin` on PATH; without either it prints `SKIPPED: real Spin not
available (set SPIN_BIN)` and exits 0. The component: $SPIN_COMPONENT, else
$CARGO_TARGET_DIR/wasm32-wasip2/release/taskapi_spin.wasm (CARGO_TARGET_DIR defaults to
~/.cache/taskapi/target, as in scripts/lib.sh). Python needs opentelemetry-proto (the
receiver); scripts/check-monitoring.sh installs it into ~/.cache/taskapi/monitoring-venv.
Ends with `N passed, N failed`; the exit status is 1 when a check failed.
"""

import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import procgroup  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = Path(__file__).resolve().parent / "receiver.py"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_spin():
    candidate = os.environ.get("SPIN_BIN") or shutil.which("spin")
    if candidate and os.access(candidate, os.X_OK):
        return candidate
    return None


def find_component():
    if os.environ.get("SPIN_COMPONENT"):
        return Path(os.environ["SPIN_COMPONENT"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "taskapi" / "target"))
    return target / "wasm32-wasip2" / "release" / "taskapi_spin.wasm"


def manifest_for(component, directory):
    """spin.toml with `source` pointing at the component (the rest as the repository has it)."""
    text = (ROOT / "spin.toml").read_text()
    text, count = re.subn(r'(?m)^source\s*=\s*".*"$', f"source = {json.dumps(str(component))}", text)
    if count != 1:
        raise SystemExit("spin.toml: expected exactly one `source = ...` line")
    path = directory / "spin.toml"
    path.write_text(text)
    return path


def http_get(url, headers=None, timeout=10):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def wait_until(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def exports(path):
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line being written
    return entries


def spans(entries):
    for entry in entries:
        if entry.get("signal") != "traces":
            continue
        for resource_spans in entry["data"].get("resource_spans", []):
            resource = attributes(resource_spans.get("resource", {}).get("attributes", []))
            for scope_spans in resource_spans.get("scope_spans", []):
                for span in scope_spans.get("spans", []):
                    yield resource, span


def metric_names(entries):
    names = set()
    for entry in entries:
        if entry.get("signal") != "metrics":
            continue
        for resource_metrics in entry["data"].get("resource_metrics", []):
            for scope_metrics in resource_metrics.get("scope_metrics", []):
                names.update(metric["name"] for metric in scope_metrics.get("metrics", []))
    return names


def attributes(items):
    out = {}
    for item in items:
        value = item.get("value", {})
        out[item["key"]] = next(iter(value.values()), None) if value else None
    return out


def log_lines(path):
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            value = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def main():
    spin = find_spin()
    if spin is None:
        print("SKIPPED: real Spin not available (set SPIN_BIN)")
        return 0
    component = find_component()
    if not component.is_file():
        print(f"SKIPPED: the Spin component is not built ({component}; set SPIN_COMPONENT)")
        return 0

    work = Path(tempfile.mkdtemp(prefix="taskapi-otel-"))
    keep = os.environ.get("KEEP_OTEL_TEST_DIR")
    otlp_out, spin_log = work / "otlp.jsonl", work / "spin.log"
    otlp_port, http_port = free_port(), free_port()
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    request_id = f"otel-test-{secrets.token_hex(6)}"
    results = Results()
    processes = []
    try:
        receiver = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(otlp_port), "--out", str(otlp_out)],
            stdout=subprocess.DEVNULL, stderr=open(work / "receiver.log", "w"), start_new_session=True,
        )
        processes.append(receiver)
        manifest = manifest_for(component.resolve(), work)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SPIN_VARIABLE_"))}
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        env.update({
            "SPIN_VARIABLE_JWT_SIGNING_KEY": f"otel:{key}",
            "SPIN_VARIABLE_ENVIRONMENT": "development",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "taskapi",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        })
        migrations = []
        for sql in sorted((ROOT / "migrations").glob("*.sql")):
            migrations += ["--sqlite", f"@{sql}"]
        spin_process = subprocess.Popen(
            [spin, "up", "--from", str(manifest), "--listen", f"127.0.0.1:{http_port}", *migrations],
            cwd=work, env=env, stdout=open(spin_log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        processes.append(spin_process)
        base = f"http://127.0.0.1:{http_port}"

        def healthy():
            if spin_process.poll() is not None:
                return "exited"
            try:
                return http_get(f"{base}/v1/health", timeout=2)[0] == 200
            except OSError:
                return False

        state = wait_until(healthy, 90, 0.5)
        if state is not True:
            print(f"FAIL Spin did not serve /v1/health ({'it exited' if state == 'exited' else 'timeout'}); its log:")
            print(spin_log.read_text()[-3000:])
            print("0 passed, 1 failed")
            return 1

        traceparent = f"00-{trace_id}-{parent_id}-01"
        status, headers, _ = http_get(
            f"{base}/v1/health", {"traceparent": traceparent, "X-Request-Id": request_id}
        )
        print(f"sent GET /v1/health traceparent={traceparent} x-request-id={request_id} -> {status}")

        def server_span():
            return next(
                ((resource, span) for resource, span in spans(exports(otlp_out))
                 if span.get("trace_id") == trace_id and span.get("kind") == "SPAN_KIND_SERVER"),
                None,
            )

        found = wait_until(server_span, 20)
        results.check(
            "Spin exports a SERVER span continuing the caller's trace",
            found is not None and found[1].get("parent_span_id") == parent_id,
            "no server span with that trace id arrived" if found is None
            else f"parent_span_id {found[1].get('parent_span_id')!r}, expected {parent_id}",
        )
        span_attributes = attributes(found[1].get("attributes", [])) if found else {}
        results.check(
            "the span records the request (url.path, http.response.status_code, service.name)",
            found is not None
            and span_attributes.get("url.path") == "/v1/health"
            and str(span_attributes.get("http.response.status_code")) == str(status)
            and found[0].get("service.name") == "taskapi",
            f"attributes {span_attributes}, resource {found[0] if found else None}",
        )
        names = wait_until(lambda: "spin.request_count" in metric_names(exports(otlp_out)), 15)
        results.check(
            "Spin exports the spin.request_count metric",
            bool(names),
            f"metrics seen: {sorted(metric_names(exports(otlp_out)))}",
        )

        response_trace = TRACEPARENT.match(headers.get("traceresponse", ""))
        results.check(
            "the traceresponse header carries the trace id",
            response_trace is not None and response_trace.group(1) == trace_id,
            f"traceresponse {headers.get('traceresponse')!r} (awaits the core: it answers traceresponse)",
        )

        def request_line():
            return next(
                (line for line in log_lines(spin_log)
                 if line.get("msg") == "request" and line.get("request_id") == request_id),
                None,
            )

        line = wait_until(request_line, 5)
        results.check(
            "the request's log line carries the trace id",
            line is not None and line.get("trace_id") == trace_id,
            "no log line with that request_id on Spin's stdout" if line is None
            else f"trace_id {line.get('trace_id')!r} (awaits the core: trace_id in the log line)",
        )
    finally:
        for process in reversed(processes):
            procgroup.stop_group(process, timeout=10)
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
