# Shared helpers of the scripts: functions and pinned versions only. Sourcing it changes
# nothing; a script calls `lib_init` to get strict mode, the repository as working
# directory, and the environment every tool here expects.
# Everything installs from the package registries only, pinned, and only when missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/node.sh
source "$ROOT/scripts/node.sh"
WORKER_BUILD_VERSION="0.8.7"
WASM_PACK_VERSION="0.15.1"

# Strict mode, the repository as working directory, and the tools' environment.
lib_init() {
  set -euo pipefail
  cd "$ROOT"
  # Build output lives outside the clone so fresh clones (CI) reuse earlier compilation.
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/taskapi/target}"
  export WRANGLER_SEND_METRICS=false
  export CLOUDFLARE_CF_FETCH_ENABLED=false
  export NO_UPDATE_NOTIFIER=1
}

log() { printf '==> %s\n' "$*" >&2; }

# Counted checks, for the scripts that end with `N passed, N failed`: `record NAME PASSED
# FAILED` adds a row; `record_cmd NAME COMMAND...` is one check passing when the command
# does, its output in `check_log NAME` (under $LOGS) and shown when it fails;
# `print_summary` prints the rows and the totals line.
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
check_log() { echo "$LOGS/${1//[^A-Za-z0-9._-]/_}.log"; }
record() {
  TOTAL_PASSED=$((TOTAL_PASSED + $2)); TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUMMARY+=("$(printf '%-44s %4d passed, %d failed' "$1" "$2" "$3")")
}
record_cmd() {
  local name="$1" logf
  logf="$(check_log "$1")"
  shift
  if "$@" >"$logf" 2>&1; then record "$name" 1 0; else
    echo "FAILED: $name (log: ${logf#"$ROOT/"})"; sed 's/^/    /' "$logf" | tail -40; record "$name" 0 1; fi
}
print_summary() {
  echo
  echo "Summary"
  local line
  for line in "${SUMMARY[@]}"; do echo "  $line"; done
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
}

# The wasm-bindgen version the worker links, read from Cargo.lock: the CLI must match it.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_rust_targets() {
  local installed
  installed="$(rustup target list --installed)"
  for t in wasm32-unknown-unknown wasm32-wasip2; do
    grep -qx "$t" <<<"$installed" || { log "rustup target add $t"; rustup target add "$t"; }
  done
}

ensure_cargo_tools() {
  if [[ "$(worker-build --version 2>/dev/null || true)" != *"$WORKER_BUILD_VERSION"* ]]; then
    log "installing worker-build $WORKER_BUILD_VERSION (several minutes, once)"
    cargo install worker-build --version "=$WORKER_BUILD_VERSION" --locked
  fi
  if [[ "$(wasm-pack --version 2>/dev/null || true)" != *"$WASM_PACK_VERSION"* ]]; then
    log "installing wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
    cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked
  fi
  local wb
  wb="$(wasm_bindgen_version)"
  if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $wb" ]]; then
    log "installing wasm-bindgen-cli $wb (several minutes, once)"
    cargo install wasm-bindgen-cli --version "=$wb"
  fi
}

ensure_node_modules() {
  ensure_node
  local stamp="node_modules/.taskapi-lock"
  if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
    log "npm ci (wrangler, binaryen)"
    npm ci --no-audit --no-fund
    cp package-lock.json "$stamp"
  fi
}

# The test OpenID provider's packages (tests/oidc, its own lock file).
ensure_oidc_provider() {
  ensure_node
  local stamp="tests/oidc/node_modules/.taskapi-lock"
  if [[ ! -f "$stamp" ]] || ! cmp -s tests/oidc/package-lock.json "$stamp"; then
    log "npm ci in tests/oidc (oidc-provider, jose)"
    npm ci --prefix tests/oidc --no-audit --no-fund
    cp tests/oidc/package-lock.json "$stamp"
  fi
}

# start_oidc_provider PORT LOGDIR CALLBACK...: the test OpenID provider on 127.0.0.1:PORT
# with the conformance suite's client and these redirect URIs; returns once it is ready.
start_oidc_provider() {
  local port="$1" logs="$2" args=() uri
  shift 2
  for uri in "$@"; do args+=(--redirect-uri "$uri"); done
  setsid node tests/oidc/provider.mjs --port "$port" --client-id taskapi-test \
    --client-secret conformance-client-secret "${args[@]}" >"$logs/oidc-provider.out" 2>"$logs/oidc-provider.log" &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    grep -q '^ready ' "$logs/oidc-provider.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the OpenID provider did not start:" >&2; tail -20 "$logs/oidc-provider.log" >&2
  return 1
}

ensure_tools() {
  ensure_rust_targets
  ensure_node_modules
  ensure_oidc_provider
  ensure_cargo_tools
}

