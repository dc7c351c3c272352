"""The cycle-building half of pyperformance's gc_collect benchmark without its explicit
collections: 100 cycles of 21 nodes built and dropped 200 times, so that the automatic collector
finds them."""
from _pyperformance import load

bm = load("gc_collect")

# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
for _ in range(200):
    cycles = bm.create_gc_cycles(bm.CYCLES, bm.LINKS)
    del cycles
print("create_gc_cycles done")
