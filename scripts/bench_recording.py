#!/usr/bin/env python3
"""Recording and replay costs on the corpus: for each program of corpus/programs, the wall time
of a plain run, of a run under `gclab record`, and of replaying its recording under the preset of
its interpreter (`gclab run`), each the median of N runs; the trace's size per million recorded
events. Writes a markdown table (default: results/real-programs/performance.md).

    scripts/bench_recording.py [--python PATH] [--runs 5] [--out FILE] [--only NAME]

Needs the corpus venv of scripts/record_corpus.sh (target/corpus-venv/<version>) and a release
build of gclab. Run it on an otherwise idle machine: it measures wall time.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from corpus_common import PROGRAM_DIR, PROGRAMS, ROOT, MypyCache


def wall(cmd, cwd, env):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", help="interpreter (default: the newest corpus venv)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "results/real-programs/performance.md"))
    ap.add_argument("--only")
    a = ap.parse_args()
    venvs = sorted(os.listdir(os.path.join(ROOT, "target/corpus-venv")))
    py = a.python or os.path.join(ROOT, "target/corpus-venv", venvs[-1], "bin/python")
    version = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    preset = "cpython-" + ".".join(version.split(".")[:2])
    gclab = os.path.join(ROOT, "target/release/gclab")
    progdir = PROGRAM_DIR
    env = dict(os.environ, PYTHONHASHSEED="0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = MypyCache(py, env, tmp)
        for prog in PROGRAMS:
            if a.only and a.only != prog:
                continue
            args = cache.args(prog)
            trace = os.path.join(tmp, prog + ".gctrace")
            plain, rec, replay = [], [], []
            recorded, converts = [], []
            for _ in range(a.runs):
                cache.fresh()
                plain.append(wall([py, prog + ".py", *args], progdir, env))
                cache.fresh()
                rec.append(wall([gclab, "record", "--python", py, "-o", trace, "--",
                                 prog + ".py", *args], progdir, env))
                meta = json.load(open(trace + ".meta.json"))
                # The recorded run alone: the interpreter's start to its exit, as measured by
                # gclab around the process (the conversion runs after it).
                recorded.append(meta["wall_ns"] / 1e9)
                converts.append(meta["convert_ns"] / 1e9)
                replay.append(wall([gclab, "run", "-w", "trace:" + trace, "-s", preset], tmp, env))
            d = meta["diagnostics"]
            mp, mr, mx = (statistics.median(v) for v in (plain, rec, replay))
            rec_run = statistics.median(recorded)
            rows.append((prog, mp, rec_run, rec_run / mp, mr, statistics.median(converts),
                         d["records"], meta["trace_bytes"],
                         meta["trace_bytes"] / (d["records"] / 1e6) / 1e6, mx, mp / mx))
            print(prog, " ".join("%.3f" % x if isinstance(x, float) else str(x) for x in rows[-1][1:]),
                  file=sys.stderr)
    med = lambda i: statistics.median(r[i] for r in rows)
    lines = [
        "# Recording and replay costs",
        "",
        "Measured by `scripts/bench_recording.py --runs %d` (%s, %d cores), CPython %s, "
        "medians of %d runs each; wall times in seconds." % (
            a.runs, platform.machine(), os.cpu_count(), version, a.runs),
        "",
        "| program | plain run | recorded run | overhead | record + convert | convert | recorded events | trace bytes | MB per million events | replay (%s) | replay speed-up |" % preset,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append("| %s | %.2f | %.2f | %.2fx | %.2f | %.2f | %d | %d | %.2f | %.3f | %.1fx |" % r)
    lines += [
        "",
        "Median over programs: overhead %.2fx (worst %.2fx), %.2f MB per million events, replay "
        "%.1fx faster than the plain run (slowest %.1fx)." % (
            med(3), max(r[3] for r in rows), med(8), med(10), min(r[10] for r in rows)),
        "",
        "The recorded run's time excludes the conversion into a trace, which runs after the program "
        "has exited (its own column). The replay is `gclab run` of the trace, decompression "
        "included, start-up of gclab included.",
        "",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("wrote", a.out, file=sys.stderr)


if __name__ == "__main__":
    main()
