#!/usr/bin/env python3
"""Recording and replay costs on the corpus: for each program of corpus/programs, the wall time
of a plain run, of a run under `gclab record`, and of replaying its recording under the preset of
its interpreter (`gclab run`), each the median of N runs; the trace's size per million recorded
events; and, for scale, the recording's op stream executed from memory by native Rust `Rc` (no
decoding, no checks, no collector: the peers bench's floor mode) and by gclab's executor under
`refcount` (no decoding), which bounds how fast any replay of that op stream can be. Writes a
markdown table (default: results/real-programs/performance.md).

    scripts/bench_recording.py [--python PATH] [--runs 5] [--out FILE] [--only NAME] [--no-floor]

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


def peers_bench():
    """Builds the peers bench (release) and returns its executable's path."""
    out = subprocess.run(["cargo", "bench", "--bench", "peers", "--no-run",
                          "--message-format=json"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") \
                and msg["target"]["name"] == "peers":
            return msg["executable"]
    sys.exit("bench_recording.py: cargo did not report the peers bench's executable")


def floor(bench, trace):
    """One round of the peers bench's floor mode on `trace`: {system: seconds}."""
    env = dict(os.environ, GCLAB_PEERS_FLOOR="1", GCLAB_PEERS_TRACE=trace)
    out = subprocess.run([bench], env=env, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return {r["system"]: r["times_ns"][0] / 1e9 for r in rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", help="interpreter (default: the newest corpus venv)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "results/real-programs/performance.md"))
    ap.add_argument("--only")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip the native Rc and executor-from-memory columns")
    a = ap.parse_args()
    bench = None if a.no_floor else peers_bench()
    venvs = sorted(os.listdir(os.path.join(ROOT, "target/corpus-venv")))
    py = a.python or os.path.join(ROOT, "target/corpus-venv", venvs[-1], "bin/python")
    version = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    preset = "cpython-" + ".".join(version.split(".")[:2])
    gclab = os.path.join(ROOT, "target/release/gclab")
    progdir = PROGRAM_DIR
    env = dict(os.environ, PYTHONHASHSEED="0")
    rows, floors = [], []
    with tempfile.TemporaryDirectory() as tmp:
        cache = MypyCache(py, env, tmp)
        for prog in PROGRAMS:
            if a.only and a.only != prog:
                continue
            args = cache.args(prog)
            trace = os.path.join(tmp, prog + ".gctrace")
            plain, rec, replay = [], [], []
            recorded, converts, native, executor = [], [], [], []
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
                if bench:
                    f = floor(bench, trace)
                    native.append(f["rc-ops"])
                    executor.append(f["gclab-refcount-ops"])
            d = meta["diagnostics"]
            mp, mr, mx = (statistics.median(v) for v in (plain, rec, replay))
            rec_run = statistics.median(recorded)
            rows.append((prog, mp, rec_run, rec_run / mp, mr, statistics.median(converts),
                         d["records"], meta["trace_bytes"],
                         meta["trace_bytes"] / (d["records"] / 1e6) / 1e6, mx, mp / mx))
            if bench:
                mn, me = statistics.median(native), statistics.median(executor)
                floors.append((prog, mp, mn, mp / mn, me, mp / me, mx, mp / mx))
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
    if floors:
        fmed = lambda i: statistics.median(r[i] for r in floors)
        lines += [
            "## What any replay of these op streams costs",
            "",
            "The recording's op stream decoded into memory once (untimed), then executed by native "
            "Rust `Rc` (every object a `malloc`, every load, store and clear a `clone` or `drop`; no "
            "decoding, no checks, no modelled sizes, no cycle collection) and by gclab's executor "
            "under `refcount` (no decoding, no cycle collection): the peers bench's floor mode "
            "(`GCLAB_PEERS_FLOOR`, `docs/performance.md`), one round per run, interleaved with the "
            "runs above. Both free exactly the objects the recorded program freed by reference "
            "counting (the bench checks it). A replay that reaches 10x must execute the whole op "
            "stream, decoding and the collector included, in a tenth of the plain run.",
            "",
            "| program | plain run | native `Rc`, from memory | plain over native | gclab `refcount`, from memory | plain over it | replay (%s) | plain over replay |" % preset,
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in floors:
            lines.append("| %s | %.3f | %.3f | %.1fx | %.3f | %.1fx | %.3f | %.1fx |" % r)
        lines += [
            "",
            "Median over programs: the plain run takes %.1fx native `Rc`'s time on the same op "
            "stream, %.1fx the executor's from memory, %.1fx the replay's." % (
                fmed(3), fmed(5), fmed(7)),
            "",
        ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("wrote", a.out, file=sys.stderr)


if __name__ == "__main__":
    main()
