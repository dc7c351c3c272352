#!/usr/bin/env python3
"""Measure gclab against real CPython and against the Rust cycle-collector crates, side by side,
and write the tables of results/performance/ (a benchmark, not a test: nothing here fails on a
time).

Usage: perf_tables.py [--out DIR] [--rounds K] [--quick]

Run by scripts/perf_vs_cpython.sh, which builds the release binaries first. Standard library
only. Every comparison runs its two sides alternately, K rounds, in this one invocation, so that
both see the same machine load; the tables give medians over all rounds and the ratios of the
medians. Sections:

1. trace replay: a trace written by `gclab trace`, replayed by `gclab run -s cpython-3.1x -w
   trace:FILE` (the record's wall_ns: reading and decoding the file, executing, collecting) and by
   scripts/cpython_replay.py in real CPython 3.11, 3.12 and 3.13 (its read_ns + replay_ns:
   reading the file, then the replay loop, decoding the ops in Python included, set-up
   excluded; gclab reads the file as it decodes, so both figures include reading it); in the
   same rounds, the peers bench's floor mode executes the trace's decoded op stream from memory
   with native Rc and with gclab's executor, for reference;
2. full collection: `gclab bench-collect` (cpython-3.11 preset, gc.collect(2) on N live empty
   lists held by one list) against CPython's gc.collect() on `[[] for _ in range(N - 1)]`;
3. peers: the churn stream through native Rc, the cycle-collector crates and gclab's strategies
   (the `peers` bench in table mode), thread CPU time and wall time, in two views: the adapter
   view (every system replays the churn operations, one step each) and the Python-program view
   (`-py` rows: every system executes the churn workload's modelled Python program);
4. harness memory: `gclab mem-probe` (peak RSS per simulated object of a 10-million-object live
   heap);
5. sweep scaling: one experiment's cells run by `gclab sweep -j 1` and `-j 2`.

Raw measurements go to DIR/raw/*.json, the tables to DIR/tables.md, and `gclab plot DIR` draws
DIR/figures/trace_replay.{svg,png} from raw/trace_replay.json.
"""

import argparse
import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GCLAB = os.path.join(ROOT, "target", "release", "gclab")

# The CPython side of the full-collection comparison: the same snippet as
# scripts/bench_full_collect.py (it also times gen0 collections, which this script ignores).
sys.path.insert(0, HERE)
from bench_full_collect import CPYTHON_SNIPPET as FULL_COLLECT_SNIPPET  # noqa: E402


def pythons():
    out = {}
    for minor in ("3.11", "3.12", "3.13"):
        c = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python" % minor)))
        if c:
            out[minor] = c[-1]
    return out


