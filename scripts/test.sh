#!/usr/bin/env bash
# Runs every test: formatting and lints, unit and in-process tests (cargo test, which
# includes the conformance suite against the native host), then the conformance suite
# against the Workers host (wrangler dev on a fresh local D1) and the Spin host
# (the component on the wasmtime-based Spin test host over SQLite).
# Ends with one line: `N passed, N failed`.
source "$(dirname "$0")/lib.sh"

LOGS="$ROOT/.tmp/test-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
record() { # name passed failed
  TOTAL_PASSED=$((TOTAL_PASSED + $2)); TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUMMARY+=("$(printf '%-28s %4d passed, %d failed' "$1" "$2" "$3")")
}

ensure_tools

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy (native, and each adapter on its wasm target)"
cargo clippy --workspace --all-targets -q -- -D warnings
cargo clippy -p taskapi-cloudflare --target wasm32-unknown-unknown -q -- -D warnings
cargo clippy -p taskapi-spin --target wasm32-wasip2 -q -- -D warnings

log "cargo test (core unit tests, native host in-process + conformance)"
set +e
cargo test --workspace --exclude taskapi-cloudflare --exclude taskapi-spin 2>&1 | tee "$LOGS/cargo-test.log"
rc=${PIPESTATUS[0]}
set -e
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$LOGS/cargo-test.log")
[[ $rc -ne 0 && $f -eq 0 ]] && f=1
record "cargo test" "$p" "$f"

cargo build -q -p conformance
build_worker
build_spin_component
build_spin_host

# run_conformance HOST URL
run_conformance() {
  set +e
  "$CARGO_TARGET_DIR/debug/conformance" --base-url "$2" --host "$1" 2>&1 | tee "$LOGS/conformance-$1.log"
  set -e
  local line
  line="$(grep -E "^conformance\[$1\]:" "$LOGS/conformance-$1.log" | tail -1)"
  if [[ -z "$line" ]]; then record "conformance[$1]" 0 1; return; fi
  read -r p f < <(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
  record "conformance[$1]" "$p" "$f"
}

# The configuration every host under test runs with (test keys, CORS origin, ...).
mapfile -t HOST_CONFIG < <("$CARGO_TARGET_DIR/debug/conformance" --print-config)
WRANGLER_VARS=()
SPIN_VARS=()
for kv in "${HOST_CONFIG[@]}"; do
  WRANGLER_VARS+=(--var "${kv%%=*}:${kv#*=}")
  name="${kv%%=*}"
  SPIN_VARS+=(--var "${name,,}=${kv#*=}")
done

# --- Workers: wrangler dev (workerd + miniflare) on a fresh local D1 ---
WSTATE="$ROOT/.tmp/test-wrangler-state"
rm -rf "$WSTATE"
log "applying migrations to a fresh local D1"
npx wrangler d1 migrations apply DB --local --persist-to "$WSTATE" >"$LOGS/d1-migrations.log" 2>&1
WPORT="$(free_port)"
log "starting wrangler dev on 127.0.0.1:$WPORT"
setsid npx wrangler dev --ip 127.0.0.1 --port "$WPORT" --inspector-port "$(free_port)" --inspector-ip 127.0.0.1 \
  --persist-to "$WSTATE" "${WRANGLER_VARS[@]}" \
  >"$LOGS/wrangler-dev.log" 2>&1 &
PIDS+=($!)
if wait_for_health "http://127.0.0.1:$WPORT" 90 "$LOGS/wrangler-dev.log"; then
  run_conformance workers "http://127.0.0.1:$WPORT"
else
  record "conformance[workers]" 0 1
fi

# --- Spin: the component on the Spin test host over SQLite ---
SPORT="$(free_port)"
SDB="$ROOT/.tmp/test-spin.sqlite"
rm -f "$SDB" "$SDB-wal" "$SDB-shm"
log "starting the Spin test host on 127.0.0.1:$SPORT"
setsid "$(SPIN_HOST_BIN)" --component "$(SPIN_COMPONENT)" --listen "127.0.0.1:$SPORT" \
  --sqlite "$SDB" --sqlite-init migrations/0001_init.sql \
  "${SPIN_VARS[@]}" \
  >"$LOGS/spin-host.log" 2>&1 &
PIDS+=($!)
if wait_for_health "http://127.0.0.1:$SPORT" 60 "$LOGS/spin-host.log"; then
  run_conformance spin "http://127.0.0.1:$SPORT"
else
  record "conformance[spin]" 0 1
fi

echo
echo "Summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[[ $TOTAL_FAILED -eq 0 ]]
