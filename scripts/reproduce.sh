#!/usr/bin/env bash
# Reruns every published experiment under results/ and redraws every figure.
#   scripts/reproduce.sh            regenerate results/*/runs.jsonl, figures and README tables
#   scripts/reproduce.sh --check    rerun into a temporary directory and compare the
#                                   deterministic columns and figures byte for byte
#   scripts/reproduce.sh --check --quick   first replicate only (CI)
# Other options: --only NAME, -j N, --no-png (see `gclab reproduce --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p gclab
exec ./target/release/gclab reproduce "$@"
