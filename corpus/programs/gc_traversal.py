"""pyperformance's gc_traversal benchmark: 1000 levels of lists referring to the level below
(about 500,000 references, no garbage), traversed by explicit full collections, 20 times."""
from _pyperformance import load

bm = load("gc_traversal")
bm.benchamark_collection(20, bm.N_LEVELS)
print("gc_traversal done")
