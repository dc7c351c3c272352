"""Lists, dicts and instances in reference cycles, automatic collections and one gc.collect().

Writes what the program itself saw of the collector to the JSON file named by argv[1]: its own
gc.callbacks entries and gc.get_stats() before and after.  Automatic collection is off (a
gc.disable() MARK in the raw log) while the callback is installed or removed, so the raw log's
collections between the first and the last disable MARK are exactly the ones seen here.
"""
import gc
import json
import sys

gc.disable()
seen = []


def callback(phase, info):
    seen.append([phase, info["generation"], info.get("collected", 0), info.get("uncollectable", 0)])


gc.callbacks.append(callback)
before = [s["collections"] for s in gc.get_stats()]
gc.enable()


class Node:
    def __init__(self, i):
        self.i = i
        self.peer = None
        self.items = [i, str(i)]


keep = []
for i in range(6000):
    a = Node(i)
    b = Node(-i)
    a.peer = b
    b.peer = a
    cycle = [a, {"k": b, "i": i}]
    cycle.append(cycle)
    if i % 50 == 0:
        keep.append(cycle)
collected = gc.collect()

gc.disable()
gc.callbacks.remove(callback)
after = [s["collections"] for s in gc.get_stats()]
with open(sys.argv[1], "w") as f:
    json.dump({"callbacks": seen, "before": before, "after": after, "collected": collected}, f)
