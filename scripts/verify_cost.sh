#!/usr/bin/env bash
# Measures what `--verify` (sanity mode) costs: the same trace run with and without it, three
# times each, with a large long-lived heap (LIVE instances held by one list) and cyclic churn
# (CHURN self-referencing lists and instances) so that automatic collections happen often.
# Usage: scripts/verify_cost.sh [LIVE] [CHURN] [STRATEGY]   (builds nothing: needs a release build)
set -euo pipefail
LIVE=${1:-200000}
CHURN=${2:-100000}
STRATEGY=${3:-cpython-3.11}
BIN=${GCLAB:-target/release/gclab}
DIR=$(mktemp -d)
TRACE=$DIR/verify-cost.trace
python3 - "$LIVE" "$CHURN" > "$TRACE" <<'PY'
import sys
live, churn = int(sys.argv[1]), int(sys.argv[2])
out = ["gclab-trace text 1", "workload verify-cost", f"param live={live}", f"param churn={churn}",
       "seed 0", "registers 3"]
n = 0
def op(s):
    global n
    out.append(s); n += 1
op("alloc r0 list 0")
for _ in range(live):
    op("alloc r1 instance 0"); op("append r0 r1")
for _ in range(churn):
    op("alloc r1 list 0"); op("append r1 r1")
    op("alloc r2 instance 0"); op("store r2 0 r2")
    op("clear r1"); op("clear r2")
op("clear r1")
out.append(f"end {n}")
print("\n".join(out))
PY
for mode in plain verify; do
  for i in 1 2 3; do
    flag=""; [ "$mode" = verify ] && flag="--verify"
    "$BIN" run -s "$STRATEGY" -w "trace:$TRACE" $flag --json "$DIR/$mode-$i.json" > /dev/null
    python3 -c "
import json; r = json.load(open('$DIR/$mode-$i.json')); t = r['time']; v = r['verify'] or {}
print('$mode', 'run $i:', 'ops', r['ops'], 'collections', r['collections'],
      'wall %.1f ms' % (t['wall_ns'] / 1e6), 'collector %.1f ms' % (t['collector_ns'] / 1e6),
      'verify checks', v.get('checks', '-'), 'verify %.1f ms' % (v.get('ns', 0) / 1e6))"
  done
done
rm -rf "$DIR"
