#!/usr/bin/env bash
# Builds the release binaries and measures gclab against real CPython 3.11/3.12/3.13 and the
# Rust cycle-collector crates; writes results/performance/tables.md and raw/*.json.
# Usage: scripts/perf_vs_cpython.sh [--rounds K] [--quick] [--only trace,full,peers,memory,sweep]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p gclab
cargo bench --bench peers --no-run
exec python3 scripts/perf_tables.py "$@"
