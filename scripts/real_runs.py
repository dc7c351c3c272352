#!/usr/bin/env python3
"""Runs the corpus programs for real, without the recorder, under the collector policies that
results/real-programs replays, and measures what the interpreter does: every collection
(generation, objects collected, duration, timed from `gc.callbacks`), peak RSS and wall time.
Writes one JSON line per run to results/real-programs/real-runs/<version>.jsonl, then compares
them with the model (`gclab fidelity --real-runs`) into results/real-programs/model-vs-real/.

    scripts/real_runs.py [--versions "3.11.7 3.12.1 3.13.0"] [--runs 5] [--only NAME]
                         [--out DIR] [--no-compare]

The policies, applied by this script's child mode before the program starts:
  default        the interpreter's own thresholds
  t800           gc.set_threshold(800, 20, 20)
  t10000         gc.set_threshold(10000, 10, 10)
  disable        gc.disable() (the program's own gc.collect() calls still collect)
  freeze         gc.freeze() when the program says its start-up is over (its
                 `gclab_marker.startup()` call, the point a recording marks)

Needs the corpus venvs of scripts/record_corpus.sh (target/corpus-venv/<version>) and a release
build of gclab. The runs of one program rotate through the policies, so that a slow spell of the
machine does not land on one policy. Run it on an otherwise idle machine: it measures wall time.
"""
import os
import sys
import time

POLICIES = ["default", "t800", "t10000", "disable", "freeze"]


def child(policy, out, argv):
    """The child mode: applies `policy`, times every collection, runs the program `argv` as
    `python argv[0] argv[1:]` would, and writes what it saw to `out` at exit. It imports as
    little as it can before the program starts, so that the program meets the heap a plain run
    would."""
    import array
    import atexit
    import gc
    import json
    import resource
    import runpy
    import types

    # Durations and results in a flat array of ints: the callback creates no tracked object,
    # so timing the collector does not change when it runs.
    log = array.array("q")
    started = [0]
    clock = time.perf_counter_ns

    def callback(phase, info):
        if phase == "start":
            started[0] = clock()
        else:
            log.append(info["generation"])
            log.append(info["collected"])
            log.append(clock() - started[0])

    def write():
        runs = [[log[i], log[i + 1], log[i + 2]] for i in range(0, len(log), 3)]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(out, "w") as f:
            json.dump({"collections": runs, "maxrss_kb": rss}, f)

    if policy == "t800":
        gc.set_threshold(800, 20, 20)
    elif policy == "t10000":
        gc.set_threshold(10000, 10, 10)
    elif policy == "disable":
        gc.disable()
    elif policy == "freeze":
        marker = types.ModuleType("gclab_marker")
        marker.startup = gc.freeze
        sys.modules["gclab_marker"] = marker
    elif policy != "default":
        sys.exit("real_runs.py: unknown policy %r" % policy)
    gc.callbacks.append(callback)
    atexit.register(write)
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    child(sys.argv[2], sys.argv[3], sys.argv[4:])
    sys.exit(0)

import argparse  # noqa: E402 (the parent's imports, after the child mode)
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

from corpus_common import PROGRAM_DIR, PROGRAMS, ROOT, MypyCache  # noqa: E402


def run_once(py, policy, prog, args, cwd, env, tmp):
    """One run of `prog` under `policy`: its collections, peak RSS (from the kernel, for the
    whole process) and wall time."""
    out = os.path.join(tmp, "child.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [py, os.path.abspath(__file__), "--child", policy, out, prog + ".py", *args]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("real_runs.py: %s under %s exited %d" % (prog, policy, p.returncode))
    with open(out) as f:
        seen = json.load(f)
    return {"wall_s": round(wall, 6), "peak_rss_kb": usage.ru_maxrss,
            "collections": seen["collections"]}


def measure(version, a, out_dir):
    venv = os.path.join(ROOT, "target/corpus-venv", version)
    py = os.path.join(venv, "bin/python")
    if not os.path.exists(py):
        print("real_runs.py: no venv for CPython %s under target/corpus-venv; "
              "scripts/record_corpus.sh --versions %s makes it" % (version, version),
              file=sys.stderr)
        sys.exit(2)
    progdir = PROGRAM_DIR
    env = dict(os.environ, PYTHONHASHSEED="0")
    path = os.path.join(out_dir, version + ".jsonl")
    # Each run is appended as it ends, to a partial file renamed into place when every run is
    # in: an interrupted measurement keeps its runs there and leaves the published file alone.
    partial = path + ".partial"
    f = open(partial, "w")
    f.write("# scripts/real_runs.py --runs %d on %s (%d cores), %s\n" % (
        a.runs, platform.machine(), os.cpu_count(), time.strftime("%Y-%m-%d", time.gmtime())))
    with f, tempfile.TemporaryDirectory() as tmp:
        cache = MypyCache(py, env, tmp)
        for prog in PROGRAMS:
            if a.only and a.only != prog:
                continue
            args = cache.args(prog)
            for r in range(a.runs):
                for policy in POLICIES:
                    cache.fresh()
                    m = run_once(py, policy, prog, args, progdir, env, tmp)
                    line = dict({"program": prog, "version": version, "policy": policy,
                                 "run": r}, **m)
                    f.write(json.dumps(line, separators=(",", ":")) + "\n")
                    f.flush()
                    print("%s %s %s run %d: %.2f s, %d collections, %d MB" % (
                        version, prog, policy, r, m["wall_s"], len(m["collections"]),
                        m["peak_rss_kb"] // 1024), file=sys.stderr)
    os.replace(partial, path)
    print("wrote", os.path.relpath(path, ROOT), file=sys.stderr)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", help="CPython versions (default: every corpus venv)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only")
    ap.add_argument("--out", default=os.path.join(ROOT, "results/real-programs"))
    ap.add_argument("--no-compare", action="store_true",
                    help="measure only; do not run gclab fidelity --real-runs")
    a = ap.parse_args()
    if a.only and a.only not in PROGRAMS:
        ap.error("unknown program %r; the corpus has %s" % (a.only, ", ".join(PROGRAMS)))
    venvs = os.path.join(ROOT, "target/corpus-venv")
    versions = a.versions.split() if a.versions else sorted(
        os.listdir(venvs) if os.path.isdir(venvs) else [])
    if not versions:
        ap.error("no corpus venvs under target/corpus-venv; run scripts/record_corpus.sh first")
    runs_dir = os.path.join(a.out, "real-runs")
    os.makedirs(runs_dir, exist_ok=True)
    paths = [measure(v, a, runs_dir) for v in versions]
    if a.no_compare:
        return
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "gclab"], cwd=ROOT, check=True)
    gclab = os.path.join(ROOT, "target/release/gclab")
    for path in paths:
        version = os.path.basename(path)[:-len(".jsonl")]
        out = os.path.join(a.out, "model-vs-real", version + ".md")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([gclab, "fidelity", "--real-runs", os.path.relpath(path, ROOT),
                        "--out", os.path.relpath(out, ROOT)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
