#!/usr/bin/env python3
"""Validates deploy/otel/collector.yaml offline.

    python tests/otel/check_collector_config.py [CONFIG]   # needs pyyaml and jsonschema

With a real collector (OTELCOL_BIN, or otelcol-contrib / otelcol-taskapi / otelcol on PATH)
it first runs `BIN validate --config CONFIG`: the collector's own verdict. Neither the
collector nor the Go module proxy to build one can be reached from this project's machines,
so it always runs these checks as well:

1. the file against deploy/otel/collector.schema.json (JSON Schema 2020-12: the fields of
   each component's Config struct at collector 0.165; an unknown or misspelt field fails,
   as it does in the collector);
2. every component type is provided by a module of deploy/otel/builder-config.yaml (the
   distribution that runs the file);
3. the service graph as the collector builds it: pipelines name only defined components,
   every defined component is used, a connector is an exporter in one pipeline and a
   receiver in another of the signals it joins, memory_limiter is the first processor and
   batch the last, every ${env:...} reference has the provider syntax;
4. the spanmetrics connector produces what deploy/prometheus/alerts.yml reads: namespace
   traces.span.metrics, histogram unit ms, the dimensions http.request.method and
   http.response.status_code, and the Prometheus exporter's default name translation;
5. what Spin 4.0.2 really exported (tests/otel/fixtures/spin-4.0.2-export.jsonl) has what
   the file relies on: SERVER spans with those attributes, the span name the filter drops,
   the spin.request_count metric with the app_id the rules select.

Prints one line per check and ends with `N passed, N failed`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "otel" / "collector.yaml"
SCHEMA = ROOT / "deploy" / "otel" / "collector.schema.json"
BUILDER = ROOT / "deploy" / "otel" / "builder-config.yaml"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
# What Spin 4.0.2 exported in the experiment of docs/monitoring.md (one line per signal).
SPIN_SAMPLE = Path(__file__).resolve().parent / "fixtures" / "spin-4.0.2-export.jsonl"

# Module path (last element) -> component type, for the modules builder-config.yaml may list.
MODULE_TYPES = {
    "otlpreceiver": "otlp",
    "batchprocessor": "batch",
    "memorylimiterprocessor": "memory_limiter",
    "filterprocessor": "filter",
    "spanmetricsconnector": "spanmetrics",
    "debugexporter": "debug",
    "otlphttpexporter": "otlphttp",
    "otlpexporter": "otlp",
    "prometheusexporter": "prometheus",
    "prometheusremotewriteexporter": "prometheusremotewrite",
    "healthcheckextension": "health_check",
}
KINDS = ["receivers", "processors", "exporters", "connectors", "extensions"]
# The signals a connector joins: (signal it consumes as an exporter, signal it produces as a receiver).
CONNECTOR_SIGNALS = {"spanmetrics": {("traces", "metrics")}}
ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
ENV_SYNTAX = re.compile(r"env:[A-Z_][A-Z0-9_]*(:-[^}]*)?")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        problems = [p for p in problems if p]
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for problem in problems:
                print(f"     {problem}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def component_type(component_id):
    return component_id.split("/", 1)[0]


def signal_of(pipeline_id):
    return pipeline_id.split("/", 1)[0]


def real_collector():
    candidates = [os.environ.get("OTELCOL_BIN")] + [
        shutil.which(name) for name in ("otelcol-contrib", "otelcol-taskapi", "otelcol")
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def schema_problems(config):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]


def distribution_problems(config):
    builder = yaml.safe_load(BUILDER.read_text())
    provided, problems = {}, []
    versions = set()
    for kind in KINDS:
        for entry in builder.get(kind) or []:
            module, _, version = entry["gomod"].partition(" ")
            versions.add(version.split(".")[1] if version.startswith("v0.") else None)
            name = module.rsplit("/", 1)[-1]
            if name not in MODULE_TYPES:
                problems.append(f"builder-config.yaml: unknown module {module}")
                continue
            provided.setdefault(kind, set()).add(MODULE_TYPES[name])
    versions.discard(None)
    if len(versions) > 1:
        problems.append(f"builder-config.yaml mixes collector releases: v0.{sorted(versions)}")
    for kind in KINDS:
        for component_id in config.get(kind) or {}:
            if component_type(component_id) not in provided.get(kind, set()):
                problems.append(f"{kind}.{component_id}: no module of builder-config.yaml provides it")
    return problems


def graph_problems(config):
    problems = []
    service = config.get("service", {})
    pipelines = service.get("pipelines", {})
    defined = {kind: set((config.get(kind) or {}).keys()) for kind in KINDS}
    used = {kind: set() for kind in KINDS}
    connector_as = {}  # connector id -> {"exporter": {signals}, "receiver": {signals}}
    for pipeline_id, pipeline in pipelines.items():
        signal = signal_of(pipeline_id)
        for role, kinds in (("receivers", ["receivers", "connectors"]), ("processors", ["processors"]),
                            ("exporters", ["exporters", "connectors"])):
            for component_id in pipeline.get(role) or []:
                home = next((kind for kind in kinds if component_id in defined[kind]), None)
                if home is None:
                    problems.append(f"pipeline {pipeline_id}: {role[:-1]} {component_id} is not defined")
                    continue
                used[home].add(component_id)
                if home == "connectors":
                    side = "receiver" if role == "receivers" else "exporter"
                    connector_as.setdefault(component_id, {"receiver": set(), "exporter": set()})[side].add(signal)
        processors = pipeline.get("processors") or []
        limiters = [p for p in processors if component_type(p) == "memory_limiter"]
        if limiters and processors[0] != limiters[0]:
            problems.append(f"pipeline {pipeline_id}: memory_limiter must be the first processor")
        batches = [p for p in processors if component_type(p) == "batch"]
        if batches and processors[-1] != batches[-1]:
            problems.append(f"pipeline {pipeline_id}: batch should be the last processor")
    for extension in service.get("extensions") or []:
        if extension not in defined["extensions"]:
            problems.append(f"service.extensions: {extension} is not defined")
        used["extensions"].add(extension)
    for kind in KINDS:
        for component_id in sorted(defined[kind] - used[kind]):
            problems.append(f"{kind}.{component_id} is defined but no pipeline uses it")
    for connector_id, sides in connector_as.items():
        allowed = CONNECTOR_SIGNALS.get(component_type(connector_id), set())
        pairs = {(e, r) for e in sides["exporter"] for r in sides["receiver"]}
        if not sides["exporter"] or not sides["receiver"]:
            problems.append(f"connector {connector_id} must be an exporter in one pipeline and a receiver in another")
        elif not pairs & allowed:
            problems.append(f"connector {connector_id} joins {sorted(pairs)}; it supports {sorted(allowed)}")
    return problems


def env_problems(text):
    return [
        f"${{{reference}}}: use ${{env:NAME}} or ${{env:NAME:-default}}"
        for reference in ENV_REFERENCE.findall(text)
        if not ENV_SYNTAX.fullmatch(reference)
    ]


def contract_problems(config):
    """What the Prometheus rules rely on."""
    problems = []
    connectors = config.get("connectors") or {}
    spanmetrics = next((v or {} for k, v in connectors.items() if component_type(k) == "spanmetrics"), None)
    if spanmetrics is None:
        return ["no spanmetrics connector: the rules read traces_span_metrics_*"]
    if spanmetrics.get("namespace", "traces.span.metrics") != "traces.span.metrics":
        problems.append("spanmetrics.namespace must stay traces.span.metrics (traces_span_metrics_* in the rules)")
    if (spanmetrics.get("histogram") or {}).get("unit", "ms") != "ms":
        problems.append("spanmetrics.histogram.unit must stay ms (the rules read *_duration_milliseconds_bucket)")
    dimensions = {d["name"] for d in spanmetrics.get("dimensions") or []}
    for needed in ("http.request.method", "http.response.status_code"):
        if needed not in dimensions:
            problems.append(f"spanmetrics.dimensions lacks {needed} (label {needed.replace('.', '_')} in the rules)")
    for exporter_id, exporter in (config.get("exporters") or {}).items():
        if component_type(exporter_id) != "prometheus":
            continue
        exporter = exporter or {}
        if exporter.get("namespace"):
            problems.append(f"exporters.{exporter_id}.namespace would prefix every metric name the rules use")
        if exporter.get("translation_strategy", "UnderscoreEscapingWithSuffixes") != "UnderscoreEscapingWithSuffixes" \
                or exporter.get("add_metric_suffixes") is False:
            problems.append(f"exporters.{exporter_id}: the rules expect the default name translation (_total, _milliseconds)")
    if RULES.is_file():
        rules = RULES.read_text()
        for name in ("traces_span_metrics_calls_total", "traces_span_metrics_duration_milliseconds_bucket"):
            if name not in rules:
                problems.append(f"{RULES.name} does not read {name}")
    return problems


def attribute_map(items):
    return {item["key"]: next(iter(item.get("value", {}).values()), None) for item in items}


def spin_sample_problems(config):
    problems = []
    entries = [json.loads(line) for line in SPIN_SAMPLE.read_text().splitlines() if line.strip()]
    spans = [
        span for entry in entries if entry["signal"] == "traces"
        for resource in entry["data"]["resource_spans"] for scope in resource["scope_spans"]
        for span in scope["spans"]
    ]
    server = [span for span in spans if span["kind"] == "SPAN_KIND_SERVER"]
    if not server:
        return ["the Spin sample has no SERVER span"]
    connectors = config.get("connectors") or {}
    dimensions = {
        d["name"] for k, v in connectors.items() if component_type(k) == "spanmetrics"
        for d in (v or {}).get("dimensions") or []
    }
    for dimension in sorted(dimensions):
        if dimension not in attribute_map(server[0].get("attributes", [])):
            problems.append(f"Spin's SERVER span has no attribute {dimension}")
    dropped = re.findall(r'name == "([^"]+)"', json.dumps(config.get("processors") or {}))
    names = {span["name"] for span in spans}
    for name in dropped:
        if name not in names:
            problems.append(f"the filter drops spans named {name!r}, which Spin does not export")
    metrics = {
        metric["name"]: metric for entry in entries if entry["signal"] == "metrics"
        for resource in entry["data"]["resource_metrics"] for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
    }
    request_count = metrics.get("spin.request_count")
    if request_count is None:
        problems.append("Spin's sample has no spin.request_count")
    elif attribute_map(request_count["sum"]["data_points"][0]["attributes"]).get("app_id") != "taskapi":
        problems.append("spin.request_count has no app_id=taskapi (the rules select it)")
    return problems


def main(argv):
    path = Path(argv[1]) if len(argv) > 1 else CONFIG
    checks = Checks()
    binary = real_collector()
    if binary:
        run = subprocess.run([binary, "validate", f"--config={path}"], capture_output=True, text=True, timeout=60)
        checks.check(f"{Path(binary).name} validate", [] if run.returncode == 0 else [run.stderr.strip()[-2000:]])
    else:
        print("note no collector binary (OTELCOL_BIN, otelcol-contrib): schema and graph checks only")
    text = path.read_text()
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        checks.check(f"{path.name} is YAML", [str(error)])
        print(f"{checks.passed} passed, {checks.failed} failed")
        return 1
    checks.check(f"{path.name} is YAML", [] if isinstance(config, dict) else ["not a mapping"])
    checks.check(f"{path.name} matches {SCHEMA.name}", schema_problems(config))
    checks.check(f"every component is in {BUILDER.name}", distribution_problems(config))
    checks.check("pipelines, connectors and processor order", graph_problems(config))
    checks.check("environment references", env_problems(text))
    checks.check("spanmetrics output matches the Prometheus rules", contract_problems(config))
    checks.check("Spin 4.0.2's recorded export has what the file relies on", spin_sample_problems(config))
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
