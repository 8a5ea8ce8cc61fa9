#!/usr/bin/env bash
# Starts the API locally: wrangler dev (workerd) on a local D1 with the migrations
# applied, on http://127.0.0.1:8787. Installs what it needs the first time.
source "$(dirname "$0")/lib.sh"
lib_init

PORT="${PORT:-8787}"
ensure_tools
ensure_dev_vars
build_worker
log "applying migrations to the local D1"
npx wrangler d1 migrations apply DB --local
log "starting wrangler dev on http://127.0.0.1:$PORT"
exec npx wrangler dev --ip 127.0.0.1 --port "$PORT" --inspector-ip 127.0.0.1 "$@"
