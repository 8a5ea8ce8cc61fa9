#!/usr/bin/env bash
# Runs the libFuzzer targets longer than the test command does:
#   scripts/fuzz.sh [SECONDS per target (default 300)] [TARGET ...]
# New interesting inputs land in .tmp/fuzz-corpus/TARGET; merge them into the committed
# corpus with `cargo +nightly fuzz cmin TARGET fuzz/corpus/TARGET` after copying them in.
source "$(dirname "$0")/lib.sh"
lib_init
ensure_fuzz_tools
SECS="${1:-300}"; shift || true
TARGETS=("$@"); [[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${FUZZ_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  log "fuzzing $t for ${SECS}s"
  fuzz_run "$t" "$SECS"
done
