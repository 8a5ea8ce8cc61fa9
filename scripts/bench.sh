#!/usr/bin/env bash
# Benchmarks: builds release artifacts, starts on loopback an empty JavaScript worker (the
# floor), the API on wrangler dev, on Miniflare driven from Node and on the Spin test host
# (rate limits off), seeds them, drives each scenario with oha (wrk where every request
# must differ) for a bounded time and writes BENCHMARKS.md, then appends the start-up
# profile, the sizes, the per-operation costs inside wasm and natively.
# RUNS (default 3), BENCH_SECONDS (default 8) and CONCURRENCY (default 10) tune it.
#
# --peer DIR (or BENCH_PEER=DIR): afterwards, the side-by-side comparison with a checkout of
# Cloudflare's chanfana OpenAPI template (cloudflare/templates, folder
# chanfana-openapi-template; DIR may also be the templates clone itself), see bench/peer.py.
# --peer-only: only that comparison. --no-build: use the worker already built in
# adapters/cloudflare/build instead of building it (with --peer-only).
# PEER_RUNS (default 3), PEER_SECONDS (default 5), PEER_CONCURRENCY (default "2,8"),
# PEER_CLIENT (both: wrk -t1 for req/s and p50, oha for p99 (default); oha: oha for all)
# and DO_REQUESTS (default 1000) tune the comparison; BENCH_PEER_REV names the peer's
# revision in the report when DIR is not a git checkout.
# --profile: where a warm isolate spends its CPU time per request, ours and (with --peer)
# the peer's, from V8 profiles through workerd's inspector (bench/cpu_profile.py; a section
# of BENCHMARKS.md; PROFILE_SECONDS, default 6, and PROFILE_PASSES, default 2, tune it); with
# --no-build, the worker already built.
# --ab DIR_A DIR_B: two builds side by side (each DIR holds entry.js and build/, as
# adapters/cloudflare does), alternating pass by pass (bench/ab.py; printed, not written).
# --metrics-only: only the cost of the metrics write (bench/metrics_cost.py: the worker on
# Miniflare with and without its Analytics Engine binding, side by side; the full run ends
# with it too); with --no-build, the worker already built.
BENCH_ARGS="$*"
source "$(dirname "$0")/lib.sh"
lib_init

OHA_VERSION="1.16.0"
LOGS="$ROOT/.tmp/bench-logs"
begin_run "$LOGS"

PEER="${BENCH_PEER:-}" PEER_ONLY=0 NO_BUILD=0 METRICS_ONLY=0 PROFILE=0 AB_A="" AB_B=""
while (($#)); do
  case "$1" in
    --peer) PEER="${2:?--peer needs a directory}"; shift 2 ;;
    --peer=*) PEER="${1#--peer=}"; shift ;;
    --peer-only) PEER_ONLY=1; shift ;;
    --no-build) NO_BUILD=1; shift ;;
    --metrics-only) METRICS_ONLY=1; shift ;;
    --profile) PROFILE=1; shift ;;
    --ab) AB_A="${2:?--ab needs two directories}"; AB_B="${3:?--ab needs two directories}"; shift 3 ;;
    -h | --help) sed -n '2,/^BENCH_ARGS/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ "$PEER_ONLY" == 1 && -z "$PEER" ]]; then
  echo "--peer-only needs --peer DIR (or BENCH_PEER=DIR)" >&2
  exit 2
fi
if [[ "$NO_BUILD" == 1 && "$PEER_ONLY" != 1 && "$METRICS_ONLY" != 1 && "$PROFILE" != 1 ]]; then
  echo "--no-build goes with --peer-only, --profile or --metrics-only (the full run builds every artifact it measures)" >&2
  exit 2
fi

ensure_load_tools() {
  if [[ "$(oha --version 2>/dev/null || true)" != *"$OHA_VERSION"* ]]; then
    log "installing oha $OHA_VERSION"
    cargo install oha --version "=$OHA_VERSION" --locked
  fi
  if ! command -v wrk >/dev/null; then
    log "installing Debian's wrk"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
}

