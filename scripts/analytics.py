#!/usr/bin/env python3
"""Runs the Task API's Workers Analytics Engine queries (deploy/analytics/*.sql).

    scripts/analytics.py [QUERY ...]          # print each query's result as a table (all when none)
    scripts/analytics.py --list               # the query names
    scripts/analytics.py --check              # exit 1 when the 5xx rate or a route's p99 is too high
    scripts/analytics.py --window 15m latency # the same query over the last 15 minutes
    scripts/analytics.py --local LOG latency  # the same query over a local run (see below)

Needs CF_ACCOUNT_ID and CF_API_TOKEN (a token with Account | Account Analytics | Read) in
the environment; CF_AE_DATASET (or --dataset) names the dataset when it is not
`taskapi_requests` (for example `taskapi_requests_staging`). Python 3.9+, standard library
only, so a CI runner needs nothing installed.

--local LOG runs the same SQL text on ClickHouse itself (the embedded chdb, `pip install
chdb`; only this mode needs it) over the data points of a local run: each request line of
a worker's log (wrangler dev, LOG_LEVEL=info) carries every field the METRICS binding
writes (adapters/cloudflare/src/metrics.rs has the layout), so the table is rebuilt from them.

Exit codes: 0 all good; 1 --check found a threshold crossed; 2 usage, configuration or
API error (missing variables, HTTP error, unparsable answer).
"""

import argparse
import json
import math
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

QUERY_DIR = Path(__file__).resolve().parent.parent / "deploy" / "analytics"
API = "https://api.cloudflare.com/client/v4/accounts/{account}/analytics_engine/sql"
DEFAULT_DATASET = "taskapi_requests"
# Every query filters on this window; --window rewrites it (tests assert it is there once).
WINDOW_TEXT = "INTERVAL '1' HOUR"
WINDOW_UNITS = {"m": "MINUTE", "h": "HOUR", "d": "DAY"}


class UsageError(Exception):
    """A problem the caller must fix (exit 2)."""


def query_names():
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql"))


def load_query(name, window=None, dataset=DEFAULT_DATASET):
    """The text of deploy/analytics/NAME.sql, with the window and dataset substituted."""
    path = QUERY_DIR / f"{name}.sql"
    if not path.is_file():
        raise UsageError(f"no query named {name!r}; known: {', '.join(query_names())}")
    sql = path.read_text(encoding="utf-8")
    if window:
        sql = sql.replace(WINDOW_TEXT, window_interval(window))
    if dataset != DEFAULT_DATASET:
        if not re.fullmatch(r"[A-Za-z0-9_]+", dataset):
            raise UsageError(f"dataset name {dataset!r} must be letters, digits and underscores")
        sql = re.sub(rf"\bFROM\s+{DEFAULT_DATASET}\b", f"FROM {dataset}", sql)
    return sql


def window_interval(window):
    """'15m' -> INTERVAL '15' MINUTE; '1h' -> INTERVAL '1' HOUR; '7d' -> INTERVAL '7' DAY."""
    match = re.fullmatch(r"(\d{1,4})([mhd])", window)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"--window {window!r}: use a number and m, h or d (15m, 1h, 7d)")
    return f"INTERVAL '{int(match.group(1))}' {WINDOW_UNITS[match.group(2)]}"


def credentials(env=None):
    env = os.environ if env is None else env
    missing = [name for name in ("CF_ACCOUNT_ID", "CF_API_TOKEN") if not env.get(name)]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} not set: export CF_ACCOUNT_ID (the 32-character account id "
            "in the Cloudflare dashboard) and CF_API_TOKEN (an API token with the permission "
            "Account | Account Analytics | Read)"
        )
    account = env["CF_ACCOUNT_ID"].strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32}", account):
        raise UsageError("CF_ACCOUNT_ID must be the 32 hexadecimal characters of the account id")
    return account, env["CF_API_TOKEN"].strip()


