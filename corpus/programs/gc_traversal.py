"""pyperformance's gc_traversal benchmark: 1000 levels of lists referring to the level below
(about 500,000 references, no garbage), traversed by explicit full collections, 20 times."""
from _pyperformance import load

bm = load("gc_traversal")

# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
bm.benchamark_collection(20, bm.N_LEVELS)
print("gc_traversal done")
