"""Containers nested 100000 deep, then freed: CPython's trashcan bounds the recursion of their
deallocs, which must still work with the recorder's dealloc trampolines in place."""
import gc

gc.disable()
lists, dicts, tuples = [], {}, ()
for _ in range(100_000):
    lists, dicts, tuples = [lists], {"k": dicts}, (tuples, 1)
del lists, dicts, tuples
gc.enable()
print("freed")
