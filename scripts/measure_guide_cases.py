"""Measures, in real CPython, what the guide's cases allocate: the numbers quoted in the docs of
gclab's `concat`, `gen-vs-list`, `map-vs-loop` and `combinations` workloads.

Run: ~/.pyenv/versions/3.11.7/bin/python scripts/measure_guide_cases.py
"""
import gc
import itertools
import operator
import sys
import tracemalloc

gc.disable()


def measure(f, *a):
    """(net, peak) bytes traced by tracemalloc while f(*a) runs, after one warm-up call."""
    f(*a)
    tracemalloc.start()
    s0, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    f(*a)
    s1, p = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return s1 - s0, p - s0


print(sys.version.split()[0])

# concat: four 5-character pieces.
a, b, c, d = "abcde", "fghij", "klmno", "pqrst"
for name, f in [
    ("plus", lambda: a + b + c + d),
    ("format", lambda: "{}{}{}{}".format(a, b, c, d)),
    ("join", lambda: "".join((a, b, c, d))),
    ("percent", lambda: "%s%s%s%s" % (a, b, c, d)),
]:
    print("concat", name, "result", sys.getsizeof(f()), "(net, peak)", measure(f))

# gen-vs-list: sum of squares of 1000..11000.
N = 10000
print("gen-vs-list list", measure(lambda: sum([i * i for i in range(1000, 1000 + N)])))
print("gen-vs-list gen ", measure(lambda: sum(i * i for i in range(1000, 1000 + N))))
print("generator object", sys.getsizeof(i for i in range(3)))

# map-vs-loop.
ns = (0, 1, 2, 3, 5, 8, 9, 10, 17, 20, 100)


def loop(src, fn=str):
    out = []
    for x in src:
        out.append(fn(x))
    return out


print("list(map) sizes", [sys.getsizeof(list(map(str, range(n)))) for n in ns])
print("loop sizes     ", [sys.getsizeof(loop(range(n))) for n in ns])
print("map has __length_hint__:", hasattr(map(str, []), "__length_hint__"),
      "length_hint:", operator.length_hint(map(str, [1, 2, 3]), -1))
print("map object", sys.getsizeof(map(str, [])))
words = [str(i) * 3 for i in range(1000)]
print("map-vs-loop 1000 words: loop", measure(loop, words, str.upper),
      "map", measure(lambda w: list(map(str.upper, w)), words))

# combinations.
items = [str(i) * 2 for i in range(100)]


def nested(lst):
    for i in range(len(lst)):
        for j in range(i + 1, len(lst)):
            t = (lst[i], lst[j])


def comb(lst):
    for t in itertools.combinations(lst, 2):
        pass


print("combinations 100: nested", measure(nested, items), "itertools", measure(comb, items))
print("combinations object", sys.getsizeof(itertools.combinations(items, 2)))
four = ["a", "b", "c", "d"]
print("distinct result tuples over 6 pairs: dropped",
      len({id(t) for t in itertools.combinations(four, 2)}),
      "kept", len({id(t) for t in list(itertools.combinations(four, 2))}))
