#!/usr/bin/env bash
# Copy-on-write figures of the web-service workload (the Instagram case): post-fork pages of the
# shared heap dirtied, by cause, for each strategy, with and without gc.freeze() before fork, with
# gc.set_threshold(0) or gc.disable() at start, and with bpo-31558's recipe (disable early, freeze
# before fork, re-enable in the worker). Writes results/workloads/web-service-cow.{jsonl,md}.
# Usage: scripts/web_service_cow.sh [path/to/gclab]   (default: target/release/gclab)
set -euo pipefail
BIN=${1:-target/release/gclab}
OUT=results/workloads
mkdir -p "$OUT"
: > "$OUT/web-service-cow.jsonl"
CONFIGS=(
  "gc=on freeze=false"
  "gc=on freeze=true"
  "gc=threshold0 freeze=false"
  "gc=disable freeze=false"
  "gc=disable freeze=false reenable=true"
  "gc=disable freeze=true reenable=true"
)
for s in refcount cpython-3.11 cpython-3.12 cpython-3.13; do
  for config in "${CONFIGS[@]}"; do
    args=()
    for kv in $config; do args+=(-p "$kv"); done
    "$BIN" run -s "$s" -w web-service "${args[@]}" --json - | tail -n 1 >> "$OUT/web-service-cow.jsonl"
  done
done
python3 - "$OUT/web-service-cow.jsonl" > "$OUT/web-service-cow.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("# web-service: shared pages dirtied after fork, by cause\n")
print("Written by `scripts/web_service_cow.sh` from `gclab run` records (seed 1, default parameters).")
print("A page counts under every cause that wrote it, so the causes can sum to more than the total.\n")
print("| strategy | gc | freeze | reenable | collections | pre-fork pages | dirtied | by refcount | by collector | by mutator | peak live bytes | leaked objects at end |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    p, c = r["workload_params"], r["cow"]
    print(f"| {r['strategy']} | {p['gc']} | {p['freeze']} | {p['reenable']} | {r['collections']} | {c['prefork_pages']} | "
          f"{c['dirty_pages']} | {c['dirty_by_refcount']} | {c['dirty_by_collector']} | {c['dirty_by_mutator']} | "
          f"{r['peak_live_bytes']} | {r['leaked_objects']} |")
PY
echo "wrote $OUT/web-service-cow.jsonl and $OUT/web-service-cow.md"
