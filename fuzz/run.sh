#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after the other, starting from the
# committed seeds. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(trace_read trace_read_compressed trace_replay trace_replay_generational experiment_read)
cargo +nightly fuzz build -O
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/* "corpus/$t/" 2>/dev/null || true
  echo "=== $t: ${SECONDS_EACH}s from $(date -u +%T)"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
    -print_final_stats=1
done
