#!/usr/bin/env python3
"""Offline checks of the Workers Analytics Engine queries and of scripts/analytics.py.

    python tests/otel/test_analytics.py          # needs sqlglot (pinned by scripts/check-monitoring.sh)

1. Every deploy/analytics/*.sql parses with sqlglot's ClickHouse dialect (the family of
   Analytics Engine's SQL) and keeps to what Analytics Engine accepts and what sampling
   needs: one SELECT from the `taskapi_requests` dataset, the time filter
   `timestamp > NOW() - INTERVAL '1' HOUR` exactly once, only functions listed in the
   Analytics Engine SQL reference, only the dataset's columns, no unweighted count(), every
   SUM weighted by `_sample_interval`, every quantile `quantileExactWeighted(q)(x, _sample_interval)`.
2. scripts/analytics.py on canned SQL API answers: the table, the --check verdicts (healthy
   -> 0, thresholds crossed -> 1 naming the route), the window and dataset rewriting, and a
   clear exit 2 when CF_ACCOUNT_ID / CF_API_TOKEN are missing; --local's data points
   rebuilt from a worker log's request lines.
"""

import contextlib
import io
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(ROOT / "scripts"))
import analytics  # noqa: E402

QUERIES = sorted((ROOT / "deploy" / "analytics").glob("*.sql"))
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "analytics"
ACCOUNT = "0123456789abcdef0123456789abcdef"
ENV = {"CF_ACCOUNT_ID": ACCOUNT, "CF_API_TOKEN": "test-token"}

# Functions of the Analytics Engine SQL reference that these queries may use (lower case).
ALLOWED_FUNCTIONS = {
    "sum", "max", "min", "avg", "if", "now", "tostartofinterval", "quantileexactweighted",
    "todatetime", "tounixtimestamp", "round", "floor",
}
COLUMNS = {"timestamp", "_sample_interval", "index1", "dataset"}
COLUMNS |= {f"blob{i}" for i in range(1, 21)} | {f"double{i}" for i in range(1, 21)}
TIME_FILTER = re.compile(r"WHERE\s+timestamp\s*>\s*NOW\(\)\s*-\s*INTERVAL '1' HOUR", re.I)


def function_name(node):
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.ParameterizedAgg):
        return node.name.lower()
    if isinstance(node, exp.If):
        return "if"
    return type(node).__name__.lower()


def uses_sample_interval(node):
    return any(column.name == "_sample_interval" for column in node.find_all(exp.Column))


class QueryFiles(unittest.TestCase):
    def test_there_are_queries_for_every_dashboard_panel(self):
        names = {path.stem for path in QUERIES}
        self.assertTrue(
            {"request_rate", "error_rate", "latency", "rate_limited", "store_round_trips"} <= names, names
        )

    def test_every_query_parses_as_one_select_from_the_dataset(self):
        for path in QUERIES:
            with self.subTest(query=path.name):
                statements = sqlglot.parse(path.read_text(), read="clickhouse", error_level=sqlglot.ErrorLevel.RAISE)
                self.assertEqual(len([s for s in statements if s is not None]), 1)
                tree = statements[0]
                self.assertIsInstance(tree, exp.Select)
                self.assertEqual([t.name for t in tree.find_all(exp.Table)], ["taskapi_requests"])

    def test_every_query_filters_on_the_last_hour_exactly_once(self):
        for path in QUERIES:
            with self.subTest(query=path.name):
                text = path.read_text()
                self.assertEqual(len(TIME_FILTER.findall(text)), 1)
                self.assertEqual(text.count(analytics.WINDOW_TEXT), 1)

    def test_queries_use_only_analytics_engine_functions_and_columns(self):
        for path in QUERIES:
            with self.subTest(query=path.name):
                tree = sqlglot.parse_one(path.read_text(), read="clickhouse")
                aliases = {a.alias for a in tree.expressions if a.alias}
                for node in tree.find_all(exp.Func):
                    if isinstance(node, (exp.Interval, exp.Binary, exp.Unary)):
                        continue  # operators and INTERVAL literals, not functions
                    self.assertIn(function_name(node), ALLOWED_FUNCTIONS, node.sql("clickhouse"))
                for column in tree.find_all(exp.Column):
                    self.assertIn(column.name, COLUMNS | aliases, column.sql("clickhouse"))

    def test_every_aggregate_is_weighted_by_the_sample_interval(self):
        for path in QUERIES:
            with self.subTest(query=path.name):
                tree = sqlglot.parse_one(path.read_text(), read="clickhouse")
                self.assertEqual(list(tree.find_all(exp.Count)), [], "count() ignores sampling")
                for node in tree.find_all(exp.Sum):
                    self.assertTrue(uses_sample_interval(node), node.sql("clickhouse"))
                for node in tree.find_all(exp.ParameterizedAgg):
                    self.assertEqual(node.name, "quantileExactWeighted")
                    level = node.expressions
                    self.assertTrue(len(level) == 1 and 0 < float(level[0].name) < 1, node.sql("clickhouse"))
                    arguments = node.args["params"]
                    self.assertEqual(len(arguments), 2, node.sql("clickhouse"))
                    self.assertEqual(arguments[1].name, "_sample_interval", node.sql("clickhouse"))
                for node in tree.find_all(exp.Anonymous):
                    self.assertFalse(node.name.lower().startswith("quantile"), node.sql("clickhouse"))