def run_sql(sql, account, token, timeout=30):
    """POSTs one query to the SQL API; returns the decoded JSON answer (meta, data, rows)."""
    request = urllib.request.Request(
        API.format(account=account),
        data=sql.encode("utf-8"),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()[:500]
        raise UsageError(f"the SQL API answered HTTP {error.code}: {detail}") from None
    except urllib.error.URLError as error:
        raise UsageError(f"cannot reach the SQL API: {error.reason}") from None
    return parse_answer(body)


def parse_answer(body):
    try:
        answer = json.loads(body)
    except json.JSONDecodeError:
        raise UsageError(f"the SQL API answered something that is not JSON: {body[:300]!r}") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise UsageError(f"the SQL API answer has no data array: {body[:300]!r}")
    return answer


def points_from_log(path):
    """The Analytics Engine rows of a worker log's request lines (adapters/cloudflare/src/metrics.rs)."""
    points = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        start = line.find("{")
        if start < 0 or '"msg":"request"' not in line:
            continue
        try:
            entry = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if entry.get("msg") != "request" or "span_id" not in entry:
            continue  # entry.js's line of an aborted instance wrote no data point
        status = int(entry.get("status", 0))
        route = entry.get("route") or "unmatched"
        principal = (entry.get("principal") or "").split(":", 1)[0]
        points.append({
            "timestamp": entry["time"].replace("T", " ").rstrip("Z"),
            "_sample_interval": 1,
            "index1": route,
            "blob1": route,
            "blob2": entry.get("method", ""),
            "blob3": f"{min(max(status // 100, 1), 5)}xx",
            "blob4": principal if principal in ("user", "key") else "anonymous",
            "blob5": entry.get("problem") or "",
            "blob6": entry.get("trace_id", ""),
            "double1": float(entry.get("duration_ms", 0)),
            "double2": float(status),
            "double3": float(entry.get("store_calls", 0)),
            "double4": float(entry.get("limiter_calls", 0)),
            "double5": 1.0 if status == 429 else 0.0,
        })
    return points


def local_runner(log_path, dataset):
    """A runner over ClickHouse in-process (chdb) holding the data points of a local log."""
    try:
        from chdb import session  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise UsageError("--local needs ClickHouse in-process: pip install chdb") from None
    if not Path(log_path).is_file():
        raise UsageError(f"--local {log_path}: no such file")
    points = points_from_log(log_path)
    if not points:
        raise UsageError(f"--local {log_path}: no request lines (run the worker with LOG_LEVEL=info)")
    db = session.Session()
    blobs = ", ".join(f"blob{i} String" for i in range(1, 7))
    doubles = ", ".join(f"double{i} Float64" for i in range(1, 6))
    db.query(f"CREATE TABLE {dataset} (timestamp DateTime64(3, 'UTC'), _sample_interval UInt32, "
             f"index1 String, {blobs}, {doubles}) ENGINE = Memory")
    rows = "\n".join(json.dumps(p) for p in points)
    db.query(f"INSERT INTO {dataset} FORMAT JSONEachRow\n{rows}")

    def run(sql, _account, _token):
        return parse_answer(db.query(sql, "JSON").bytes().decode("utf-8"))

    return run, len(points)


def number(value):
    """Analytics Engine's JSON quotes 64-bit integers; turn numeric text into numbers."""
    if isinstance(value, (int, float)) or value is None:
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def rows_of(answer):
    columns = [column["name"] for column in answer.get("meta", [])]
    rows = [{key: number(value) for key, value in row.items()} for row in answer["data"]]
    if not columns and rows:
        columns = list(rows[0])
    return columns, rows


def fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def table(columns, rows):
    """A plain-text table: a header, a rule, one line per row; numbers right-aligned."""
    cells = [[fmt(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    numeric = [
        all(isinstance(row.get(column), (int, float)) for row in rows if row.get(column) is not None)
        for column in columns
    ]

    def line(values):
        return "  ".join(
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric)
        ).rstrip()

    out = [line(columns), "  ".join("-" * width for width in widths)]
    out += [line(values) for values in cells]
    if not rows:
        out.append("(no rows)")
    return "\n".join(out)


def evaluate(error_rows, latency_rows, max_5xx_rate, max_p99_ms, min_requests):
    """The --check verdict: a list of alert lines (empty when every threshold holds).

    The 5xx rate is taken over all routes together (the sum of errors over the sum of
    requests), only when at least min_requests were served; the p99 is judged per route,
    only for routes with at least min_requests, so one slow request on a quiet route does
    not page anyone.
    """
    alerts = []
    total = sum(row.get("requests") or 0 for row in error_rows)
    errors = sum(row.get("errors_5xx") or 0 for row in error_rows)
    if total >= min_requests and total > 0:
        rate = errors / total
        if rate > max_5xx_rate:
            worst = sorted(error_rows, key=lambda row: row.get("errors_5xx") or 0, reverse=True)
            where = ", ".join(
                f"{row['route']} {fmt(row.get('errors_5xx'))}" for row in worst[:3] if row.get("errors_5xx")
            )
            alerts.append(
                f"5xx rate {rate:.2%} over {fmt(total)} requests is above {max_5xx_rate:.2%} ({where})"
            )
    for row in latency_rows:
        requests = row.get("requests") or 0
        p99 = row.get("p99_ms")
        if requests >= min_requests and isinstance(p99, (int, float)) and p99 > max_p99_ms:
            alerts.append(
                f"p99 of {row['route']} is {fmt(float(p99))} ms over {fmt(requests)} requests, "
                f"above {fmt(float(max_p99_ms))} ms"
            )
    return alerts


def summary(error_rows, latency_rows):
    total = sum(row.get("requests") or 0 for row in error_rows)
    errors = sum(row.get("errors_5xx") or 0 for row in error_rows)
    worst = max(
        (row for row in latency_rows if isinstance(row.get("p99_ms"), (int, float))),
        key=lambda row: row["p99_ms"],
        default=None,
    )
    text = f"{fmt(total)} requests, 5xx rate {errors / total:.2%}" if total else "no requests"
    if worst:
        text += f", slowest p99 {fmt(float(worst['p99_ms']))} ms ({worst['route']})"
    return text


def main(argv=None, env=None, runner=run_sql, out=sys.stdout):
    parser = argparse.ArgumentParser(
        description="Run the Analytics Engine queries of deploy/analytics against the SQL API."
    )
    parser.add_argument("queries", nargs="*", help="query names (file names without .sql); all when none")
    parser.add_argument("--list", action="store_true", help="print the query names and exit")
    parser.add_argument("--window", help="time window instead of the queries' 1h: 15m, 6h, 7d")
    parser.add_argument("--dataset", help="dataset (table) name; default $CF_AE_DATASET or taskapi_requests")
    parser.add_argument("--json", action="store_true", help="print the raw JSON answers instead of tables")
    parser.add_argument("--local", metavar="LOG", help="run on ClickHouse in-process over a local worker log")
    parser.add_argument("--check", action="store_true", help="alert mode: compare with the thresholds")
    parser.add_argument("--max-5xx-rate", type=float, default=0.01, help="--check: highest 5xx share (0.01)")
    parser.add_argument("--max-p99-ms", type=float, default=1000.0, help="--check: highest p99 per route, ms (1000)")
    parser.add_argument("--min-requests", type=int, default=20, help="--check: judge only with this many requests (20)")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        if args.list:
            print("\n".join(query_names()), file=out)
            return 0
        dataset = args.dataset or env.get("CF_AE_DATASET") or DEFAULT_DATASET
        window = args.window or ("15m" if args.check else None)
        names = ["error_rate", "latency"] if args.check else (args.queries or query_names())
        sqls = {name: load_query(name, window, dataset) for name in names}
        if args.local:
            runner, count = local_runner(args.local, dataset)
            account, token = "", ""
            print(f"(local: {count} data points from {args.local})", file=out)
        else:
            account, token = credentials(env)
        answers = {name: runner(sql, account, token) for name, sql in sqls.items()}
    except UsageError as error:
        print(f"analytics: {error}", file=sys.stderr)
        return 2
    if args.check:
        _, error_rows = rows_of(answers["error_rate"])
        _, latency_rows = rows_of(answers["latency"])
        alerts = evaluate(error_rows, latency_rows, args.max_5xx_rate, args.max_p99_ms, args.min_requests)
        span = window
        for alert in alerts:
            print(f"ALERT ({dataset}, last {span}): {alert}", file=out)
        if alerts:
            return 1
        print(f"OK ({dataset}, last {span}): {summary(error_rows, latency_rows)}", file=out)
        return 0
    for name in names:
        if args.json:
            print(json.dumps({"query": name, **answers[name]}), file=out)
            continue
        columns, rows = rows_of(answers[name])
        print(f"== {name} ({dataset}, last {window or '1h'})", file=out)
        print(table(columns, rows), file=out)
        print(file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
