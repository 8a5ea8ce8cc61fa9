#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and in-process tests (cargo test, which
# includes the conformance suite against the native host), fuzzing, then the conformance
# suite against the Workers host (wrangler dev on a fresh local D1) and the Spin host
# (the component on the wasmtime-based Spin test host over SQLite), schemathesis, the
# client packages and the docs page. Each step is a function below; `main` runs them.
# Ends with one line: `N passed, N failed`.
source "$(dirname "$0")/lib.sh"
lib_init

LOGS="$ROOT/.tmp/test-logs"
# The trace id the conformance suite sends in a traceparent (tests/conformance, KNOWN_TRACE_ID).
KNOWN_TRACE_ID="5eed7eaced0000000000000000000001"
REAL_SPIN=""
static_checks() {
  log "cargo fmt --check"
  cargo fmt --all --check
  log "cargo clippy (native, and each adapter on its wasm target)"
  cargo clippy --workspace --all-targets -q -- -D warnings
  cargo clippy -p taskapi-cloudflare --target wasm32-unknown-unknown -q -- -D warnings
  cargo clippy -p taskapi-validate --target wasm32-unknown-unknown -q -- -D warnings
  cargo clippy -p taskapi-spin --target wasm32-wasip2 -q -- -D warnings
}

cargo_tests() {
  log "cargo test (core unit tests, native host in-process + conformance)"
  local rc p f
  set +e
  cargo test --workspace --exclude taskapi-cloudflare --exclude taskapi-spin 2>&1 | tee "$LOGS/cargo-test.log"
  rc=${PIPESTATUS[0]}
  set -e
  read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$LOGS/cargo-test.log")
  [[ $rc -ne 0 && $f -eq 0 ]] && f=1
  record "cargo test" "$p" "$f"
}

fuzz_targets() {
  log "cargo fuzz: each libFuzzer target for ${FUZZ_SECONDS:-10}s from the committed corpus"
  ensure_fuzz_tools
  local t
  for t in "${FUZZ_TARGETS[@]}"; do
    record_cmd "fuzz[$t]" fuzz_run "$t" "${FUZZ_SECONDS:-10}"
    grep -E "^(stat::number_of_executed_units|Done)" "$(check_log "fuzz[$t]")" | tail -1 | sed "s/^/  fuzz[$t]: /"
  done
}

openapi_typescript() {
  log "TypeScript types from openapi.json (openapi-typescript) compile with tsc --strict"
  mkdir -p "$ROOT/.tmp/client"
  record_cmd "openapi-typescript+tsc" bash -c "npx openapi-typescript openapi.json -o .tmp/client/openapi.d.ts && npx tsc -p tests/client/tsconfig.json"
}

build_artifacts() {
  cargo build -q -p conformance
  build_worker
  build_spin_component
  build_spin_host
  build_validate_package
  record_cmd "validation package types (tsc --strict)" npx tsc -p tests/validate/tsconfig.json
}

# Deploy readiness without network: wrangler's dry run for every environment, and the
# deployment files parse.
deploy_readiness() {
  local env name
  for env in "" staging production; do
    name="wrangler deploy --dry-run${env:+ --env $env}"
    record_cmd "$name" npx wrangler deploy --dry-run --outdir "$ROOT/.tmp/dry-run${env:+-$env}" ${env:+--env "$env"}
  done
  record_cmd "deploy files parse" "$VENV/bin/python" -c '
import sys, tomllib, yaml
for f in ["wrangler.toml", "spin.toml", "deploy/spin-runtime-config.toml", "schemathesis.toml"]:
    tomllib.load(open(f, "rb"))
docs = list(yaml.safe_load_all(open("deploy/spinapp.yaml")))
assert docs[0]["kind"] == "SpinApp" and docs[0]["spec"]["enableAutoscaling"] is True
variables = {v["name"]: v.get("value") for v in docs[0]["spec"]["variables"]}
assert variables.get("trust_forwarded_for") == "true", "behind an ingress the client is X-Forwarded-For"
assert docs[1]["kind"] == "HorizontalPodAutoscaler" and docs[1]["spec"]["maxReplicas"] >= docs[1]["spec"]["minReplicas"]
wf = yaml.safe_load(open(".github/workflows/ci.yml"))
assert set(wf["jobs"]) == {"test", "deploy"}
'
}

