#!/usr/bin/env bash
# Replays small traces of the workload suite in real CPython 3.11 (scripts/cpython_replay.py) and
# compares its collections with the cpython-3.11 model's (with the replay's gc.callbacks hook
# modelled): collections per generation and objects collected. Writes
# results/workloads/fidelity.{jsonl,md}.
# Usage: scripts/workloads_fidelity.sh [path/to/gclab] [path/to/python3.11]
set -euo pipefail
BIN=${1:-target/release/gclab}
PY=${2:-$HOME/.pyenv/versions/3.11.7/bin/python}
OUT=results/workloads
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
: > "$OUT/fidelity.jsonl"
CASES=(
  "concat reps=20000 variant=join"
  "gen-vs-list n=2000 reps=20 variant=gen"
  "gen-vs-list n=2000 reps=20"
  "map-vs-loop reps=5000 variant=map"
  "combinations n=60 reps=5"
  "thresholds rounds=200"
  "binary-trees depth=8"
  "gcbench stretch_depth=10 long_lived_depth=8 array_size=5000 max_depth=8"
  "churn ops=200000"
  "create_gc_cycles loops=20"
  "gc_traversal levels=300 loops=5"
  "btree records=5000"
  "web-service requests=400 modules=40 cache_entries=2000 config=200"
  "web-service requests=400 modules=40 cache_entries=2000 config=200 freeze=true"
)
for case in "${CASES[@]}"; do
  set -- $case
  name=$1; shift
  args=()
  for kv in "$@"; do args+=(-p "$kv"); done
  trace="$TMP/$name.trace"
  "$BIN" trace -w "$name" "${args[@]}" -o "$trace" 2>/dev/null
  model=$("$BIN" run -s cpython-3.11 -S callbacks=true -w "trace:$trace" --json - | tail -n 1)
  real=$("$PY" scripts/cpython_replay.py "$trace")
  python3 - "$case" "$model" "$real" >> "$OUT/fidelity.jsonl" <<'PY'
import json, sys
case, model, real = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
cs = real["collections"]
print(json.dumps({
    "case": case,
    "ops": model["ops"],
    "model": {"per_generation": [g["collections"] for g in model["strategy_stats"]["generations"]],
              "collected": model["collected"]},
    "cpython": {"version": real.get("version"), "per_generation": [sum(1 for c in cs if c[0] == g) for g in range(3)],
                "collected": sum(c[1] for c in cs)},
}))
PY
done
python3 - "$OUT/fidelity.jsonl" > "$OUT/fidelity.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("# Workload traces: the cpython-3.11 model against real CPython\n")
print("Written by `scripts/workloads_fidelity.sh`: each trace replayed by `scripts/cpython_replay.py`")
print("in real CPython and run by `gclab run -s cpython-3.11 -S callbacks=true`.\n")
print("| case | ops | model collections (gen 0, 1, 2) | CPython collections | model collected | CPython collected | equal |")
print("|---|---:|---|---|---:|---:|---|")
for r in rows:
    m, c = r["model"], r["cpython"]
    eq = m["per_generation"] == c["per_generation"] and m["collected"] == c["collected"]
    print(f"| {r['case']} | {r['ops']} | {m['per_generation']} | {c['per_generation']} | {m['collected']} | {c['collected']} | {'yes' if eq else 'NO'} |")
PY
echo "wrote $OUT/fidelity.jsonl and $OUT/fidelity.md"
