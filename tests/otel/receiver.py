#!/usr/bin/env python3
"""A small OTLP/HTTP receiver that writes every export it gets as one JSON line.

    receiver.py --port 4318 --out otlp.jsonl

Accepts POST /v1/traces, /v1/metrics and /v1/logs with `application/x-protobuf` (the
default of OTLP/HTTP exporters) or `application/json` bodies, gzip or not, decodes them
with the message types of the `opentelemetry-proto` package and appends

    {"signal": "traces", "path": "/v1/traces", "received_at": 1767000000.123, "data": {...}}

to the output file, where `data` is the export request as JSON with the proto field names
(`resource_spans`, `scope_spans`, `spans`, ...) and trace, span and parent span ids in
lower-case hex (as in `traceparent`), not base64. Answers each export with the empty
success response of its signal. Listens on 127.0.0.1 only.
"""

import argparse
import base64
import gzip
import json
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

SIGNALS = {
    "/v1/traces": (
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/metrics": (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/logs": (
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}

# Byte fields that hold ids: shown as hex, the way traceparent writes them.
ID_FIELDS = {"trace_id", "span_id", "parent_span_id"}


def _map_ids(value, keys, convert):
    """Rewrites, at any depth, the string values of the fields named in `keys` with `convert`."""
    if isinstance(value, dict):
        return {key: convert(item) if key in keys and isinstance(item, str) else _map_ids(item, keys, convert)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_map_ids(item, keys, convert) for item in value]
    return value


def hex_ids(value):
    """Rewrites the base64 that protobuf's JSON mapping gives bytes into hex for id fields."""
    return _map_ids(value, ID_FIELDS, lambda item: base64.b64decode(item).hex())


def decode(body, content_type, message_type):
    message = message_type()
    if content_type.startswith("application/json"):
        # OTLP/JSON carries ids as hex already; protobuf's JSON parser expects base64.
        raw = json.loads(body)
        message = json_format.ParseDict(_ids_to_base64(raw), message)
    else:
        message.ParseFromString(body)
    return hex_ids(json_format.MessageToDict(message, preserving_proto_field_name=True))


def _ids_to_base64(value):
    return _map_ids(value, ID_FIELDS | {"traceId", "spanId", "parentSpanId"},
                    lambda item: base64.b64encode(bytes.fromhex(item)).decode() if item else "")


class Handler(BaseHTTPRequestHandler):
    server_version = "otlp-receiver/1"
    out = None
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 (the stdlib's name)
        path = self.path.split("?", 1)[0]
        signal = SIGNALS.get(path)
        if signal is None:
            self.send_error(404, "unknown OTLP path")
            return
        name, request_type, response_type = signal
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        content_type = (self.headers.get("Content-Type") or "application/x-protobuf").lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            data = decode(body, content_type, request_type)
        except Exception as error:  # a bad export is reported, not fatal
            self._record({"signal": name, "path": path, "error": repr(error)})
            self.send_error(400, "undecodable export")
            return
        self._record({"signal": name, "path": path, "content_type": content_type, "data": data})
        reply = response_type()
        if content_type.startswith("application/json"):
            payload, reply_type = json_format.MessageToJson(reply).encode(), "application/json"
        else:
            payload, reply_type = reply.SerializeToString(), "application/x-protobuf"
        self.send_response(200)
        self.send_header("Content-Type", reply_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _record(self, entry):
        entry["received_at"] = round(time.time(), 3)
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def log_message(self, format, *args):  # keep stderr for errors only
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--out", required=True, help="JSON-lines file to append to")
    args = parser.parse_args(argv)
    Handler.out = open(args.out, "a", encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"otlp receiver on http://127.0.0.1:{server.server_address[1]} -> {args.out}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        Handler.out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
