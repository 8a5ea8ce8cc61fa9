#!/usr/bin/env bash
# Benchmarks: builds release artifacts, starts on loopback an empty JavaScript worker (the
# floor), the API on wrangler dev, on Miniflare driven from Node and on the Spin test host
# (rate limits off), seeds them, drives each scenario with oha (wrk where every request
# must differ) for a bounded time and writes BENCHMARKS.md, then appends the start-up
# profile, the sizes, the per-operation costs inside wasm and natively.
# RUNS (default 3), BENCH_SECONDS (default 8) and CONCURRENCY (default 10) tune it.
source "$(dirname "$0")/lib.sh"
lib_init

OHA_VERSION="1.16.0"
LOGS="$ROOT/.tmp/bench-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
trap stop_started EXIT

ensure_tools
if [[ "$(oha --version 2>/dev/null || true)" != *"$OHA_VERSION"* ]]; then
  log "installing oha $OHA_VERSION"
  cargo install oha --version "=$OHA_VERSION" --locked
fi
if ! command -v wrk >/dev/null; then
  log "installing Debian's wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
build_worker
build_spin_component
build_spin_host

KEY="JWT_SIGNING_KEY=bench:$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')"
CONFIG=(ENVIRONMENT=development "$KEY" RATE_LIMITS_ENABLED=false)
FPORT="$(free_port)"; WPORT="$(free_port)"; MPORT="$(free_port)"; SPORT="$(free_port)"
setsid npx wrangler dev --config bench/floor/wrangler.toml --ip 127.0.0.1 --port "$FPORT" \
  --inspector-port "$(free_port)" --inspector-ip 127.0.0.1 >"$LOGS/floor.log" 2>&1 &
PIDS+=($!)
start_workers bench "$WPORT" "$LOGS" "${CONFIG[@]}" LOG_LEVEL=warn
start_spin bench "$SPORT" "$LOGS" "${CONFIG[@]}" LOG_LEVEL=warn
MSTATE="$ROOT/.tmp/miniflare-bench"
rm -rf "$MSTATE"
npx wrangler d1 migrations apply DB --local --persist-to "$MSTATE" >"$LOGS/d1-migrations-miniflare.log" 2>&1
setsid node bench/miniflare.mjs "$MPORT" "$MSTATE" "${CONFIG[@]}" LOG_LEVEL=warn >"$LOGS/miniflare.log" 2>&1 &
PIDS+=($!)
for port in "$WPORT" "$MPORT" "$SPORT"; do wait_for_health "http://127.0.0.1:$port" 90 "$LOGS/wrangler-dev-bench.log"; done
for ((i = 0; i < 120; i++)); do curl -fs -o /dev/null "http://127.0.0.1:$FPORT/" && break; sleep 0.5; done

python3 bench/bench.py --floor "http://127.0.0.1:$FPORT" --workers "http://127.0.0.1:$WPORT" \
  --workers-state "$ROOT/.tmp/wrangler-bench" --miniflare "http://127.0.0.1:$MPORT" --miniflare-state "$MSTATE" --spin "http://127.0.0.1:$SPORT" --spin-db "$ROOT/.tmp/spin-bench.sqlite" \
  --runs "${RUNS:-3}" --seconds "${BENCH_SECONDS:-8}" --concurrency "${CONCURRENCY:-10}"

log "start-up: wrangler check startup (CPU profile of the worker's start-up)"
STARTUP_PROFILE="$ROOT/.tmp/worker-startup.cpuprofile"
npx wrangler check startup --outfile "$STARTUP_PROFILE" >"$LOGS/startup.log" 2>&1 || true

log "per-operation costs: the same code inside wasm (Node) and natively"
cargo build -q --release -p taskapi-bench-ops --target wasm32-unknown-unknown
OPS_DIR="$ROOT/.tmp/bench-ops"
wasm-bindgen --target nodejs --out-dir "$OPS_DIR" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/taskapi_bench_ops.wasm"
node bench/ops.mjs "$OPS_DIR" >"$LOGS/ops-wasm.json"
cargo run -q --release -p taskapi-bench-ops >"$LOGS/ops-native.json"
log "per-operation costs, natively with criterion (over an in-memory SQLite)"
cargo bench -p taskapi-native --bench ops 2>&1 | tee "$LOGS/criterion.log" >/dev/null
python3 bench/report_extra.py --criterion "$LOGS/criterion.log" --ops-wasm "$LOGS/ops-wasm.json" \
  --ops-native "$LOGS/ops-native.json" --startup "$STARTUP_PROFILE" --startup-log "$LOGS/startup.log" \
  --worker-wasm adapters/cloudflare/build/index_bg.wasm --spin-wasm "$(spin_component)" --out "$ROOT/BENCHMARKS.md"
log "wrote BENCHMARKS.md"