# The peer: DIR is copied to .tmp/peer/src (the checkout is left as it is), its runtime
# dependencies installed there from its lockfile (npm ci, scripts off, only when the lockfile
# changed), and bundled by our pinned wrangler (`wrangler deploy --dry-run`) into
# .tmp/peer/bundle; then bench/peer.py seeds, serves and measures both sides.
bundle_peer() {
  local dir="$PEER" src="$ROOT/.tmp/peer/src" out="$ROOT/.tmp/peer/bundle" rev config
  [[ -f "$dir/wrangler.jsonc" || ! -d "$dir/chanfana-openapi-template" ]] || dir="$dir/chanfana-openapi-template"
  config="$(cd "$dir" && ls wrangler.jsonc wrangler.json 2>/dev/null | head -1 || true)"
  if [[ -z "$config" || ! -f "$dir/package-lock.json" ]]; then
    echo "--peer $PEER: expected a checkout of chanfana-openapi-template (wrangler.jsonc, package-lock.json)" >&2
    exit 2
  fi
  rev="${BENCH_PEER_REV:-$(git -C "$dir" log -1 --format='%h (%cs)' 2>/dev/null || echo '(not a git checkout)')}"
  log "peer: preparing $dir (revision $rev)"
  mkdir -p "$src"
  find "$src" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  tar -C "$dir" --exclude=./node_modules --exclude=./.wrangler --exclude=./.git -cf - . | tar -C "$src" -xf -
  if [[ ! -f "$src/node_modules/.bench-lock" ]] || ! cmp -s "$src/package-lock.json" "$src/node_modules/.bench-lock"; then
    log "peer: npm ci --omit=dev (its pinned runtime dependencies)"
    (cd "$src" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
    cp "$src/package-lock.json" "$src/node_modules/.bench-lock"
  fi
  rm -rf "$out"
  (cd "$src" && "$ROOT/node_modules/.bin/wrangler" deploy --dry-run --outdir "$out" >"$LOGS/peer-bundle.log" 2>&1) ||
    { tail -30 "$LOGS/peer-bundle.log" >&2; exit 1; }
  PEER_BUNDLE="$out/index.js" PEER_CONFIG="$src/$config" PEER_SRC="$src" PEER_REV="$rev"
}

run_peer_comparison() {
  bundle_peer
  python3 bench/peer.py --peer-bundle "$PEER_BUNDLE" --peer-config "$PEER_CONFIG" --peer-dir "$PEER_SRC" \
    --peer-rev "$PEER_REV" --runs "${PEER_RUNS:-3}" --seconds "${PEER_SECONDS:-5}" \
    --concurrency "${PEER_CONCURRENCY:-2,8}" --client "${PEER_CLIENT:-both}" --do-requests "${DO_REQUESTS:-1000}" \
    --command "scripts/bench.sh${BENCH_ARGS:+ $BENCH_ARGS}" --out "$ROOT/BENCHMARKS.md"
}

# The cost of the metrics write: two Miniflare instances of the built worker, one with the
# METRICS binding and one without, each over its own migrated local D1.
run_metrics_cost() {
  local on off state
  on="$(free_port)"; off="$(free_port)"
  for state in metrics-on metrics-off; do
    rm -rf "$ROOT/.tmp/$state"
    npx wrangler d1 migrations apply DB --local --persist-to "$ROOT/.tmp/$state" >"$LOGS/d1-$state.log" 2>&1
  done
  local config=(ENVIRONMENT=development "$(random_signing_key bench)" RATE_LIMITS_ENABLED=false LOG_LEVEL=warn)
  BENCH_METRICS_DATASET=taskapi_requests setsid node bench/miniflare.mjs "$on" "$ROOT/.tmp/metrics-on" "${config[@]}" \
    >"$LOGS/miniflare-metrics-on.log" 2>&1 &
  PIDS+=($!)
  setsid node bench/miniflare.mjs "$off" "$ROOT/.tmp/metrics-off" "${config[@]}" >"$LOGS/miniflare-metrics-off.log" 2>&1 &
  PIDS+=($!)
  wait_for_health "http://127.0.0.1:$on" 90 "$LOGS/miniflare-metrics-on.log"
  wait_for_health "http://127.0.0.1:$off" 90 "$LOGS/miniflare-metrics-off.log"
  log "metrics: the cost of the data point per request (with / without the METRICS binding)"
  (cd bench && python3 metrics_cost.py --with-metrics "http://127.0.0.1:$on" --without-metrics "http://127.0.0.1:$off" \
    --runs "${METRICS_RUNS:-3}" --seconds "${METRICS_SECONDS:-5}" --out "$ROOT/BENCHMARKS.md")
}

# The worker for a partial run: built, or with --no-build the one already built.
prepare_worker() {
  ensure_node_modules
  ensure_load_tools
  if [[ "$NO_BUILD" == 1 ]]; then
    [[ -f adapters/cloudflare/build/index.js ]] || { echo "--no-build: adapters/cloudflare/build/index.js is missing" >&2; exit 2; }
  else
    ensure_tools
    build_worker
  fi
}

if [[ "$METRICS_ONLY" == 1 ]]; then
  prepare_worker
  run_metrics_cost
  exit 0
fi

if [[ -n "$AB_A" ]]; then
  ensure_node_modules
  ensure_load_tools
  python3 bench/ab.py "$AB_A" "$AB_B" --runs "${AB_RUNS:-5}" --seconds "${AB_SECONDS:-5}"
  exit 0
fi

if [[ "$PROFILE" == 1 ]]; then
  prepare_worker
  peer_args=()
  if [[ -n "$PEER" ]]; then
    bundle_peer
    peer_args=(--peer-bundle "$PEER_BUNDLE" --peer-config "$PEER_CONFIG" --peer-rev "$PEER_REV")
  fi
  python3 bench/cpu_profile.py "${peer_args[@]}" --seconds "${PROFILE_SECONDS:-6}" --passes "${PROFILE_PASSES:-2}" \
    --command "scripts/bench.sh${BENCH_ARGS:+ $BENCH_ARGS}" --out "$ROOT/BENCHMARKS.md"
  exit 0
fi

if [[ "$PEER_ONLY" == 1 ]]; then
  prepare_worker
  run_peer_comparison
  exit 0
fi

ensure_tools
ensure_load_tools
build_worker
build_spin_component
build_spin_host

KEY="$(random_signing_key bench)"
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
run_metrics_cost
if [[ -n "$PEER" ]]; then run_peer_comparison; fi
PROFILE_PEER=()
if [[ -n "$PEER" ]]; then PROFILE_PEER=(--peer-bundle "$PEER_BUNDLE" --peer-config "$PEER_CONFIG" --peer-rev "$PEER_REV"); fi
log "CPU time per request of a warm isolate (V8 profiles)"
python3 bench/cpu_profile.py "${PROFILE_PEER[@]}" --seconds "${PROFILE_SECONDS:-6}" --passes "${PROFILE_PASSES:-2}" \
  --command "scripts/bench.sh${BENCH_ARGS:+ $BENCH_ARGS}" --out "$ROOT/BENCHMARKS.md"