def run_json(cmd, **kw):
    """Runs cmd, returns (last JSON line of stdout, child CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]), cpu


def med(v):
    return statistics.median(v) if v else float("nan")


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    model = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "rustc": sh(["rustc", "-V"]),
        "commit": sh(["git", "rev-parse", "--short", "HEAD"]),
        "dirty": bool(sh(["git", "status", "--porcelain", "--untracked-files=no"])),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


# ----- 1. trace replay -----

def floor_run(exe, path, inner):
    """One process of the peers bench in floor mode on trace `path`, `inner` rounds: per
    system, the list of wall times (ns) and the objects freed."""
    env = dict(os.environ, GCLAB_PEERS_FLOOR=str(inner), GCLAB_PEERS_TRACE=path)
    p = subprocess.run([exe], capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError("peers floor mode failed on %s: %s" % (path, p.stderr[-2000:]))
    return {d["system"]: d for d in (json.loads(l) for l in p.stdout.splitlines()
                                     if l.startswith("{"))}


def trace_replay(pys, rounds, traces, tmp):
    """Section 1. Each round runs gclab, then CPython, and (for the first CPython only) the
    peers bench's floor mode on the same trace: native Rc and gclab executing the decoded op
    stream from memory, three rounds in one process."""
    rows = []
    exe = peers_binary()
    for name, workload, params in traces:
        path = os.path.join(tmp, name + ".trace")
        cmd = [GCLAB, "trace", "-w", workload, "-o", path]
        for p in params:
            cmd += ["-p", p]
        subprocess.run(cmd, check=True, capture_output=True)
        for k, (minor, py) in enumerate(pys.items()):
            preset = "cpython-" + minor
            g, c, gcpu, ccpu = [], [], [], []
            floor = {}
            info = {}
            for _ in range(rounds):
                rec, cpu = run_json([GCLAB, "run", "-s", preset, "-w", "trace:" + path,
                                     "--json", "-"])
                g.append(rec["time"]["wall_ns"])
                gcpu.append(cpu)
                info["ops"] = rec["ops"]
                info["gclab_collections"] = rec["collections"]
                out, cpu = run_json([py, os.path.join(HERE, "cpython_replay.py"), path])
                c.append(out["read_ns"] + out["replay_ns"])
                ccpu.append(cpu)
                info["python"] = out["python"]
                info["cpython_collections"] = len(out["collections"])
                if k == 0:
                    for system, d in floor_run(exe, path, 3).items():
                        f = floor.setdefault(system, dict(times_ns=[], freed=d["freed"]))
                        f["times_ns"] += d["times_ns"]
            rows.append(dict(trace=name, workload=workload, params=params, preset=preset,
                             gclab_wall_ns=g, cpython_replay_ns=c, gclab_process_cpu_s=gcpu,
                             cpython_process_cpu_s=ccpu, floor=floor or None, **info))
            print("  trace %-12s %s: gclab %.1f ms, CPython %s %.1f ms" % (
                name, preset, med(g) / 1e6, info["python"], med(c) / 1e6), file=sys.stderr)
    return rows


# ----- 2. full collection -----

def full_collect(pys, rounds, sizes, reps):
    rows = []
    for n in sizes:
        g = []
        c = {m: [] for m in pys}
        versions = {}
        for _ in range(rounds):
            rec, _ = run_json([GCLAB, "bench-collect", "--objects", str(n), "--shape", "lists",
                               "--reps", str(reps)])
            g += rec["full_ns"]
            for m, py in pys.items():
                out, _ = run_json([py, "-c", FULL_COLLECT_SNIPPET, str(n), str(reps)])
                c[m] += out["full_ns"]
                versions[m] = out["python"]
        rows.append(dict(objects=n, gclab_full_ns=g, cpython_full_ns=c, versions=versions))
        print("  full collection N=%d: gclab %.2f ms, CPython 3.11 %.2f ms" % (
            n, med(g) / 1e6, med(c.get("3.11", [])) / 1e6), file=sys.stderr)
    return rows


# ----- 3. peers -----

def peers_binary():
    p = subprocess.run(["cargo", "bench", "--bench", "peers", "--no-run",
                        "--message-format=json"], capture_output=True, text=True, cwd=ROOT)
    for l in p.stdout.splitlines():
        try:
            m = json.loads(l)
        except ValueError:
            continue
        if m.get("reason") == "compiler-artifact" and m.get("executable") and \
                m.get("target", {}).get("name") == "peers":
            return m["executable"]
    raise RuntimeError("could not build the peers bench: " + p.stderr[-2000:])


def peers(rounds, ops):
    exe = peers_binary()
    env = dict(os.environ, GCLAB_PEERS_TABLE=str(rounds), GCLAB_PEERS_OPS=str(ops))
    p = subprocess.run([exe], capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError("peers table failed: " + p.stderr[-2000:])
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return rows


# ----- 4. memory -----

def memory(objects):
    rows = []
    for strategy in ("cpython-3.11", "refcount"):
        for shape in ("lists", "atoms", "chain"):
            rec, _ = run_json([GCLAB, "mem-probe", "--objects", str(objects), "-s", strategy,
                               "--shape", shape])
            rows.append(rec)
            print("  mem-probe %s %s: %.1f bytes/object, peak RSS %.0f MiB" % (
                strategy, shape, rec["bytes_per_object"], rec["vm_hwm_after"] / 2**20),
                file=sys.stderr)
    return rows


# ----- 5. sweep scaling -----

SWEEP_TOML = """description = "perf_tables.py: sweep scaling (one thread against two)"
seeds = [1, 2, 3, 4]
replicates = 1

[[strategy]]
name = "cpython-3.11"

[[strategy]]
name = "refcount"

[[workload]]
name = "churn"
params = { ops = %d }

