#!/usr/bin/env python3
"""Full-collection time, gclab vs real CPython 3.11, on the same heap shape (a benchmark, not a test).

Usage: bench_full_collect.py [--objects N] [--reps R] [--rounds K] [--gclab PATH] [--python PATH]
                             [--json FILE]

The heap: N live tracked containers, N - 1 empty lists appended to one list (shape `lists`).
* gclab: `gclab bench-collect --objects N --shape lists --reps R` builds the heap with the
  `cpython-3.11` preset and times R calls of `gc.collect(2)` (the strategy's full collection).
* CPython 3.11: a child interpreter builds `holder = [[] for _ in range(N - 1)]`, settles with
  one `gc.collect()`, then times R calls of `gc.collect()` with `time.perf_counter_ns`.

The two are run alternately for K rounds in this one invocation (so both see the same machine
load), and the medians over all timed collections are printed with the per-object times and
their ratio; the minima are printed too, as they are less sensitive to other processes on a
shared machine. With --json FILE, every timed collection of every round is written to FILE
with the machine, commit, date and load (`gclab plot` draws results/bench-full-collect's figure
from that file). Standard library only.
"""

import argparse
import glob
import json
import os
import statistics
import platform
import subprocess
import sys
import time

CPYTHON_SNIPPET = r"""
import gc, json, sys, time
n, reps = int(sys.argv[1]), int(sys.argv[2])
gc.disable()
holder = [[] for _ in range(n - 1)]
gc.collect()
ts = []
for _ in range(reps):
    t = time.perf_counter_ns()
    gc.collect()
    ts.append(time.perf_counter_ns() - t)
t0 = []
for _ in range(reps):
    t = time.perf_counter_ns()
    gc.collect(0)
    t0.append(time.perf_counter_ns() - t)
print(json.dumps({"full_ns": ts, "gen0_ns": t0, "python": sys.version.split()[0]}))
"""


def find_python311():
    cands = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11.*/bin/python")))
    if cands:
        return cands[-1]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "python3.11")
        if os.path.isfile(p):
            return p
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gclab", default=os.path.join(here, "..", "target", "release", "gclab"))
    ap.add_argument("--python", default=None, help="CPython 3.11 interpreter")
    ap.add_argument("--json", default=None, metavar="FILE",
                    help="write every timed collection, per round, to FILE")
    a = ap.parse_args()
    py = a.python or find_python311()
    if not py:
        print("bench_full_collect: CPython 3.11 not found (~/.pyenv/versions/3.11.*, python3.11)",
              file=sys.stderr)
        return 2
    if not os.path.isfile(a.gclab):
        print("bench_full_collect: %s not found; run `cargo build --release` first" % a.gclab,
              file=sys.stderr)
        return 2
    g_full, g_gen0, c_full, c_gen0 = [], [], [], []
    version = "?"
    rounds = []
    load = os.getloadavg()
    for r in range(a.rounds):
        out = subprocess.run([a.gclab, "bench-collect", "--objects", str(a.objects),
                              "--shape", "lists", "--reps", str(a.reps)],
                             check=True, capture_output=True, text=True).stdout
        g = json.loads(out)
        g_full += g["full_ns"]
        g_gen0 += g["gen0_ns"]
        out = subprocess.run([py, "-c", CPYTHON_SNIPPET, str(a.objects), str(a.reps)],
                             check=True, capture_output=True, text=True).stdout
        c = json.loads(out)
        version = c["python"]
        c_full += c["full_ns"]
        c_gen0 += c["gen0_ns"]
        rounds.append({"gclab_full_ns": g["full_ns"], "gclab_gen0_ns": g["gen0_ns"],
                       "cpython_full_ns": c["full_ns"], "cpython_gen0_ns": c["gen0_ns"]})
        print("round %d: gclab median %.2f ms, CPython %s median %.2f ms" % (
            r + 1, statistics.median(g["full_ns"]) / 1e6, version,
            statistics.median(c["full_ns"]) / 1e6))
    gm = statistics.median(g_full)
    cm = statistics.median(c_full)
    n = a.objects
    print("heap: %d tracked containers (%d empty lists in one list)" % (n, n - 1))
    print("gclab cpython-3.11 gc.collect(2): median %.3f ms = %.2f ns/object (%d collections)" % (
        gm / 1e6, gm / n, len(g_full)))
    print("CPython %s gc.collect():       median %.3f ms = %.2f ns/object (%d collections)" % (
        version, cm / 1e6, cm / n, len(c_full)))
    print("ratio (CPython / gclab, per object): %.2fx" % (cm / gm))
    gmin, cmin = min(g_full), min(c_full)
    print("minimum (less sensitive to a loaded machine): gclab %.3f ms, CPython %.3f ms, ratio %.2fx" % (
        gmin / 1e6, cmin / 1e6, cmin / gmin))
    print("gen0 collection with the whole heap in gen2: gclab median %.0f ns, CPython median %.0f ns" % (
        statistics.median(g_gen0), statistics.median(c_gen0)))
    if a.json:
        write_json(a, version, load, rounds)
        print("wrote %s" % a.json)
    return 0


def machine(load):
    """The machine, commit, date and load of this run."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    return {
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "loadavg_at_start": list(load),
        "loadavg_at_end": list(os.getloadavg()),
    }


def write_json(a, version, load, rounds):
    """Every timed collection of every round, with how and where they were measured."""
    out = {
        "objects": a.objects,
        "shape": "lists",
        "reps": a.reps,
        "python": version,
        "preset": "cpython-3.11",
        "machine": machine(load),
        "rounds": rounds,
    }
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