# Size budget of the worker (gzip, as Cloudflare counts it): start-up time grows with it.
size_budget() {
  local budget=$((1024 * 1024)) worker_raw worker_gz spin_raw spin_gz
  worker_raw=$(stat -c %s adapters/cloudflare/build/index_bg.wasm)
  worker_gz=$(gzip -9 -c adapters/cloudflare/build/index_bg.wasm | wc -c)
  spin_raw=$(stat -c %s "$(spin_component)")
  spin_gz=$(gzip -9 -c "$(spin_component)" | wc -c)
  echo "sizes: worker wasm ${worker_raw} B raw, ${worker_gz} B gzip (budget ${budget}); Spin component ${spin_raw} B raw, ${spin_gz} B gzip"
  if (( worker_gz <= budget )); then record "worker gzip size budget" 1 0; else record "worker gzip size budget" 0 1; fi
}

# Each host runs twice: the main suite with raised limits (and the test OpenID provider),
# and the rate-limit checks against an instance with small limits. Real Spin, when there
# is one (SPIN_BIN, or spin on PATH), runs the same two instances under `spin up`.
start_hosts() {
  WPORT="$(free_port)"; WLPORT="$(free_port)"; SPORT="$(free_port)"; SLPORT="$(free_port)"; OPORT="$(free_port)"
  REAL_SPIN="$(real_spin_bin)"
  local issuer="http://127.0.0.1:$OPORT" callbacks=() port
  for port in "$WPORT" "$SPORT"; do callbacks+=("http://127.0.0.1:$port/v1/auth/oidc/test/callback"); done
  if [[ -n "$REAL_SPIN" ]]; then
    RPORT="$(free_port)"; RLPORT="$(free_port)"
    callbacks+=("http://127.0.0.1:$RPORT/v1/auth/oidc/test/callback")
  fi
  log "starting the test OpenID provider ($issuer)"
  start_oidc_provider "$OPORT" "$LOGS" "${callbacks[@]}"
  log "starting wrangler dev (127.0.0.1:$WPORT, rate-limited :$WLPORT) and the Spin test host (:$SPORT, :$SLPORT)"
  local limited_config wcfg scfg rcfg
  mapfile -t limited_config < <("$CARGO_TARGET_DIR/debug/conformance" --print-config --rate-limited)
  mapfile -t wcfg < <(main_config "$issuer" "$WPORT")
  mapfile -t scfg < <(main_config "$issuer" "$SPORT")
  start_workers workers "$WPORT" "$LOGS" "${wcfg[@]}"
  start_workers workers-ratelimit "$WLPORT" "$LOGS" "${limited_config[@]}"
  SPIN_ALLOW_OUTBOUND="$issuer" start_spin spin "$SPORT" "$LOGS" "${scfg[@]}"
  start_spin spin-ratelimit "$SLPORT" "$LOGS" "${limited_config[@]}"
  if [[ -n "$REAL_SPIN" ]]; then
    log "starting real Spin ($("$REAL_SPIN" --version), 127.0.0.1:$RPORT, rate-limited :$RLPORT)"
    # spin.toml lets the component reach the origins of OIDC_OUTBOUND_A..D.
    mapfile -t rcfg < <(main_config "$issuer" "$RPORT")
    start_real_spin spin-real "$RPORT" "$LOGS" "${rcfg[@]}" "OIDC_OUTBOUND_A=$issuer"
    start_real_spin spin-real-ratelimit "$RLPORT" "$LOGS" "${limited_config[@]}"
  fi
}

