#!/usr/bin/env python3
"""Replay a gclab trace in a real CPython and report what its cycle collector did.

Usage: cpython_replay.py TRACE [--thresholds T0,T1,T2] [--self-check-ops N]

Standard library only. Reads a binary gclab trace (docs/trace-format.md: magic ``GCLT``,
LEB128 varints), executes its ops with real Python objects, and prints one JSON object:

* ``collections``: every collection the interpreter ran during the replay, in order, as
  ``[generation, collected, uncollectable]``, recorded by a ``gc.callbacks`` hook;
* ``stats``: ``gc.get_stats()`` over the replay (the values at its start subtracted);
* ``count``: ``gc.get_count()`` right after the replay; ``thresholds``; the version;
* ``self_check``: ``gc.get_count()`` before and after running the replay loop over ops that
  allocate nothing (copies, clears, safe points, events), and ``loop_allocations``, the
  difference minus the one tuple the first ``gc.get_count()`` returned: 0 shows that the loop
  itself allocates no GC-tracked object. (The first call of the replay function allocates
  one object in CPython; a warm-up call with no ops absorbs it before any measurement.)

How the objects are made (what the model counts, the replay must allocate, and nothing else):

* registers are a preallocated list ``R``; ``str``/``bytes`` of n characters, ``float``,
  ``int`` are fresh atoms; ``list`` is ``[]`` (the model's pre-allocated capacity changes no GC
  count, so it is not reproduced), ``dict`` is ``{}`` with keys ``k0``, ``k1``, ... (slot i is
  the i-th key, interned strings built before the loop), instances are of a plain class
  ``Obj`` with attributes ``a0``, ``a1``, ... set by ``setattr`` (every attribute name is put in
  the class's shared keys before the loop, so instances never grow a ``__dict__`` object);
* tuples are immutable, so ``Alloc`` of a tuple only empties the destination register and
  stages the items in a preallocated list; the tuple is built (by a generated function
  returning ``(s[0], ..., s[n-1])``, one allocation, as ``BUILD_TUPLE`` does) when its last
  slot is stored, or, if the trace does something else first, at that point with ``None`` in
  the unfilled slots. The model counts the tuple at its ``Alloc``; traces written for
  fidelity (``gclab fidelity``) store every item right after the ``Alloc``, with no other
  allocation and no safe point in between, so both see the same counts at every collection;
  a store into an already built tuple is an error;
* ``gc.set_threshold`` is called as ``gc.set_threshold(*t)`` with tuples built before the
  loop (a call with literal arguments would allocate a 3-tuple of arguments);
* the op decoder indexes a ``bytes`` object and keeps integers in locals: it allocates no
  GC-tracked object.

Isolation: before replaying, the script builds everything it needs, installs its callback
(which writes into a preallocated list), runs ``gc.collect()``, ``gc.freeze()``, a second
``gc.collect()`` (so that ``long_lived_total`` counts no interpreter object), takes the dict the
callback left on the dict free list, and freezes again: the replay starts with counts
(0, 0, 0), empty free lists and ``long_lived_total`` 0, as the model does. The callback hook
itself makes CPython build an ``info`` dict at the start and at the stop of every collection;
the model reproduces that (strategy parameter ``callbacks=true``).

Safe points: in a Python loop every iteration passes the loop's ``JUMP_BACKWARD``, where CPython
3.12+ checks its eval breaker and runs a scheduled collection; the fidelity traces put a
``SafePoint`` op after every op so that the model runs a deferred collection at the same
place. The replay loop below is such a loop: it passes a check after every op of any trace (a
``SafePoint`` op only ends its iteration early), and also inside the op that builds a staged
tuple (the ``for`` loop that empties the staging list). So under 3.12+ the replay collects right
after the op that scheduled the collection, where the model collects at the trace's next
``SafePoint``; the two agree when the workload has a safe point before anything that changes
what the collection sees (``docs/workloads.md``, "Safe points").
"""

import argparse
import gc
import json
import sys
import time

OP_ALLOC, OP_STORE, OP_APPEND, OP_LOAD, OP_COPY, OP_CLEAR = 1, 2, 3, 4, 5, 6
OP_EVENT, OP_PROBE, OP_SAFE = 7, 8, 9
OP_COLLECT, OP_FREEZE, OP_UNFREEZE, OP_ENABLE, OP_DISABLE, OP_SETTH = (
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15)
OP_END = 0xFF
K_INT, K_FLOAT, K_STR, K_BYTES, K_TUPLE, K_LIST, K_DICT, K_INSTANCE = range(8)


