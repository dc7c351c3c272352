#!/usr/bin/env python3
"""Write binary gclab traces that repeat one op, to measure the executor's fixed cost per op.

Usage: micro_traces.py OUTDIR [--ops N]

Standard library only. Each trace (docs/trace-format.md, binary form) sets up at most three
objects, then repeats one op (or a short group of ops) until it holds N ops (default 1,000,000):

* ``empty``: no ops (the process's own cost, to subtract);
* ``clear``: ``clear r0`` of an empty register: decoding, dispatch and the loop, nothing else;
* ``safe``: ``safepoint`` (the strategy's safe-point check only);
* ``copy``: ``copy r1 r0`` of a live int (one retain, one release, same object);
* ``load``: ``load r2 r0 0`` from a one-item list;
* ``store``: ``store r0 0 r1``, the item stored over itself;
* ``alloc-int``: ``alloc r0 int 28`` (an allocation, and the free of the previous one);
* ``alloc-list``: ``alloc r0 list 0`` (the same for a tracked container: young collections run).

Run each with ``gclab run -s STRATEGY -w trace:FILE`` under ``valgrind --tool=callgrind``: the
instructions per op are the total minus a run of an empty trace, divided by N
(docs/performance.md, seventh round).
"""

import argparse
import os
import sys

OP_ALLOC, OP_STORE, OP_APPEND, OP_LOAD, OP_COPY, OP_CLEAR, OP_SAFE = 1, 2, 3, 4, 5, 6, 9
K_INT, K_LIST = 0, 5


def varint(n):
    """Unsigned LEB128."""
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s):
    b = s.encode()
    return varint(len(b)) + b


def alloc(dst, kind, length):
    return bytes([OP_ALLOC]) + varint(dst) + bytes([kind]) + varint(length)


def store(obj, slot, src):
    return bytes([OP_STORE]) + varint(obj) + varint(slot) + varint(src)


def append(lst, src):
    return bytes([OP_APPEND]) + varint(lst) + varint(src)


def load(dst, obj, slot):
    return bytes([OP_LOAD]) + varint(dst) + varint(obj) + varint(slot)


def copy(dst, src):
    return bytes([OP_COPY]) + varint(dst) + varint(src)


def clear(dst):
    return bytes([OP_CLEAR]) + varint(dst)


SAFE = bytes([OP_SAFE])

ONE_ITEM_LIST = [alloc(0, K_LIST, 0), alloc(1, K_INT, 28), append(0, 1)]

TRACES = {
    "empty": ([], []),
    "clear": ([], [clear(0)]),
    "safe": ([], [SAFE]),
    "copy": ([alloc(0, K_INT, 28)], [copy(1, 0)]),
    "load": (ONE_ITEM_LIST, [load(2, 0, 0)]),
    "store": (ONE_ITEM_LIST, [store(0, 0, 1)]),
    "alloc-int": ([], [alloc(0, K_INT, 28)]),
    "alloc-list": ([], [alloc(0, K_LIST, 0)]),
}


def write(path, name, setup, body, total):
    header = (b"GCLT" + bytes([1, 0]) + string("micro-" + name) + varint(1) + varint(4)
              + varint(0) + varint(0))
    reps = max(0, (total - len(setup)) // len(body)) if body else 0
    ops = len(setup) + reps * len(body)
    with open(path, "wb") as f:
        f.write(header)
        f.write(b"".join(setup))
        f.write(b"".join(body) * reps)
        f.write(bytes([0xFF]) + varint(ops))
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--ops", type=int, default=1_000_000)
    a = ap.parse_args()
    if a.ops < 1:
        print("error: --ops must be at least 1", file=sys.stderr)
        return 2
    os.makedirs(a.outdir, exist_ok=True)
    for name, (setup, body) in TRACES.items():
        path = os.path.join(a.outdir, name + ".trace")
        ops = write(path, name, setup, body, a.ops)
        print("wrote %s (%d ops)" % (path, ops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
