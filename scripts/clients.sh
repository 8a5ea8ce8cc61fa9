#!/usr/bin/env bash
# Clients generated from the committed openapi.json, checked the way a client developer
# meets them: openapi-python-client, @hey-api/openapi-ts and orval (`headers: true`) write
# their clients into .tmp/clients/; the TypeScript ones must compile with `tsc --strict`, a
# Python flow script (tests/clients/flow.py) must pass `mypy --strict` against the Python
# one; Spectral (OpenAPI + OWASP rules, tests/clients/.spectral.yaml) and Redocly
# (recommended, tests/clients/redocly.yaml) must report nothing unexplained. With BASE_URL
# set, each host's served document must equal the committed one and the flow (register,
# log in, project, task, filtered list, If-Match PATCH, stale If-Match 412) runs against it:
#   BASE_URL=http://127.0.0.1:8787 scripts/clients.sh
#   BASE_URL="workers=http://127.0.0.1:8787 spin=http://127.0.0.1:3000" scripts/clients.sh
# Prints per generator its warnings and how many models it wrote; ends with
# `N passed, N failed`. Tools are pinned (tests/clients/package-lock.json,
# tests/clients/requirements.txt) and installed only when missing, the Python ones into a
# virtualenv outside the clone.
source "$(dirname "$0")/lib.sh"
lib_init

CLIENTS_DIR="$ROOT/tests/clients"
OUT="$ROOT/.tmp/clients"
LOGS="$OUT/logs"
CLIENTS_VENV="${TASKAPI_CLIENTS_VENV:-$HOME/.cache/taskapi/clients-venv}"
BIN="$CLIENTS_DIR/node_modules/.bin"

ensure_client_tools() {
  ensure_node
  local stamp="$CLIENTS_DIR/node_modules/.taskapi-lock"
  if [[ ! -f "$stamp" ]] || ! cmp -s "$CLIENTS_DIR/package-lock.json" "$stamp"; then
    log "npm ci in tests/clients (openapi-ts, orval, typescript, spectral, redocly)"
    (cd "$CLIENTS_DIR" && npm ci --no-audit --no-fund)
    cp "$CLIENTS_DIR/package-lock.json" "$stamp"
  fi
  local pystamp="$CLIENTS_VENV/.taskapi-requirements"
  if [[ ! -f "$pystamp" ]] || ! cmp -s "$CLIENTS_DIR/requirements.txt" "$pystamp"; then
    log "installing openapi-python-client and mypy into $CLIENTS_VENV"
    python3 -m venv "$CLIENTS_VENV"
    "$CLIENTS_VENV/bin/pip" install -q -r "$CLIENTS_DIR/requirements.txt"
    cp "$CLIENTS_DIR/requirements.txt" "$pystamp"
  fi
}

# warnings NAME COUNT LOGFILE PATTERN: prints the generator's warnings; passes when none.
warnings() {
  local name="$1" n="$2" logf="$3" pattern="$4"
  echo "  $name: $n warning(s)"
  [[ "$n" -gt 0 ]] && grep -E -A4 -- "$pattern" "$logf" | sed 's/^/    /'
  if [[ "$n" -eq 0 ]]; then record "warnings[$name] = 0" 1 0; else record "warnings[$name] = 0" 0 1; fi
}

ensure_client_tools
rm -rf "$OUT" && mkdir -p "$OUT/logs"

# Model counts: what each generator wrote, and how many of those are not one of the
# document's named schemas (inline schemas it had to name itself).
count_models() { # GENERATOR
  "$CLIENTS_VENV/bin/python" - "$1" "$ROOT/openapi.json" "$OUT" <<'PY'
import json, pathlib, re, sys
gen, doc, out = sys.argv[1], json.load(open(sys.argv[2])), pathlib.Path(sys.argv[3])
named = set(doc["components"]["schemas"])
norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())
if gen == "openapi-python-client":
    models = [p.stem for p in (out / "python/taskapi_client/models").glob("*.py") if p.stem != "__init__"]
elif gen == "hey-api":
    ops = {norm(op["operationId"]) for item in doc["paths"].values() for m, op in item.items() if isinstance(op, dict) and "operationId" in op}
    types = re.findall(r"^export type (\w+)", (out / "hey-api/types.gen.ts").read_text(), re.M)
    schema_names = {norm(n) for n in named}
    models = [t for t in types if t != "ClientOptions" and (norm(t) in schema_names
              or not any(norm(t) in (o + s, o + s + "2") for o in ops for s in ("data", "errors", "error", "responses", "response")))]
else:
    models = [p.stem for p in (out / "orval/model").glob("*.ts") if p.stem != "index"]