class TraceFormatError(Exception):
    """The file is not a trace this script can replay."""


class Obj:
    """Instances of a plain Python class: the model's `instance` kind."""


def read_varint(data, p):
    x = 0
    s = 0
    while True:
        if p >= len(data):
            raise TraceFormatError("truncated varint at byte offset %d" % p)
        b = data[p]
        p += 1
        x |= (b & 0x7F) << s
        if b < 0x80:
            return x, p
        s += 7
        if s > 63:
            raise TraceFormatError("varint too long at byte offset %d" % p)


def read_str(data, p):
    n, p = read_varint(data, p)
    if p + n > len(data):
        raise TraceFormatError("truncated string at byte offset %d" % p)
    return data[p:p + n].decode("utf-8"), p + n


def unzigzag(n):
    return (n >> 1) ^ -(n & 1)


def parse_header(data):
    if data[:4] != b"GCLT":
        raise TraceFormatError("not a binary gclab trace (magic GCLT expected); "
                               "write one with `gclab trace` without --text")
    version = data[4] | (data[5] << 8)
    if version != 1:
        raise TraceFormatError("unsupported trace version %d (expected 1)" % version)
    p = 6
    workload, p = read_str(data, p)
    seed, p = read_varint(data, p)
    registers, p = read_varint(data, p)
    nparams, p = read_varint(data, p)
    params = []
    for _ in range(nparams):
        k, p = read_str(data, p)
        v, p = read_str(data, p)
        params.append((k, v))
    nnames, p = read_varint(data, p)
    names = []
    for _ in range(nnames):
        n, p = read_str(data, p)
        names.append(n)
    return {"workload": workload, "seed": seed, "registers": registers,
            "params": params, "names": names}, p


# Operand counts (varints after the opcode); ALLOC has a kind byte after its first operand.
NVAR = {OP_STORE: 3, OP_APPEND: 2, OP_LOAD: 3, OP_COPY: 2, OP_CLEAR: 1, OP_EVENT: 1,
        OP_PROBE: 2, OP_SAFE: 0, OP_COLLECT: 1, OP_FREEZE: 0, OP_UNFREEZE: 0,
        OP_ENABLE: 0, OP_DISABLE: 0, OP_SETTH: 3}


def prescan(data, p):
    """Walks the ops once (outside the replay): finds the end, sizes the tables."""
    info = {"ops": 0, "collect_ops": 0, "container_allocs": 0, "max_key": 0, "max_attr": 0,
            "max_tuple": 0, "thresholds": []}
    kinds = {}
    while True:
        if p >= len(data):
            raise TraceFormatError("trace ends without its end marker")
        op = data[p]
        p += 1
        if op == OP_END:
            n, p = read_varint(data, p)
            if n != info["ops"]:
                raise TraceFormatError("end marker says %d ops, found %d" % (n, info["ops"]))
            return info, p - 1 - len(encode_varint(n))
        if op == OP_ALLOC:
            dst, p = read_varint(data, p)
            kind = data[p]
            p += 1
            ln, p = read_varint(data, p)
            if kind > 7:
                raise TraceFormatError("bad kind %d" % kind)
            kinds[dst] = kind
            if kind >= K_TUPLE:
                info["container_allocs"] += 1
            if kind == K_TUPLE:
                info["max_tuple"] = max(info["max_tuple"], ln)
        elif op in NVAR:
            args = []
            for _ in range(NVAR[op]):
                a, p = read_varint(data, p)
                args.append(a)
            if op == OP_STORE or op == OP_LOAD:
                slot = args[1]
                info["max_key"] = max(info["max_key"], slot + 1)
                info["max_attr"] = max(info["max_attr"], slot + 1)
            elif op == OP_COLLECT:
                info["collect_ops"] += 1
            elif op == OP_SETTH:
                info["thresholds"].append(tuple(unzigzag(a) for a in args))
        else:
            raise TraceFormatError("unknown opcode 0x%02x at byte offset %d" % (op, p - 1))
        info["ops"] += 1