def canned(kind):
    """A runner that answers from fixtures: error_rate.KIND.json / latency.KIND.json."""
    seen = []

    def runner(sql, account, token):
        seen.append((sql, account, token))
        name = "latency" if "quantileExactWeighted(0.99)(double1" in sql else "error_rate"
        return analytics.parse_answer((FIXTURES / f"{name}.{kind}.json").read_text())

    runner.seen = seen
    return runner


def run(argv, env=ENV, runner=None):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = analytics.main(argv, env=dict(env), runner=runner or canned("healthy"), out=out)
    return code, out.getvalue(), err.getvalue()


class Script(unittest.TestCase):
    def test_missing_credentials_exit_2_and_name_both_variables(self):
        code, out, err = run(["--check"], env={})
        self.assertEqual(code, 2)
        self.assertIn("CF_ACCOUNT_ID and CF_API_TOKEN not set", err)
        self.assertIn("Account Analytics | Read", err)
        self.assertEqual(out, "")

    def test_a_malformed_account_id_is_refused_before_any_request(self):
        runner = canned("healthy")
        code, _, err = run(["latency"], env={"CF_ACCOUNT_ID": "nope", "CF_API_TOKEN": "t"}, runner=runner)
        self.assertEqual(code, 2)
        self.assertIn("32 hexadecimal", err)
        self.assertEqual(runner.seen, [])

    def test_check_passes_on_a_healthy_answer(self):
        code, out, _ = run(["--check"])
        self.assertEqual(code, 0)
        self.assertIn("OK (taskapi_requests, last 15m): 1512 requests, 5xx rate 0.07%", out)
        self.assertIn("slowest p99 92 ms (/v1/auth/login)", out)

    def test_check_fails_on_a_high_5xx_rate_and_a_slow_busy_route_only(self):
        code, out, _ = run(["--check"], runner=canned("failing"))
        self.assertEqual(code, 1)
        alerts = [line for line in out.splitlines() if line.startswith("ALERT")]
        self.assertEqual(len(alerts), 2, out)
        self.assertIn("5xx rate 6.00% over 1000 requests is above 1.00%", alerts[0])
        self.assertIn("/v1/projects/{id}/tasks 56", alerts[0])
        self.assertIn("p99 of /v1/projects/{id}/tasks is 2450.50 ms over 800 requests", alerts[1])
        # /v1/tasks/{id} is slower but served 3 requests: below --min-requests, not judged.
        self.assertNotIn("/v1/tasks/{id}", out)

    def test_thresholds_come_from_the_command_line(self):
        code, out, _ = run(["--check", "--max-5xx-rate", "0.1", "--max-p99-ms", "5000"], runner=canned("failing"))
        self.assertEqual(code, 0, out)
        code, out, _ = run(["--check", "--max-p99-ms", "50"])
        self.assertEqual(code, 1)
        self.assertIn("p99 of /v1/auth/login is 92 ms", out)

    def test_no_traffic_is_not_an_alert(self):
        empty = {"meta": [], "data": [], "rows": 0}
        code, out, _ = run(["--check"], runner=lambda sql, a, t: empty)
        self.assertEqual(code, 0)
        self.assertIn("no requests", out)

    def test_check_queries_the_last_15_minutes_of_the_chosen_dataset_with_the_token(self):
        runner = canned("healthy")
        run(["--check", "--dataset", "taskapi_requests_staging"], runner=runner)
        self.assertEqual(len(runner.seen), 2)
        for sql, account, token in runner.seen:
            self.assertIn("INTERVAL '15' MINUTE", sql)
            self.assertNotIn("INTERVAL '1' HOUR", sql)
            self.assertIn("FROM taskapi_requests_staging", sql)
            self.assertEqual((account, token), (ACCOUNT, "test-token"))
            sqlglot.parse_one(sql, read="clickhouse")

    def test_a_dataset_name_that_is_not_an_identifier_is_refused(self):
        code, _, err = run(["latency", "--dataset", "x; DROP"])
        self.assertEqual(code, 2)
        self.assertIn("letters, digits and underscores", err)

    def test_a_bad_window_is_refused(self):
        code, _, err = run(["latency", "--window", "15 minutes"])
        self.assertEqual(code, 2)
        self.assertIn("--window", err)

    def test_an_unknown_query_is_refused_with_the_known_names(self):
        code, _, err = run(["nope"])
        self.assertEqual(code, 2)
        self.assertIn("error_rate", err)

    def test_the_table_has_a_header_aligned_numbers_and_every_row(self):
        code, out, _ = run(["latency"])
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0], "== latency (taskapi_requests, last 1h)")
        self.assertTrue(lines[1].startswith("route"))
        self.assertRegex(lines[2], r"^-+  -+")
        self.assertIn("/v1/auth/login", lines[3])
        self.assertTrue(lines[3].endswith("41.50"), lines[3])
        self.assertEqual(len([line for line in lines if line.startswith("/v1/") or line.startswith("unmatched")]), 3)

    def test_json_output_keeps_the_raw_answer(self):
        code, out, _ = run(["error_rate", "--json"])
        self.assertEqual(code, 0)
        answer = json.loads(out)
        self.assertEqual(answer["query"], "error_rate")
        self.assertEqual(answer["rows"], 3)

    def test_http_errors_and_non_json_answers_are_exit_2(self):
        with self.assertRaises(analytics.UsageError):
            analytics.parse_answer("<html>rate limited</html>")
        with self.assertRaises(analytics.UsageError):
            analytics.parse_answer('{"errors": [{"code": 10000, "message": "Authentication error"}]}')

        def failing(sql, account, token):
            raise analytics.UsageError("the SQL API answered HTTP 403: Authentication error")

        code, _, err = run(["--check"], runner=failing)
        self.assertEqual(code, 2)
        self.assertIn("HTTP 403", err)


    def test_a_local_log_becomes_the_data_points_the_binding_writes(self):
        lines = [
            '[wrangler:info] Ready on http://127.0.0.1:8787',
            '{"time":"2026-12-05T21:04:29.818Z","level":"info","msg":"request","trace_id":"t1","span_id":"s1",'
            '"method":"POST","route":"/v1/auth/register","status":201,"duration_ms":106,"principal":null,'
            '"store_calls":1,"limiter_calls":1,"data_point":true}',
            '{"time":"2026-12-05T21:04:30.001Z","level":"info","msg":"request","trace_id":"t2","span_id":"s2",'
            '"method":"GET","route":"/v1/tasks/{id}","status":404,"duration_ms":3,"principal":"key:k1",'
            '"problem":"not-found","store_calls":1,"limiter_calls":0,"data_point":true}',
            '{"time":"2026-12-05T21:04:30.002Z","level":"warn","msg":"request","trace_id":"t3","span_id":"s3",'
            '"method":"GET","status":429,"duration_ms":0,"principal":"user:u1","problem":"rate-limited",'
            '"store_calls":0,"limiter_calls":1,"data_point":true}',
            # entry.js's line for an aborted instance: no span id, no data point.
            '{"time":"2026-12-05T21:04:30.003Z","level":"error","msg":"request","status":500}',
            '{"time":"2026-12-05T21:04:30.004Z","level":"info","msg":"lease"}',
        ]
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "worker.log"
            log.write_text("\n".join(lines) + "\n", encoding="utf-8")
            points = analytics.points_from_log(log)
        self.assertEqual(len(points), 3)
        first, second, third = points
        self.assertEqual(first["timestamp"], "2026-12-05 21:04:29.818")
        self.assertEqual((first["blob1"], first["blob2"], first["blob3"], first["blob4"], first["blob5"]),
                         ("/v1/auth/register", "POST", "2xx", "anonymous", ""))
        self.assertEqual((first["double1"], first["double2"], first["double3"], first["double4"], first["double5"]),
                         (106.0, 201.0, 1.0, 1.0, 0.0))
        self.assertEqual((second["blob4"], second["blob5"], second["blob6"]), ("key", "not-found", "t2"))
        self.assertEqual((third["blob1"], third["index1"], third["blob4"], third["double5"]),
                         ("unmatched", "unmatched", "user", 1.0))
        self.assertTrue(all(p["_sample_interval"] == 1 for p in points))

    def test_local_mode_refuses_a_missing_log_clearly(self):
        code, _, err = run(["--local", "/nonexistent/worker.log", "latency"], env={})
        self.assertEqual(code, 2)
        self.assertTrue("no such file" in err or "pip install chdb" in err, err)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
