#!/usr/bin/env python3
"""Summarise criterion results (target/criterion/*/*/new/) as a markdown table.

Usage: criterion_summary.py [GROUP_PREFIX ...]   e.g. criterion_summary.py collect_full collect_gen0

For each benchmark: the median time per iteration (criterion's `median` estimate), the
elements per iteration (from `benchmark.json`'s throughput) and the median time per element.
Standard library only.
"""
import glob
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")


def main():
    prefixes = sys.argv[1:] or [""]
    print("| benchmark | median time per iteration | elements | ns per element |")
    print("|---|---:|---:|---:|")
    for bench in sorted(glob.glob(os.path.join(ROOT, "**", "new", "benchmark.json"),
                               recursive=True)):
        d = os.path.dirname(bench)
        with open(bench) as f:
            b = json.load(f)
        if not any(b["group_id"].replace("/", "_").startswith(p) for p in prefixes):
            continue
        with open(os.path.join(d, "estimates.json")) as f:
            e = json.load(f)
        ns = e["median"]["point_estimate"]
        tp = b.get("throughput") or {}
        el = tp.get("Elements")
        name = b["full_id"]
        t = "%.3f ms" % (ns / 1e6) if ns >= 1e5 else "%.1f us" % (ns / 1e3)
        print("| %s | %s | %s | %s |" % (name, t, el if el else "-",
                                         "%.2f" % (ns / el) if el else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