def encode_varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def V(name, ind):
    """Source of an inline varint decode into `name` (no calls, no allocation)."""
    pad = " " * ind
    return "\n".join([
        pad + "%s = data[p]; p += 1" % name,
        pad + "if %s > 127:" % name,
        pad + "    %s &= 127; sh = 7" % name,
        pad + "    while 1:",
        pad + "        c = data[p]; p += 1; %s |= (c & 127) << sh" % name,
        pad + "        if c < 128: break",
        pad + "        sh += 7",
    ])


LOOP_TEMPLATE = '''
def replay(data, p, end, R, KEYS, ATTRS, PT, BUILD, TH, Obj, gc_collect, gc_freeze,
           gc_unfreeze, gc_enable, gc_disable, gc_set_threshold, setattr, getattr, type,
           list, dict, tuple):
    pt = -1
    ptn = 0
    thi = 0
    while p < end:
        op = data[p]; p += 1
        if op == 9:
            continue
        if pt >= 0 and op != 2:
            R[pt] = BUILD[ptn](PT)
            for i in range(ptn):
                PT[i] = None
            pt = -1
        if op == 6:
@@V d 12
            R[d] = None
        elif op == 1:
@@V d 12
            k = data[p]; p += 1
@@V n 12
            if k == 5:
                R[d] = []
            elif k == 6:
                R[d] = {}
            elif k == 7:
                R[d] = Obj()
            elif k == 4:
                R[d] = None
                if n == 0:
                    R[d] = ()
                else:
                    pt = d
                    ptn = n
            elif k == 2:
                R[d] = 's' * n
            elif k == 1:
                R[d] = n + 0.5
            elif k == 3:
                R[d] = b'b' * n
            else:
                R[d] = n + 1000000
        elif op == 2:
@@V o 12
@@V s 12
@@V v 12
            if o == pt:
                PT[s] = R[v]
                if s == ptn - 1:
                    R[pt] = BUILD[ptn](PT)
                    for i in range(ptn):
                        PT[i] = None
                    pt = -1
            else:
                if pt >= 0:
                    R[pt] = BUILD[ptn](PT)
                    for i in range(ptn):
                        PT[i] = None
                    pt = -1
                x = R[o]
                t = type(x)
                if t is list:
                    x[s] = R[v]
                elif t is dict:
                    x[KEYS[s]] = R[v]
                elif t is tuple:
                    raise RuntimeError('store into a built tuple (tuples are immutable)')
                else:
                    setattr(x, ATTRS[s], R[v])
                x = None  # a local must not keep the container alive
        elif op == 3:
@@V o 12
@@V v 12
            R[o].append(R[v])
        elif op == 5:
@@V d 12
@@V s 12
            R[d] = R[s]
        elif op == 4:
@@V d 12
@@V o 12
@@V s 12
            x = R[o]
            t = type(x)
            if t is list or t is tuple:
                R[d] = x[s]
            elif t is dict:
                R[d] = x[KEYS[s]]
            else:
                R[d] = getattr(x, ATTRS[s])
            x = None
        elif op == 7:
@@V d 12
        elif op == 8:
@@V d 12
@@V d 12
        elif op == 16:
@@V g 12
            gc_collect((g >> 1) ^ -(g & 1))
        elif op == 17:
            gc_freeze()
        elif op == 18:
            gc_unfreeze()
        elif op == 19:
            gc_enable()
        elif op == 20:
            gc_disable()
        elif op == 21:
@@V d 12
@@V d 12
@@V d 12
            gc_set_threshold(*TH[thi])
            thi += 1
        else:
            raise RuntimeError('unknown opcode')
    if pt >= 0:
        R[pt] = BUILD[ptn](PT)
'''


def make_replay():
    lines = []
    for line in LOOP_TEMPLATE.splitlines():
        if line.startswith("@@V "):
            _, name, ind = line.split()
            lines.append(V(name, int(ind)))
        else:
            lines.append(line)
    ns = {}
    exec("\n".join(lines), ns)
    return ns["replay"]


