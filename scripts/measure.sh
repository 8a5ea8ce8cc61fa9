#!/usr/bin/env bash
# Latency probes behind the figures in the README: password hashing cost inside wasm
# (login vs refresh) and the per-request cost of the rate limiter (GET /v1/me with the
# limiter on vs RATE_LIMITS_ENABLED=false), on workerd (wrangler dev) and on the Spin
# test host. Sequential requests on loopback; bounded by ROUNDS (default 30).
source "$(dirname "$0")/lib.sh"
lib_init

ROUNDS="${ROUNDS:-30}"
LOGS="$ROOT/.tmp/measure-logs"
begin_run "$LOGS"

ensure_tools
cargo build -q -p conformance
build_worker
build_spin_component
build_spin_host

KEY="$(random_signing_key measure)"
RAISED=(ENVIRONMENT=development "$KEY" RATE_LIMIT_AUTH_IP=1000000/60 RATE_LIMIT_LOGIN_FAILURES=1000000/60 RATE_LIMIT_PRINCIPAL=1000000/60)
OFF=(ENVIRONMENT=development "$KEY" RATE_LIMITS_ENABLED=false)
declare -A PORTS
for name in workers-limiter workers-nolimiter spin-limiter spin-nolimiter; do PORTS[$name]="$(free_port)"; done
start_workers workers-limiter "${PORTS[workers-limiter]}" "$LOGS" "${RAISED[@]}"
start_workers workers-nolimiter "${PORTS[workers-nolimiter]}" "$LOGS" "${OFF[@]}"
start_spin spin-limiter "${PORTS[spin-limiter]}" "$LOGS" "${RAISED[@]}"
start_spin spin-nolimiter "${PORTS[spin-nolimiter]}" "$LOGS" "${OFF[@]}"
for name in workers-limiter workers-nolimiter spin-limiter spin-nolimiter; do
  logf="$LOGS/$([[ $name == workers* ]] && echo wrangler-dev || echo spin-host)-$name.log"
  wait_for_health "http://127.0.0.1:${PORTS[$name]}" 90 "$logf"
  echo "## $name"
  python3 "$ROOT/scripts/measure.py" "http://127.0.0.1:${PORTS[$name]}" "$ROUNDS"
done
