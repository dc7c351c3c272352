"""pyperformance's gc_collect benchmark (bm_gc_collect, whose pyperf name is create_gc_cycles):
100 cycles of 21 nodes built, dropped and collected by an explicit gc.collect(), 30 times."""
from _pyperformance import load

bm = load("gc_collect")

# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
bm.benchamark_collection(30, bm.CYCLES, bm.LINKS)
print("gc_collect done")
