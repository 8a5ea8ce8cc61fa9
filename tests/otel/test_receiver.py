#!/usr/bin/env python3
"""Offline test of tests/otel/receiver.py: it decodes OTLP/HTTP exports into JSON lines.

Starts the receiver on a free loopback port and posts what an OTLP/HTTP exporter posts:
a protobuf trace export (gzip too), an OTLP/JSON trace export, a protobuf metrics export
and a logs export; checks the lines written (ids in hex, names, attributes) and the
answers (200 with the empty response of the signal, 404 on an unknown path, 400 on a
body that does not decode). Ends with `N passed, N failed`.
"""

import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

RECEIVER = Path(__file__).resolve().parent / "receiver.py"
TRACE_ID = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
SPAN_ID = bytes.fromhex("00f067aa0ba902b7")
PARENT_ID = bytes.fromhex("1122334455667788")


def attribute(key, value):
    return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))


def trace_export():
    span = trace_pb2.Span(
        trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=PARENT_ID, name="GET /...",
        kind=trace_pb2.Span.SPAN_KIND_SERVER, start_time_unix_nano=1, end_time_unix_nano=2,
        attributes=[attribute("http.response.status_code", "200")],
    )
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        scope_spans=[trace_pb2.ScopeSpans(spans=[span])])])


class Receiver(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            cls.port = sock.getsockname()[1]
        cls.dir = tempfile.TemporaryDirectory()
        cls.out = Path(cls.dir.name) / "otlp.jsonl"
        cls.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--port", str(cls.port), "--out", str(cls.out)],
            stdout=subprocess.PIPE, text=True,
        )
        assert "otlp receiver on" in cls.process.stdout.readline()

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=10)
        cls.process.stdout.close()
        cls.dir.cleanup()

    def post(self, path, body, content_type="application/x-protobuf", encoding=None):
        headers = {"Content-Type": content_type}
        if encoding:
            headers["Content-Encoding"] = encoding
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers.get("Content-Type"), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type"), error.read()

    def last_line(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = self.out.read_text().splitlines() if self.out.exists() else []
            if lines:
                return json.loads(lines[-1])
            time.sleep(0.05)
        self.fail("nothing written")

    def test_a_protobuf_trace_export_is_written_with_hex_ids(self):
        status, content_type, body = self.post("/v1/traces", trace_export().SerializeToString())
        self.assertEqual((status, content_type), (200, "application/x-protobuf"))
        trace_service_pb2.ExportTraceServiceResponse().ParseFromString(body)
        line = self.last_line()
        self.assertEqual(line["signal"], "traces")
        span = line["data"]["resource_spans"][0]["scope_spans"][0]["spans"][0]
        self.assertEqual(span["trace_id"], TRACE_ID.hex())
        self.assertEqual(span["span_id"], SPAN_ID.hex())
        self.assertEqual(span["parent_span_id"], PARENT_ID.hex())
        self.assertEqual(span["kind"], "SPAN_KIND_SERVER")
        self.assertEqual(span["attributes"][0], {"key": "http.response.status_code", "value": {"string_value": "200"}})

    def test_a_gzip_export_is_decoded(self):
        status, _, _ = self.post("/v1/traces", gzip.compress(trace_export().SerializeToString()), encoding="gzip")
        self.assertEqual(status, 200)
        self.assertEqual(self.last_line()["data"]["resource_spans"][0]["scope_spans"][0]["spans"][0]["name"], "GET /...")

    def test_an_otlp_json_export_keeps_its_hex_ids(self):
        body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": TRACE_ID.hex(), "spanId": SPAN_ID.hex(), "name": "json span", "kind": 2,
        }]}]}]}).encode()
        status, content_type, _ = self.post("/v1/traces", body, "application/json")
        self.assertEqual((status, content_type), (200, "application/json"))
        span = self.last_line()["data"]["resource_spans"][0]["scope_spans"][0]["spans"][0]
        self.assertEqual((span["trace_id"], span["span_id"], span["name"]), (TRACE_ID.hex(), SPAN_ID.hex(), "json span"))

    def test_a_metrics_export_keeps_names_and_points(self):
        metric = metrics_pb2.Metric(name="spin.request_count", sum=metrics_pb2.Sum(
            is_monotonic=True, aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
            data_points=[metrics_pb2.NumberDataPoint(as_int=3, attributes=[attribute("app_id", "taskapi")])]))
        export = metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
            scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])])])
        status, _, _ = self.post("/v1/metrics", export.SerializeToString())
        self.assertEqual(status, 200)
        line = self.last_line()
        self.assertEqual(line["signal"], "metrics")
        written = line["data"]["resource_metrics"][0]["scope_metrics"][0]["metrics"][0]
        self.assertEqual(written["name"], "spin.request_count")
        self.assertEqual(written["sum"]["data_points"][0]["as_int"], "3")

    def test_a_logs_export_keeps_the_body(self):
        record = logs_pb2.LogRecord(body=common_pb2.AnyValue(string_value='{"msg":"request"}'), trace_id=TRACE_ID)
        export = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
            scope_logs=[logs_pb2.ScopeLogs(log_records=[record])])])
        status, _, _ = self.post("/v1/logs", export.SerializeToString())
        self.assertEqual(status, 200)
        written = self.last_line()["data"]["resource_logs"][0]["scope_logs"][0]["log_records"][0]
        self.assertEqual(written["body"]["string_value"], '{"msg":"request"}')
        self.assertEqual(written["trace_id"], TRACE_ID.hex())

    def test_unknown_paths_and_undecodable_bodies_are_refused(self):
        self.assertEqual(self.post("/v1/profiles", b"")[0], 404)
        self.assertEqual(self.post("/v1/traces", b"\xff\xff\xff not protobuf")[0], 400)
        self.assertEqual(self.last_line()["signal"], "traces")
        self.assertIn("error", self.last_line())


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
