"""Loads one of pyperformance's collector benchmarks (installed with pip) as a module, so that a
corpus program can call its benchmark function directly, without pyperf's process runner."""
import importlib.util
import os

import pyperformance


def load(name):
    path = os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks",
                        "bm_" + name, "run_benchmark.py")
    spec = importlib.util.spec_from_file_location("bm_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