names = {norm(n) for n in named}
extra = sorted(m for m in models if norm(m) not in names)
print(f"  {gen}: {len(models)} models ({len(models) - len(extra)} named schemas, {len(extra)} it named itself)")
if extra:
    print("    " + ", ".join(extra))
PY
}

log "openapi-python-client (pinned in tests/clients/requirements.txt)"
record_cmd "generate[openapi-python-client]" env PATH="$CLIENTS_VENV/bin:$PATH" COLUMNS=200 \
  "$CLIENTS_VENV/bin/openapi-python-client" generate --path openapi.json \
  --config "$CLIENTS_DIR/openapi-python-client.yaml" --meta none \
  --output-path "$OUT/python/taskapi_client" --overwrite
PYLOG="$OUT/logs/generate_openapi-python-client_.log"
warnings openapi-python-client "$(grep -c '^WARNING' "$PYLOG" || true)" "$PYLOG" '^WARNING'
[[ -d "$OUT/python/taskapi_client/models" ]] && count_models openapi-python-client

log "@hey-api/openapi-ts"
record_cmd "generate[hey-api]" "$BIN/openapi-ts" -f "$CLIENTS_DIR/openapi-ts.config.mjs"
HEYLOG="$OUT/logs/generate_hey-api_.log"
warnings hey-api "$(grep -c -i -E '⚠|\bwarn' "$HEYLOG" || true)" "$HEYLOG" '⚠|[Ww]arn'
[[ -f "$OUT/hey-api/types.gen.ts" ]] && count_models hey-api
record_cmd "tsc --strict [hey-api]" "$BIN/tsc" -p "$CLIENTS_DIR/tsconfig.hey-api.json"

log "orval (headers: true)"
record_cmd "generate[orval]" "$BIN/orval" --config "$CLIENTS_DIR/orval.config.cjs"
ORVLOG="$OUT/logs/generate_orval_.log"
warnings orval "$(grep -c '⚠' "$ORVLOG" || true)" "$ORVLOG" '⚠'
[[ -d "$OUT/orval/model" ]] && count_models orval
record_cmd "tsc --strict [orval]" "$BIN/tsc" -p "$CLIENTS_DIR/tsconfig.orval.json"

log "mypy --strict: tests/clients/flow.py against the generated Python client"
record_cmd "mypy --strict flow.py" env MYPYPATH="$OUT/python" "$CLIENTS_VENV/bin/mypy" \
  --config-file "$CLIENTS_DIR/mypy.ini" --cache-dir "$OUT/mypy-cache" "$CLIENTS_DIR/flow.py"

log "Spectral (spectral:oas, OWASP 2023, this API's rules)"
record_cmd "spectral" "$BIN/spectral" lint openapi.json --ruleset "$CLIENTS_DIR/.spectral.yaml" \
  --fail-severity hint --display-only-failures
grep -E '✖ [0-9]+ problems?' "$OUT/logs/spectral.log" | sed 's/^/  spectral: /' || true

log "Redocly (recommended)"
record_cmd "redocly" "$BIN/redocly" lint openapi.json --config "$CLIENTS_DIR/redocly.yaml" --max-problems 1000
grep -E 'Validation failed|Woohoo|valid' "$OUT/logs/redocly.log" | sed 's/^/  redocly: /' || true

# The flow, and the served document, against each host of BASE_URL.
for entry in ${BASE_URL:-}; do
  host="${entry%%=*}"; url="${entry#*=}"
  [[ "$entry" == *=* ]] || host="$url"
  log "against $host ($url)"
  record_cmd "served document = openapi.json [$host]" "$CLIENTS_VENV/bin/python" -c '
import json, sys, urllib.request
served = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/openapi.json"))
sys.exit(0 if served == json.load(open("openapi.json")) else "the served document differs from openapi.json")' "$url"
  flowlog="$OUT/logs/flow-${host//[^A-Za-z0-9._-]/_}.log"
  env BASE_URL="$url" FLOW_HOST="$host" PYTHONPATH="$OUT/python" "$CLIENTS_VENV/bin/python" \
    "$CLIENTS_DIR/flow.py" >"$flowlog" 2>&1 || true
  sed 's/^/  /' "$flowlog"
  line="$(grep -E '^flow\[.*\]: [0-9]+ passed, [0-9]+ failed' "$flowlog" | tail -1 || true)"
  if [[ -z "$line" ]]; then record "flow[$host]" 0 1; else
    read -r p f < <(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1 \2/' <<<"$line")
    record "flow[$host]" "$p" "$f"
  fi
done

echo
print_summary
[[ $TOTAL_FAILED -eq 0 ]]
