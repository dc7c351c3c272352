"""pyperformance's gc_collect benchmark (bm_gc_collect, whose pyperf name is create_gc_cycles):
100 cycles of 21 nodes built, dropped and collected by an explicit gc.collect(), 30 times."""
from _pyperformance import load

bm = load("gc_collect")
bm.benchamark_collection(30, bm.CYCLES, bm.LINKS)
print("gc_collect done")