def make_builders(maxn):
    ns = {}
    src = ["def b0(s): return ()"]
    for n in range(1, maxn + 1):
        src.append("def b%d(s): return (%s,)" % (n, ", ".join("s[%d]" % i for i in range(n))))
    exec("\n".join(src), ns)
    return [ns["b%d" % n] for n in range(maxn + 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--thresholds", default=None,
                    help="T0,T1,T2 to set before replaying (default: the interpreter's)")
    ap.add_argument("--self-check-ops", type=int, default=100000)
    a = ap.parse_args()

    t_read = time.perf_counter_ns()
    with open(a.trace, "rb") as f:
        data = f.read()
    t_read = time.perf_counter_ns() - t_read
    try:
        header, p0 = parse_header(data)
        info, end = prescan(data, p0)
    except (TraceFormatError, IndexError) as e:
        print("cpython_replay: %s: %s" % (a.trace, e), file=sys.stderr)
        return 2
    if a.thresholds:
        try:
            th0 = tuple(int(x) for x in a.thresholds.split(","))
            if len(th0) != 3:
                raise ValueError
        except ValueError:
            print("cpython_replay: --thresholds must be three integers T0,T1,T2", file=sys.stderr)
            return 2
    else:
        th0 = gc.get_threshold()

    gc.disable()
    replay = make_replay()
    R = [None] * max(1, header["registers"])
    nkeys = max(1, info["max_key"])
    KEYS = [sys.intern("k%d" % i) for i in range(nkeys)]
    ATTRS = [sys.intern("a%d" % i) for i in range(nkeys)]
    # Put every attribute name in Obj's shared keys now, in slot order.
    warm = Obj()
    for name in ATTRS:
        setattr(warm, name, None)
    del warm
    BUILD = make_builders(max(1, info["max_tuple"]))
    PT = [None] * max(1, info["max_tuple"])
    TH = list(info["thresholds"])
    # Upper bound of collections: every counted allocation could trigger one, plus the
    # program's gc.collect() calls, plus slack.
    maxc = info["container_allocs"] + info["collect_ops"] + 16
    LOG = [0] * (3 * maxc)
    POS = [0]

    def cb(phase, inf, LOG=LOG, POS=POS):
        if phase == "stop":
            i = POS[0]
            LOG[i] = inf["generation"]
            LOG[i + 1] = inf["collected"]
            LOG[i + 2] = inf["uncollectable"]
            POS[0] = i + 3

    # Self check: the loop over ops that allocate nothing must not move the counts.
    quiet = bytes([OP_COPY, 0, 0, OP_CLEAR, 0, OP_SAFE, OP_EVENT, 0]) * max(1, a.self_check_ops // 4)

    def run(buf, p, end):
        # Explicit positional arguments: a call with *args would build an argument tuple,
        # which CPython 3.11 keeps alive (and tracked) for the whole call.
        replay(buf, p, end, R, KEYS, ATTRS, PT, BUILD, TH, Obj, gc.collect, gc.freeze,
               gc.unfreeze, gc.enable, gc.disable, gc.set_threshold, setattr, getattr, type,
               list, dict, tuple)
    gc.callbacks.append(cb)
    run(b"", 0, 0)  # the first call of a function allocates once: warm up
    gc.collect()
    gc.freeze()
    c_before = gc.get_count()
    run(quiet, 0, len(quiet))
    c_after = gc.get_count()

    gc.collect()
    gc.freeze()
    gc.collect()
    keep = {}  # takes the callback's info dict off the dict free list
    base = gc.get_stats()
    POS[0] = 0
    gc.set_threshold(*th0)
    gc.freeze()
    gc.enable()
    t_replay = time.perf_counter_ns()
    run(data, p0, end)
    t_replay = time.perf_counter_ns() - t_replay
    count = gc.get_count()
    gc.disable()
    stats = gc.get_stats()
    n = POS[0]
    colls = [[LOG[i], LOG[i + 1], LOG[i + 2]] for i in range(0, n, 3)]
    del keep
    out = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "trace": a.trace,
        "workload": header["workload"],
        "params": dict(header["params"]),
        "ops": info["ops"],
        "thresholds": list(th0),
        "collections": colls,
        "stats": [{k: stats[g][k] - base[g][k] for k in ("collections", "collected", "uncollectable")}
                  for g in range(3)],
        "count": list(count),
        # Wall time of the replay loop alone (decoding the trace's ops in Python included;
        # reading the file and the set-up excluded), for scripts/perf_tables.py.
        "replay_ns": t_replay,
        # Wall time of reading the trace file into memory (perf_tables.py adds it to
        # replay_ns, since gclab's figure includes reading the file as it decodes).
        "read_ns": t_read,
        # The tuple the first get_count() returned is the one allocation expected in between.
        "self_check": {"ops": len(quiet) // 2, "count_before": list(c_before),
                       "count_after": list(c_after),
                       "loop_allocations": c_after[0] - c_before[0] - 1},
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