[[workload]]
name = "cycles"
params = { count = %d }
"""


def sweep(rounds, size, tmp):
    d = os.path.join(tmp, "sweep")
    os.makedirs(d, exist_ok=True)
    exp = os.path.join(d, "experiment.toml")
    with open(exp, "w") as f:
        f.write(SWEEP_TOML % (size, size // 4))
    times = {1: [], 2: []}
    cpus = {1: [], 2: []}
    cells = None
    for _ in range(rounds):
        for j in (1, 2):
            out = os.path.join(d, "runs-j%d.jsonl" % j)
            if os.path.exists(out):
                os.remove(out)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter_ns()
            p = subprocess.run([GCLAB, "sweep", exp, "-j", str(j), "-q", "-o", out],
                               capture_output=True, text=True)
            times[j].append(time.perf_counter_ns() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[j].append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            if p.returncode != 0:
                raise RuntimeError("sweep failed: " + p.stderr[-2000:])
            with open(out) as f:
                cells = sum(1 for l in f if l.strip())
    return dict(cells=cells, size=size, wall_ns_j1=times[1], wall_ns_j2=times[2],
                cpu_s_j1=cpus[1], cpu_s_j2=cpus[2])


# ----- tables -----

def fmt_ms(ns):
    return "%.2f" % (ns / 1e6)


def tables(m, tr, fc, pe, mem, sw):
    L = []
    L.append("# gclab performance tables")
    L.append("")
    L.append("Generated by `scripts/perf_vs_cpython.sh` (`scripts/perf_tables.py`); raw data in "
             "`raw/`. See `README.md` for what each ratio means.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k in ("cpu_model", "cpus", "kernel", "rustc", "commit", "dirty", "date_utc"):
        L.append("| %s | %s |" % (k, m[k]))
    L.append("| load average at start (1, 5, 15 min) | %s |" % ", ".join(
        "%.2f" % x for x in m["loadavg_at_start"]))
    for k, st in sorted(m.get("sections", {}).items()):
        L.append("| section %s measured at | commit %s%s, %s UTC, load %s |" % (
            k, st["commit"], " (dirty)" if st["dirty"] else "", st["date_utc"],
            ", ".join("%.2f" % x for x in st["loadavg_at_start"])))
    L.append("")
    if tr:
        L.append("## 1. Trace replay: gclab against real CPython")
        L.append("")
        L.append("| trace | ops | preset / CPython | gclab median ms | CPython median ms | "
                 "CPython / gclab | collections gclab / CPython |")
        L.append("|---|---:|---|---:|---:|---:|---|")
        for r in tr:
            g, c = med(r["gclab_wall_ns"]), med(r["cpython_replay_ns"])
            L.append("| %s | %d | %s / %s | %s | %s | **%.1fx** | %d / %d |" % (
                r["trace"], r["ops"], r["preset"], r["python"], fmt_ms(g), fmt_ms(c), c / g,
                r["gclab_collections"], r["cpython_collections"]))
        L.append("")
        fl = [r for r in tr if r.get("floor")]
        if fl:
            L.append("### The same op stream executed from memory: native `Rc` for reference")
            L.append("")
            L.append("The peers bench's floor mode, in the same rounds as the table above (three "
                     "runs per round in one process): the trace decoded into memory first, "
                     "untimed, then executed by native `Rc` (`rc-ops`: a `clone` or `drop` per "
                     "reference, `malloc`'d objects, no decoding, no checks, no modelled sizes, "
                     "no cycle collection; it frees exactly what gclab `refcount` frees, checked "
                     "every run) and by gclab's executor from memory; the last column replays the "
                     "binary trace in memory as `gclab run` does. The target time is the CPython "
                     "median divided by 20. Native `Rc` is a reference point, not a lower "
                     "bound: gclab's slot pool and free lists beat `malloc` where allocation "
                     "dominates.")
            L.append("")
            L.append("| trace | CPython | CPython median ms | target ms (CPython / 20) | native Rc ms | "
                     "native Rc / target | gclab none ms | gclab refcount ms | "
                     "gclab cpython-3.11 ms | gclab cpython-3.11 trace ms |")
            L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for r in fl:
                f = r["floor"]
                c = med(r["cpython_replay_ns"])
                fm = lambda sy: med(f[sy]["times_ns"]) if sy in f else float("nan")
                rc = fm("rc-ops")
                L.append("| %s | %s | %s | %s | %s | **%.2fx** | %s | %s | %s | %s |" % (
                    r["trace"], r["python"], fmt_ms(c), fmt_ms(c / 20), fmt_ms(rc), rc / (c / 20),
                    fmt_ms(fm("gclab-none-ops")), fmt_ms(fm("gclab-refcount-ops")),
                    fmt_ms(fm("gclab-cpython-3.11-ops")), fmt_ms(fm("gclab-cpython-3.11-trace"))))
            L.append("")
    if fc:
        L.append("## 2. Full collection: gclab cpython-3.11 against CPython's gc.collect()")
        L.append("")
        L.append("| live containers | gclab median ms | ns/object | CPython | CPython median ms | "
                 "ns/object | CPython / gclab per object |")
        L.append("|---:|---:|---:|---|---:|---:|---:|")
        for r in fc:
            n = r["objects"]
            g = med(r["gclab_full_ns"])
            for mnr, v in sorted(r["cpython_full_ns"].items()):
                c = med(v)
                L.append("| %d | %s | %.2f | %s | %s | %.2f | **%.2fx** |" % (
                    n, fmt_ms(g), g / n, r["versions"][mnr], fmt_ms(c), c / n, c / g))
        L.append("")
    if pe:
        L.append("## 3. Peers: the churn stream (%d ops, seed %d)" % (
            pe[0]["churn_ops"], pe[0]["seed"]))
        L.append("")
        L.append("Two views of the same run. **Adapter view**: every system replays the churn "
                 "operations themselves through a small adapter, one step per operation: a peer "
                 "does one `clone` or `drop`, gclab (`gclab-*` rows) executes one register op, "
                 "its registers being the roots (the direct adapter); ratios to `rc`. "
                 "**Python-program view** (`-py` rows): every system executes the churn "
                 "workload's op stream, the modelled Python program (roots in a Python list, "
                 "temporaries loaded into registers, a safe point per iteration: about 4.3 ops "
                 "and 5 reference-count writes per churn operation), gclab with its executor, "
                 "a peer natively (every load, store, append and clear a `clone` or a `drop`), "
                 "so every system does the same reference traffic; ratios to `rc-py`. "
                 "Collections: those gclab's heap recorded in the last run.")
        L.append("")
        for regime in ("auto", "manual"):
            rs = [r for r in pe if r["regime"] == regime]
            if not rs:
                continue
            by = {r["system"]: r for r in rs}
            views = [("adapter view", "rc",
                      [r for r in rs if not r["system"].endswith("-py")]),
                     ("Python-program view", "rc-py",
                      [r for r in rs if r["system"].endswith("-py")])]
            for view, base, rows in views:
                if base not in by:
                    continue
                b_cpu = med(by[base]["cpu_ns"])
                b_wall = med(by[base]["times_ns"])
                L.append("### %s regime%s, %s" % (
                    regime, "" if regime == "auto" else
                    " (collection every %d ops)" % rs[0]["collect_every"], view))
                L.append("")
                L.append("| system | CPU median ms | CPU / %s | wall median ms | wall / %s | "
                         "nodes freed / created | collections |" % (base, base))
                L.append("|---|---:|---:|---:|---:|---|---:|")
                for r in sorted(rows, key=lambda r: med(r["cpu_ns"])):
                    c = r.get("collections")
                    L.append("| %s | %s | %.2f | %s | %.2f | %d / %d | %s |" % (
                        r["system"], fmt_ms(med(r["cpu_ns"])), med(r["cpu_ns"]) / b_cpu,
                        fmt_ms(med(r["times_ns"])), med(r["times_ns"]) / b_wall,
                        r["nodes_freed"], r["nodes_created"], "-" if c is None else c))
                L.append("")
    if mem:
        L.append("## 4. Harness memory per simulated object")
        L.append("")
        L.append("| strategy | shape | live objects | peak RSS MiB | bytes / object | "
                 "modelled bytes / object | strategy's declared metadata B |")
        L.append("|---|---|---:|---:|---:|---:|---:|")
        for r in mem:
            L.append("| %s | %s | %d | %.0f | **%.1f** | %.1f | %d |" % (
                r["strategy"], r["shape"], r["objects"], r["vm_hwm_after"] / 2**20,
                r["bytes_per_object"], r["modelled_bytes"] / r["objects"],
                r["strategy_metadata_bytes_per_object"]))
        L.append("")
    if sw:
        j1, j2 = med(sw["wall_ns_j1"]), med(sw["wall_ns_j2"])
        L.append("## 5. Sweep scaling")
        L.append("")
        L.append("| cells | -j 1 median s | -j 2 median s | speed-up | CPU s -j 1 / -j 2 | "
                 "cores obtained -j 1 / -j 2 |")
        L.append("|---:|---:|---:|---:|---|---|")
        c1, c2 = med(sw.get("cpu_s_j1", [])), med(sw.get("cpu_s_j2", []))
        L.append("| %d | %.2f | %.2f | **%.2fx** | %.2f / %.2f | %.2f / %.2f |" % (
            sw["cells"], j1 / 1e9, j2 / 1e9, j1 / j2, c1, c2, c1 / (j1 / 1e9), c2 / (j2 / 1e9)))
        L.append("")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "performance"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    ap.add_argument("--only", default="trace,full,peers,memory,sweep")
    a = ap.parse_args()
    if not os.path.isfile(GCLAB):
        print("perf_tables: %s not found; run `cargo build --release` first" % GCLAB,
              file=sys.stderr)
        return 2
    only = set(a.only.split(","))
    pys = pythons()
    if not pys:
        print("perf_tables: no CPython under ~/.pyenv/versions/3.1x.*", file=sys.stderr)
    os.makedirs(os.path.join(a.out, "raw"), exist_ok=True)
    m = machine()
    q = a.quick
    with tempfile.TemporaryDirectory() as tmp:
        tr = fc = pe = mem = sw = None
        if "trace" in only and pys:
            print("trace replay ...", file=sys.stderr)
            # The peers' churn stream, the fidelity suite's mixed case, and three of the classic
            # benchmarks (small in quick mode).
            traces = [("churn", "churn", ["ops=%d" % (20000 if q else 200000)]),
                      ("fidelity-mix", "fidelity", ["case=mix", "size=%d" % (2000 if q else 20000)]),
                      ("gcbench", "gcbench", ["max_depth=8"] if q else []),
                      ("binary-trees", "binary-trees", ["depth=8"] if q else []),
                      ("web-service", "web-service", ["requests=%d" % (100 if q else 1000)])]
            tr = trace_replay(pys, a.rounds, traces, tmp)
        if "full" in only and pys:
            print("full collection ...", file=sys.stderr)
            fc = full_collect(pys, a.rounds, [10000] if q else [100000, 1000000], 5)
        if "peers" in only:
            print("peers ...", file=sys.stderr)
            pe = peers(a.rounds, 20000 if q else 1000000)
        if "memory" in only:
            print("memory ...", file=sys.stderr)
            mem = memory(100000 if q else 10000000)
        if "sweep" in only:
            print("sweep scaling ...", file=sys.stderr)
            sw = sweep(max(1, a.rounds // 2), 20000 if q else 1000000, tmp)
    raw = dict(machine=m, trace_replay=tr, full_collect=fc, peers=pe, memory=mem, sweep=sw)
    # Sections not re-run this time keep their last measurement; raw/provenance.json records,
    # per section, the commit, date and load of the run that measured it.
    prov_path = os.path.join(a.out, "raw", "provenance.json")
    prov = {}
    if os.path.exists(prov_path):
        with open(prov_path) as f:
            prov = json.load(f)
    stamp = {k: m[k] for k in ("commit", "dirty", "date_utc", "loadavg_at_start")}
    for k in ("trace_replay", "full_collect", "peers", "memory", "sweep"):
        path = os.path.join(a.out, "raw", k + ".json")
        if raw[k] is None and os.path.exists(path):
            with open(path) as f:
                raw[k] = json.load(f)
        elif raw[k] is not None:
            prov[k] = stamp
    with open(prov_path, "w") as f:
        json.dump(prov, f, indent=1)
    m["sections"] = prov
    tr, fc, pe, mem, sw = (raw["trace_replay"], raw["full_collect"], raw["peers"],
                           raw["memory"], raw["sweep"])
    for k, v in raw.items():
        if v is not None:
            with open(os.path.join(a.out, "raw", k + ".json"), "w") as f:
                json.dump(v, f, indent=1)
    text = tables(m, tr, fc, pe, mem, sw)
    with open(os.path.join(a.out, "tables.md"), "w") as f:
        f.write(text)
    print(text)
    # The headline figure, drawn by gclab from raw/trace_replay.json.
    subprocess.run([GCLAB, "plot", a.out], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