SCHEMATHESIS_VERSION="4.32.5"
VENV="${TASKAPI_VENV:-$HOME/.cache/taskapi/venv}"

# A Debian package, installed only when its command is missing.
apt_install_if_missing() { # COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  log "installing Debian's $2"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# What only the test command needs: schemathesis (PyPI, pinned, in a venv outside the
# clone) and Debian's Chromium for the docs page test.
ensure_test_tools() {
  if [[ "$("$VENV/bin/st" --version 2>/dev/null || true)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  apt_install_if_missing chromium chromium
}

build_worker() {
  log "copying the /docs assets into the worker's static assets"
  local public="$ROOT/adapters/cloudflare/public"
  rm -rf "$public" && mkdir -p "$public/docs"
  cp docs/index.html docs/init.js node_modules/swagger-ui-dist/swagger-ui.css \
    node_modules/swagger-ui-dist/swagger-ui-bundle.js "$public/docs/"
  # Static assets skip the worker, so their headers are declared here (same CSP as
  # src/http/docs.rs).
  cat >"$public/_headers" <<'HEADERS'
/docs*
  X-Content-Type-Options: nosniff
  Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'
HEADERS
  log "building the worker (worker-build --release)"
  (cd adapters/cloudflare &&
    WASM_BINDGEN_BIN="$(command -v wasm-bindgen)" \
    WASM_OPT_BIN="$ROOT/node_modules/binaryen/bin/wasm-opt" \
    worker-build --release)
}

# The client validation package (packages/validate) for browsers and Node, with
# wasm-pack: its wasm-bindgen is the pinned CLI above (--mode no-install: nothing is
# downloaded), and wasm-opt is binaryen's from npm, as for the worker.
VALIDATE_PKG="$ROOT/packages/validate/pkg"
build_validate_package() {
  log "building the validation package (wasm-pack, --target web and --target nodejs)"
  local target
  for target in web nodejs; do
    wasm-pack --quiet build packages/validate --release --target "$target" --mode no-install \
      --out-dir "$VALIDATE_PKG/${target/nodejs/node}" --out-name taskapi_validate
    "$ROOT/node_modules/binaryen/bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$VALIDATE_PKG/${target/nodejs/node}/taskapi_validate_bg.wasm" -o "$VALIDATE_PKG/${target/nodejs/node}/taskapi_validate_bg.wasm"
  done
}

# cargo fuzz (libFuzzer) runs on nightly with the address sanitizer; its build output
# lives outside the clone like the rest.
CARGO_FUZZ_VERSION="0.13.2"
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/taskapi/fuzz-target}"
FUZZ_TARGETS=(request_body cursor jwt)
ensure_fuzz_tools() {
  rustup toolchain list | grep -q '^nightly' || { log "rustup toolchain install nightly"; rustup toolchain install nightly --profile minimal; }
  if [[ "$(cargo fuzz --version 2>/dev/null || true)" != *"$CARGO_FUZZ_VERSION"* ]]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo +nightly install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked
  fi
}

# fuzz_run TARGET SECONDS: new inputs go to .tmp/fuzz-corpus (the committed corpus under
# fuzz/corpus only seeds the run); a crash leaves its input under fuzz/artifacts.
fuzz_run() {
  local target="$1" secs="$2" scratch="$ROOT/.tmp/fuzz-corpus/$1"
  mkdir -p "$scratch"
  cargo +nightly fuzz run --target-dir "$FUZZ_TARGET_DIR" -O "$target" "$scratch" "fuzz/corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1
}

spin_component() { echo "$CARGO_TARGET_DIR/wasm32-wasip2/release/taskapi_spin.wasm"; }

build_spin_component() {
  log "building the Spin component (wasm32-wasip2)"
  cargo build -p taskapi-spin --target wasm32-wasip2 --release
}

build_spin_host() {
  log "building the Spin test host (wasmtime)"
  cargo build --release -p spin-test-host
}

spin_host_bin() { echo "$CARGO_TARGET_DIR/release/spin-test-host"; }

# A real Spin CLI: $SPIN_BIN, else `spin` on PATH; empty when neither (the caller says it
# skips). Users install Spin their own way (README, Spin).
real_spin_bin() {
  if [[ -n "${SPIN_BIN:-}" && -x "$SPIN_BIN" ]]; then echo "$SPIN_BIN"; return; fi
  command -v spin 2>/dev/null || true
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_health URL SECONDS LOGFILE
wait_for_health() {
  local url="$1" secs="$2" logf="$3" i
  for ((i = 0; i < secs * 4; i++)); do
    if curl -fs -o /dev/null "$url/v1/health"; then return 0; fi
    sleep 0.25
  done
  echo "server at $url did not become healthy in ${secs}s; its log:" >&2
  tail -50 "$logf" >&2 || true
  return 1
}

# A fresh `JWT_SIGNING_KEY=KID:base64url(32 random bytes)` for a throwaway instance.
random_signing_key() { # KID
  echo "JWT_SIGNING_KEY=$1:$(python3 -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')"
}

# Creates .dev.vars (git-ignored) with development settings and a fresh signing key.
ensure_dev_vars() {
  if [[ ! -f .dev.vars ]]; then
    log "generating .dev.vars with a new development signing key"
    local key
    key="$(node -e 'const c=require("crypto");process.stdout.write("dev-"+Date.now().toString(36)+":"+c.randomBytes(32).toString("base64url"))')"
    umask 077
    cat >.dev.vars <<VARS
ENVIRONMENT=development
LOG_LEVEL=info
CORS_ALLOWED_ORIGINS=http://localhost:5173,http://127.0.0.1:5173
JWT_SIGNING_KEY=$key
VARS
  fi
}

# Processes started by these scripts (each in its own process group); stop_started
# ends exactly those.
PIDS=()
stop_started() {
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
}

# begin_run LOGDIR: a script's run starts with its log folder emptied, and ends (however it
# ends) by stopping the processes it started.
begin_run() {
  rm -rf "$1" && mkdir -p "$1"
  trap stop_started EXIT
}

# start_workers NAME PORT LOGDIR [KEY=VALUE ...]: wrangler dev (workerd + miniflare) on a
# fresh local D1 with the migrations applied, configured with the given variables.
start_workers() {
  local name="$1" port="$2" logs="$3" state="$ROOT/.tmp/wrangler-$1" vars=() kv
  shift 3
  rm -rf "$state"
  npx wrangler d1 migrations apply DB --local --persist-to "$state" >"$logs/d1-migrations-$name.log" 2>&1
  for kv in "$@"; do vars+=(--var "${kv%%=*}:${kv#*=}"); done
  setsid npx wrangler dev --ip 127.0.0.1 --port "$port" --inspector-port "$(free_port)" --inspector-ip 127.0.0.1 \
    --persist-to "$state" "${vars[@]}" >"$logs/wrangler-dev-$name.log" 2>&1 &
  PIDS+=($!)
}

# start_real_spin NAME PORT LOGDIR [KEY=VALUE ...]: `spin up` of the repository's
# spin.toml (its `source` pointed at the built component) in a fresh state directory,
# migrations passed with --sqlite, variables as SPIN_VARIABLE_*.
start_real_spin() {
  local name="$1" port="$2" logs="$3" dir="$ROOT/.tmp/real-spin-$1" env=() inits=() kv f
  shift 3
  rm -rf "$dir" && mkdir -p "$dir"
  sed -E "s#^source = \".*\"\$#source = \"$(spin_component)\"#" spin.toml >"$dir/spin.toml"
  grep -q "^source = \"$(spin_component)\"" "$dir/spin.toml" || { echo "spin.toml: no source line" >&2; return 1; }
  for f in migrations/*.sql; do inits+=(--sqlite "@$ROOT/$f"); done
  for kv in "$@"; do env+=("SPIN_VARIABLE_${kv%%=*}=${kv#*=}"); done
  setsid env "${env[@]}" "$(real_spin_bin)" up --from "$dir/spin.toml" --listen "127.0.0.1:$port" \
    --state-dir "$dir/state" "${inits[@]}" >"$logs/real-spin-$name.log" 2>&1 &
  PIDS+=($!)
}

# start_spin NAME PORT LOGDIR [KEY=VALUE ...]: the component on the Spin test host over a
# fresh SQLite file (Spin variable names are the lower-cased keys). SPIN_ALLOW_OUTBOUND
# (space-separated origins, e.g. "http://127.0.0.1:9400") allows the component's outbound HTTP.
start_spin() {
  local name="$1" port="$2" logs="$3" db="$ROOT/.tmp/spin-$1.sqlite" vars=() inits=() outs=() origins=() kv k f o
  shift 3
  rm -f "$db" "$db-wal" "$db-shm"
  for f in migrations/*.sql; do inits+=(--sqlite-init "$f"); done
  for kv in "$@"; do k="${kv%%=*}"; vars+=(--var "${k,,}=${kv#*=}"); done
  read -ra origins <<<"${SPIN_ALLOW_OUTBOUND:-}"
  for o in "${origins[@]}"; do outs+=(--allow-outbound "$o"); done
  setsid "$(spin_host_bin)" --component "$(spin_component)" --listen "127.0.0.1:$port" \
    --sqlite "$db" "${inits[@]}" "${vars[@]}" "${outs[@]}" >"$logs/spin-host-$name.log" 2>&1 &
  PIDS+=($!)
}