# main_config ISSUER PORT: the main suite's configuration of the host on PORT, signing in
# with the provider at ISSUER; one KEY=VALUE per line.
main_config() {
  "$CARGO_TARGET_DIR/debug/conformance" --print-config --oidc-issuer "$1" --public-base-url "http://127.0.0.1:$2"
}

# The log file of a host instance by its name.
host_log() {
  case "$1" in
    workers*) echo "$LOGS/wrangler-dev-$1.log" ;;
    spin-real*) echo "$LOGS/real-spin-$1.log" ;;
    *) echo "$LOGS/spin-host-$1.log" ;;
  esac
}

# record_counts NAME COMMAND...: a command whose output ends with `N passed, N failed`;
# its output is shown and its counts recorded (no such line, or a failing status with no
# failure counted, is one failure).
record_counts() {
  local name="$1" logf rc p f line
  logf="$(check_log "$1")"
  shift
  set +e
  "$@" 2>&1 | tee "$logf" | sed 's/^/  /'
  rc=${PIPESTATUS[0]}
  set -e
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logf" | tail -1 || true)"
  if [[ -z "$line" ]]; then record "$name" 0 1; return; fi
  read -r p f < <(sed -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
  [[ $rc -ne 0 && $f -eq 0 ]] && f=1
  record "$name" "$p" "$f"
}

# run_suite NAME PORT FLAGS: the conformance suite against one running host.
run_suite() {
  local logf p f line
  logf="$(host_log "$1")"
  if ! wait_for_health "http://127.0.0.1:$2" 90 "$logf"; then
    record "conformance[$1]" 0 1
    return
  fi
  set +e
  "$CARGO_TARGET_DIR/debug/conformance" --base-url "http://127.0.0.1:$2" --host "$1" ${3:-} 2>&1 | tee "$LOGS/conformance-$1.log"
  set -e
  line="$(grep -E "^conformance\[$1\]:" "$LOGS/conformance-$1.log" | tail -1)"
  if [[ -z "$line" ]]; then record "conformance[$1]" 0 1; return; fi
  read -r p f < <(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
  record "conformance[$1]" "$p" "$f"
}

conformance_on_hosts() {
  run_suite workers "$WPORT" "--d1-sessions --oidc"
  run_suite workers-ratelimit "$WLPORT" "--rate-limited --d1-sessions"
  run_suite spin "$SPORT" "--panic-body-from-host --oidc"
  run_suite spin-ratelimit "$SLPORT" "--rate-limited --panic-body-from-host"
  if [[ -n "$REAL_SPIN" ]]; then
    run_suite spin-real "$RPORT" "--panic-body-from-host --oidc"
    run_suite spin-real-ratelimit "$RLPORT" "--rate-limited --panic-body-from-host"
  else
    echo "SKIPPED: the conformance suite on real Spin (set SPIN_BIN, or put spin on PATH)"
    SUMMARY+=("conformance[spin-real]: SKIPPED (set SPIN_BIN, or put spin on PATH)")
  fi
}

# The monitoring files validate offline; on real Spin, the OTLP export carries the
# caller's trace (tests/otel/spin_otlp_test.py, which says itself when it skips).
monitoring() {
  log "monitoring files (scripts/check-monitoring.sh)"
  record_counts "monitoring files" bash scripts/check-monitoring.sh
  if [[ -n "$REAL_SPIN" ]]; then
    log "OpenTelemetry export of real Spin (tests/otel/spin_otlp_test.py)"
    record_counts "OTLP traces and metrics[spin-real]" env SPIN_BIN="$REAL_SPIN" SPIN_COMPONENT="$(spin_component)" \
      "${MONITORING_VENV:-$HOME/.cache/taskapi/monitoring-venv}/bin/python" tests/otel/spin_otlp_test.py
  else
    echo "SKIPPED: the OTLP export on real Spin (set SPIN_BIN, or put spin on PATH)"
    SUMMARY+=("OTLP traces and metrics[spin-real]: SKIPPED (set SPIN_BIN, or put spin on PATH)")
  fi
}

# Trace context and metrics in the host logs: the conformance suite's known trace id is in
# a request line of every host (continued, not replaced), and every Workers request line
# the core wrote says its Analytics Engine data point was written (the METRICS binding of
# wrangler.toml).
telemetry_in_logs() {
  local h f n points lines
  for h in workers spin ${REAL_SPIN:+spin-real}; do
    f="$(host_log "$h")"
    n=$(grep '"msg":"request"' "$f" | grep -c "\"trace_id\":\"$KNOWN_TRACE_ID\"" || true)
    echo "  $h: $n request lines in the caller's trace $KNOWN_TRACE_ID"
    if (( n >= 1 )); then record "trace id continued in logs[$h]" 1 0; else record "trace id continued in logs[$h]" 0 1; fi
  done
  # The core's lines (they carry a span id); entry.js writes the line of a request whose
  # instance aborted (a panic), which has no data point.
  f="$(host_log workers)"
  lines=$(grep '"msg":"request"' "$f" | grep -c '"span_id"' || true)
  points=$(grep '"msg":"request"' "$f" | grep '"span_id"' | grep -c '"data_point":true' || true)
  echo "  workers: $points of $lines request lines wrote their data point"
  if (( lines > 100 && points == lines )); then record "a data point per request[workers]" 1 0; else
    record "a data point per request[workers]" 0 1; fi
}

# Clients generated from openapi.json compile, lint clean, and run their flow on each host.
generated_clients() {
  log "generated clients (scripts/clients.sh) against workers and spin"
  record_counts "generated clients" env BASE_URL="workers=http://127.0.0.1:$WPORT spin=http://127.0.0.1:$SPORT" \
    bash scripts/clients.sh
}

# run_schemathesis NAME URL: every check of schemathesis, with a fixture project and task
# so that project and task routes reach real data.
run_schemathesis() {
  local token project task config="$ROOT/.tmp/schemathesis-$1.toml"
  token="$(curl -fs -H 'Content-Type: application/json' \
    -d "{\"email\":\"schemathesis.$RANDOM@example.test\",\"password\":\"correct horse battery staple\",\"name\":\"Fuzz\"}" \
    "$2/v1/auth/register" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')" || true
  project="$(curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"Fuzz fixture"}' \
    "$2/v1/projects" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" || true
  task="$(curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"title":"Fuzz fixture"}' \
    "$2/v1/projects/$project/tasks" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" || true
  { cat "$ROOT/schemathesis.toml"; printf '\n[[operations]]\ninclude-path-regex = "^/v1/projects/[{]id[}]"\nparameters = { "path.id" = "%s" }\n' "$project"
    printf '\n[[operations]]\ninclude-path-regex = "^/v1/tasks/[{]id[}]"\nparameters = { "path.id" = "%s" }\n' "$task"; } >"$config"
  log "schemathesis against $1"
  if "$VENV/bin/st" --config-file "$config" run "$2/v1/openapi.json" --url "$2" \
      -H "Authorization: Bearer $token" --checks all --max-examples "${SCHEMATHESIS_EXAMPLES:-10}" --workers 1 --exclude-path /docs \
      --seed 20261121 >"$LOGS/schemathesis-$1.log" 2>&1; then
    record "schemathesis[$1]" 1 0
  else
    tail -40 "$LOGS/schemathesis-$1.log"; record "schemathesis[$1]" 0 1
  fi
  grep -E "generated" "$LOGS/schemathesis-$1.log" | tail -1 | sed "s/^/  schemathesis[$1]: /"
}

# The validation package gives the server's verdicts, and the docs page renders.
clients_and_docs() {
  local h port
  for h in workers spin; do
    port="$WPORT"; [[ $h == spin ]] && port="$SPORT"
    log "the validation package and $h give the same verdicts"
    record_cmd "validation package = server[$h]" env BASE_URL="http://127.0.0.1:$port" \
      PKG_NODE="$VALIDATE_PKG/node" PKG_WEB="$VALIDATE_PKG/web" node --test "$ROOT/tests/validate/"*.test.mjs
    grep -h "bodies:" "$(check_log "validation package = server[$h]")" | sed "s/^/  /" || true
    log "the /docs page in Chromium against $h"
    record_cmd "docs-page[$h]" env BASE_URL="http://127.0.0.1:$port" SCREENSHOT="$LOGS/docs-$h.png" \
      node --test "$ROOT/tests/docs/"*.test.mjs
  done
}

# Logs never carry a secret: scan every host log of this run for access tokens, refresh
# tokens, API keys, password hashes and the fixture passwords.
secrets_not_logged() {
  log "scanning host logs for secrets"
  local lines
  if grep -E -n 'eyJ[A-Za-z0-9_-]{10,}\.eyJ|rt_[A-Za-z0-9_-]{43}|tm_[A-Za-z0-9_-]{43}|\$argon2id\$|correct horse battery|wrong password!' \
      "$LOGS"/wrangler-dev-*.log "$LOGS"/spin-host-*.log "$LOGS"/real-spin-*.log >"$LOGS/secret-scan.log" 2>&1; then
    echo "secrets found in logs:"; head -5 "$LOGS/secret-scan.log"; record "no secrets in host logs" 0 1
  else
    lines=$(cat "$LOGS"/wrangler-dev-*.log "$LOGS"/spin-host-*.log "$LOGS"/real-spin-*.log 2>/dev/null | grep -c '"msg":"request"' || true)
    echo "  $lines request log lines scanned"
    if (( lines > 100 )); then record "no secrets in host logs" 1 0; else record "no secrets in host logs" 0 1; fi
  fi
}

# Every injected panic was logged, with the request id the client sent, by each host.
panics_logged() {
  local h f n
  for h in workers spin ${REAL_SPIN:+spin-real}; do
    f="$(host_log "$h")"
    n=$(grep -c '"msg":"panic","request_id":"panic-check-' "$f" || true)
    echo "  $h: $n panics logged with their request id"
    if (( n >= 3 )); then record "panics logged with request id[$h]" 1 0; else record "panics logged with request id[$h]" 0 1; fi
  done
  # A panic without the caller's id: Workers answers it in entry.js, whose chosen id the
  # worker logged the panic under (the conformance suite prints the id it was answered).
  local id
  id="$(sed -n 's/.*panic-without-request-id \([0-9a-f-]\{36\}\).*/\1/p' "$LOGS/conformance-workers.log" | tail -1)"
  if [[ -n "$id" ]] && grep -q "\"msg\":\"panic\",\"request_id\":\"$id\"" "$(host_log workers)"; then
    record "panic without a request id logged under the id answered[workers]" 1 0
  else
    echo "  workers: no panic log line under the answered id '${id:-none}'"
    record "panic without a request id logged under the id answered[workers]" 0 1
  fi
}

main() {
  begin_run "$LOGS"
  ensure_tools
  ensure_test_tools
  static_checks
  cargo_tests
  fuzz_targets
  openapi_typescript
  build_artifacts
  deploy_readiness
  size_budget
  start_hosts
  conformance_on_hosts
  run_schemathesis workers "http://127.0.0.1:$WPORT"
  run_schemathesis spin "http://127.0.0.1:$SPORT"
  clients_and_docs
  generated_clients
  stop_started
  monitoring
  secrets_not_logged
  panics_logged
  telemetry_in_logs
  print_summary
  [[ $TOTAL_FAILED -eq 0 ]]
}

main "$@"
