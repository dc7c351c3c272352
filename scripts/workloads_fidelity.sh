#!/usr/bin/env bash
# Replays small traces of the workload suite in real CPython 3.11, 3.12 and 3.13
# (scripts/cpython_replay.py) and compares its collections with the cpython-3.11/3.12/3.13
# model's (with the replay's gc.callbacks hook modelled): collections per generation, objects
# collected, and whether the two lists of collections are equal one by one (generation and
# objects collected of each). Writes results/workloads/fidelity.{jsonl,md}.
# Usage: scripts/workloads_fidelity.sh [path/to/gclab]
# Interpreters: $PY311, $PY312, $PY313 (default ~/.pyenv/versions/3.11.7, 3.12.1, 3.13.0).
set -euo pipefail
BIN=${1:-target/release/gclab}
PY311=${PY311:-$HOME/.pyenv/versions/3.11.7/bin/python}
PY312=${PY312:-$HOME/.pyenv/versions/3.12.1/bin/python}
PY313=${PY313:-$HOME/.pyenv/versions/3.13.0/bin/python}
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
  for v in 3.11 3.12 3.13; do
    case $v in 3.11) PY=$PY311 ;; 3.12) PY=$PY312 ;; 3.13) PY=$PY313 ;; esac
    [ -x "$PY" ] || { echo "skipping CPython $v: $PY not found" >&2; continue; }
    model=$("$BIN" run -s "cpython-$v" -S callbacks=true -w "trace:$trace" --json - | tail -n 1)
    real=$("$PY" scripts/cpython_replay.py "$trace")
    # One by one: `gclab fidelity --workload` compares the lists (the run record has totals).
    # (It exits 1 when any version differs, so its status is not the answer for this one.)
    if { "$BIN" fidelity -w "$name" "${args[@]}" 2>/dev/null || true; } | grep -F "| $v." | grep -q '| yes |$'; then
      each=true
    else
      each=false
    fi
    python3 - "$case" "$model" "$real" "$each" >> "$OUT/fidelity.jsonl" <<'PY'
import json, sys
case, model, real, each = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4] == "true"
cs = real["collections"]
print(json.dumps({
    "case": case,
    "ops": model["ops"],
    "strategy": model["strategy"],
    "model": {"per_generation": [g["collections"] for g in model["strategy_stats"]["generations"]],
              "collected": model["collected"]},
    "cpython": {"version": real.get("python"), "per_generation": [sum(1 for c in cs if c[0] == g) for g in range(3)],
                "collected": sum(c[1] for c in cs)},
    "each_equal": each,
}))
PY
  done
done
python3 - "$OUT/fidelity.jsonl" > "$OUT/fidelity.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("# Workload traces: the cpython-3.11, 3.12 and 3.13 models against real CPython\n")
print("Written by `scripts/workloads_fidelity.sh`: each trace replayed by `scripts/cpython_replay.py`")
print("in real CPython and run by `gclab run -s cpython-3.1x -S callbacks=true`. *totals equal*: the")
print("collections per generation and the objects collected; *each equal*: `gclab fidelity --workload`")
print("finds the two lists of collections (generation and objects collected of each) and the final")
print("counts equal.\n")
print("| case | CPython | ops | model collections (gen 0, 1, 2) | CPython collections | model collected | CPython collected | totals equal | each equal |")
print("|---|---|---:|---|---|---:|---:|---|---|")
for r in rows:
    m, c = r["model"], r["cpython"]
    eq = m["per_generation"] == c["per_generation"] and m["collected"] == c["collected"]
    print(f"| {r['case']} | {c['version']} | {r['ops']} | {m['per_generation']} | {c['per_generation']} | {m['collected']} | {c['collected']} | {'yes' if eq else 'NO'} | {'yes' if r['each_equal'] else 'NO'} |")
PY
"$BIN" plot "$OUT"
echo "wrote $OUT/fidelity.jsonl, $OUT/fidelity.md and their figures"
