"""Prints what a program can see of its own start and of the gc functions: the output must be
byte-identical with and without the recorder."""
import gc
import os
import sys

print("argv", sys.argv)
print("orig_argv tail", sys.orig_argv[1:])
print("path", sys.path[:2])
print("no recorder dir on the path", not any(os.path.isfile(os.path.join(p, "_gclab_boot.py")) for p in sys.path))
print("file", __file__, __name__)
print("globals", [k for k in globals() if k.startswith("__")])
print("main is this module", sys.modules["__main__"].__dict__ is globals())
print("env", {k: os.environ.get(k) for k in ("PYTHONPATH", "LD_PRELOAD", "GCLAB_PROBE_VAR")})
print("no recorder env", [k for k in os.environ if k.startswith("GCLAB_RECORD")])
print("gc names", gc.collect.__name__, gc.freeze.__name__, gc.set_threshold.__name__)
print("repr", repr(gc.collect), repr(gc.enable))
print("doc", gc.collect.__doc__ == gc.collect.__doc__, (gc.collect.__doc__ or "")[:40])
print("collect(0) is int", type(gc.collect(0)).__name__, type(gc.collect(generation=1)).__name__)
print("collect() is int", type(gc.collect()).__name__)
for bad in [(5,), ("x",), (0, 1), (-1,)]:
    try:
        gc.collect(*bad)
    except Exception as e:
        print("collect", bad, type(e).__name__, e)
try:
    gc.collect(gen=1)
except Exception as e:
    print("collect kw", type(e).__name__, e)
old = gc.get_threshold()
print("set_threshold", gc.set_threshold(500), gc.get_threshold())
print("set_threshold", gc.set_threshold(600, 11, 12), gc.get_threshold())
for bad in [(), (1, 2, 3, 4), ("a",), (2**40,)]:
    try:
        gc.set_threshold(*bad)
    except Exception as e:
        print("set_threshold", len(bad), type(e).__name__, e)
try:
    gc.set_threshold(threshold0=5)
except Exception as e:
    print("set_threshold kw", type(e).__name__, e)
gc.set_threshold(*old)
print("disable", gc.disable(), gc.isenabled(), "enable", gc.enable(), gc.isenabled())
print("freeze", gc.freeze(), gc.get_freeze_count() > 0, "unfreeze", gc.unfreeze(), gc.get_freeze_count())
try:
    gc.enable(1)
except Exception as e:
    print("enable(1)", type(e).__name__, e)
sys.stdout.write("no newline at the end")
