#!/usr/bin/env bash
# Runs `gclab run --verify` for each given strategy (default: every registered strategy) on
# every workload of the catalogue with its default parameters, and prints one line per cell.
# Exit status 1 if any cell failed. Usage: scripts/verify-catalogue.sh [STRATEGY...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
gclab=target/release/gclab
# `gclab list` prints each name indented by two spaces under its section heading.
names() { "$gclab" list | awk -v sec="$1" '/^[A-Z]/ {on = index($0, sec) == 1; next} on && /^  [^ ]/ {print $1}'; }
strategies=("$@")
if [ ${#strategies[@]} -eq 0 ]; then mapfile -t strategies < <(names Strategies); fi
mapfile -t workloads < <(names Workloads)
fail=0
for s in "${strategies[@]}"; do
  for w in "${workloads[@]}"; do
    if out=$("$gclab" run -s "$s" -w "$w" --verify 2>&1); then
      checks=$(grep -o '[0-9,]* oracle checks passed' <<<"$out" || true)
      echo "ok    $s  $w  ($checks)"
    else
      echo "FAIL  $s  $w"; echo "$out" | tail -3 | sed 's/^/      /'; fail=1
    fi
  done
done
exit $fail
