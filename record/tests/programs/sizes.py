"""Objects of many kinds with their __sizeof__, written to argv[1]; then one collection (its
snapshot carries their SIZE records) and, between gc.disable() and gc.enable() MARKs, their
deaths (whose DESTROY records carry their size)."""
import gc
import json
import sys


class Plain:
    def __init__(self):
        self.a = 1
        self.b = [2]


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = []
        self.y = 2


grown = []
for i in range(37):
    grown.append([i])
split = Plain().__dict__  # a split-table dict (keys shared with the class) on 3.11/3.12
split["extra"] = [1]
objs = [
    10**40 * len(sys.argv) + 7,
    -(10**25) * len(sys.argv),
    int("12345678901"),
    "ascii text " * 9 + str(len(sys.argv)),
    "\u00e9t\u00e9 " * 20 + str(len(sys.argv)),
    "\u20ac" * 30 + str(len(sys.argv)),
    "\U0001F600" * 7 + str(len(sys.argv)),
    b"bytes" * 40 + bytes(len(sys.argv)),
    1.5 + len(sys.argv),
    (1, 2, [3], "t"),
    grown,
    [[]] * 3,
    {"k%d" % i: [i] for i in range(20)},
    {i: [i] for i in range(100)},
    {"a": []},
    split,
    {i for i in range(50)},
    {1, 2},
    frozenset(range(30)),
    Plain(),
    Slotted(),
]
grown = split = None
mask = (1 << 48) - 1
info = [[id(o) & mask, o.__sizeof__(), type(o).__name__, gc.is_tracked(o)] for o in objs]
with open(sys.argv[1], "w") as f:
    json.dump(info, f)
gc.collect()
gc.disable()
del objs
gc.enable()
