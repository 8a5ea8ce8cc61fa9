#!/usr/bin/env bash
# Every offline validation of the monitoring files; ends with `N passed, N failed`.
#
#   scripts/check-monitoring.sh
#
#  - promtool (Debian's prometheus package): `check rules` and `test rules` on
#    deploy/prometheus/alerts.yml and its unit tests;
#  - the OpenTelemetry Collector configuration (tests/otel/check_collector_config.py: a real
#    collector's `validate` when one is installed, then the JSON Schema of the components'
#    fields, the distribution, the pipeline graph), and that the checker refuses a broken copy;
#  - the Analytics Engine queries parsed by sqlglot (ClickHouse dialect) and
#    scripts/analytics.py on canned SQL API answers (tests/otel/test_analytics.py);
#  - the OTLP receiver on protobuf and JSON exports (tests/otel/test_receiver.py);
#  - the scheduled-check workflow (.github/workflows/alerts.yml).
# Installs, only when missing and pinned: Debian's prometheus (for promtool), and a
# virtualenv under ~/.cache/taskapi/monitoring-venv with the Python packages below.
# The end-to-end trace test on real Spin is tests/otel/spin_otlp_test.py (needs SPIN_BIN).
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

PROMETHEUS_DEB_VERSION="${PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}"
MONITORING_VENV="${MONITORING_VENV:-$HOME/.cache/taskapi/monitoring-venv}"
PY_PACKAGES=(
  "opentelemetry-proto==1.45.2"
  "protobuf==7.36.2"
  "sqlglot==30.30.0"
  "pyyaml==6.0.3"
  "jsonschema==4.26.0"
)

log() { printf '== %s\n' "$*"; }

ensure_promtool() {
  command -v promtool >/dev/null && return 0
  log "installing Debian's prometheus $PROMETHEUS_DEB_VERSION (for promtool)"
  local tries=0
  until DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null; do
    tries=$((tries + 1))
    if ((tries == 1)); then apt-get update -qq || true; continue; fi
    ((tries < 6)) || { echo "could not install prometheus=$PROMETHEUS_DEB_VERSION" >&2; return 1; }
    sleep 10 # dpkg may be locked by another install
  done
}

ensure_venv() {
  local stamp="$MONITORING_VENV/.taskapi-packages"
  if [[ -x "$MONITORING_VENV/bin/python" ]] && [[ "$(cat "$stamp" 2>/dev/null)" == "${PY_PACKAGES[*]}" ]]; then
    return 0
  fi
  log "installing ${PY_PACKAGES[*]} into $MONITORING_VENV"
  python3 -m venv "$MONITORING_VENV" &&
    "$MONITORING_VENV/bin/pip" install -q --disable-pip-version-check "${PY_PACKAGES[@]}" &&
    printf '%s' "${PY_PACKAGES[*]}" >"$stamp"
}

PASSED=0
FAILED=0
LOGS="$ROOT/.tmp/monitoring"
mkdir -p "$LOGS"

# step NAME COMMAND...: runs it, prints its output on failure, counts it.
step() {
  local name="$1"; shift
  local out="$LOGS/$(echo "$name" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-').log"
  if "$@" >"$out" 2>&1; then
    PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$name"; sed 's/^/     /' "$out" | tail -40
  fi
}

ensure_promtool || { echo "promtool is missing and could not be installed" >&2; }
ensure_venv || { echo "the Python packages could not be installed" >&2; exit 2; }
PY="$MONITORING_VENV/bin/python"

step "promtool check rules deploy/prometheus/alerts.yml" \
  promtool check rules deploy/prometheus/alerts.yml
step "promtool test rules deploy/prometheus/alerts.test.yml" \
  promtool test rules deploy/prometheus/alerts.test.yml

step "collector config deploy/otel/collector.yaml" \
  "$PY" tests/otel/check_collector_config.py deploy/otel/collector.yaml

refuses_broken_collector_config() {
  local broken="$LOGS/collector-broken.yaml"
  # A misspelt field and a pipeline naming an exporter that does not exist.
  sed -e 's/check_interval: 1s/check_intervall: 1s/' \
      -e 's#exporters: \[otlphttp/traces, spanmetrics\]#exporters: [otlphttp/trace, spanmetrics]#' \
      deploy/otel/collector.yaml >"$broken"
  if "$PY" tests/otel/check_collector_config.py "$broken" >"$broken.out" 2>&1; then
    echo "the checker accepted $broken"; return 1
  fi
  grep -q "'check_intervall' was unexpected" "$broken.out" &&
    grep -q "exporter otlphttp/trace is not defined" "$broken.out" || { cat "$broken.out"; return 1; }
}
step "collector config checker refuses a broken copy" refuses_broken_collector_config

step "Analytics Engine SQL parse and scripts/analytics.py on canned answers" \
  "$PY" tests/otel/test_analytics.py
step "OTLP receiver decodes protobuf and JSON exports" \
  "$PY" tests/otel/test_receiver.py

check_alerts_workflow() {
  "$PY" - <<'PY'
import re, sys, yaml
workflow = yaml.safe_load(open(".github/workflows/alerts.yml"))
triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as true
crons = [entry["cron"] for entry in triggers["schedule"]]
assert crons and all(len(cron.split()) == 5 for cron in crons), crons
steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
check = [step for step in steps if "scripts/analytics.py --check" in step.get("run", "")]
assert len(check) == 1, "one step runs scripts/analytics.py --check"
env = check[0]["env"]
assert env["CF_ACCOUNT_ID"] == "${{ secrets.CF_ACCOUNT_ID }}", env
assert env["CF_API_TOKEN"] == "${{ secrets.CF_API_TOKEN }}", env
print("schedule", crons, "runs:", re.sub(r"\s+", " ", check[0]["run"]))
PY
}
step "scheduled check workflow .github/workflows/alerts.yml" check_alerts_workflow

# compile() rather than py_compile: nothing written into the tree.
step "Python files compile" "$PY" -c 'import sys; [compile(open(f).read(), f, "exec") for f in sys.argv[1:]]' \
  scripts/analytics.py tests/otel/receiver.py tests/otel/spin_otlp_test.py \
  tests/otel/check_collector_config.py tests/otel/test_analytics.py tests/otel/test_receiver.py

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
