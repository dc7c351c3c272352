"""mypy checking a small package: a generated 12-module package with classes, generics and
protocols, type-checked in this process. The standard library's stubs come from mypy's
incremental cache in CACHE_DIR (argument 1), which `scripts/record_corpus.sh` fills beforehand by
running this script with `--warm` outside the recording, so that the recording is of checking
the package, not of parsing typeshed."""
import os
import sys
import tempfile

from mypy import api

CACHE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.devnull
if len(sys.argv) > 2 and sys.argv[2] == "--warm":
    # Fill the cache with the stubs a package importing typing needs.
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "warm.py"), "w") as f:
            f.write("from typing import Generic, Protocol, TypeVar\n")
        api.run([os.path.join(tmp, "warm.py"), "--cache-dir", CACHE, "--python-version", "3.11"])
    sys.exit(0)

with tempfile.TemporaryDirectory() as tmp:
    pkg = os.path.join(tmp, "pkg")
    os.makedirs(pkg)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    for i in range(12):
        with open(os.path.join(pkg, "m%d.py" % i), "w") as f:
            f.write("from typing import Generic, Protocol, TypeVar\n")
            if i:
                f.write("from pkg.m%d import C%d\n" % (i - 1, i - 1))
            f.write("T = TypeVar('T')\n\nclass P%d(Protocol):\n    def run(self) -> int: ...\n\n"
                    "class C%d(Generic[T]):\n    def __init__(self, v: T) -> None:\n        self.v = v\n"
                    "    def get(self) -> T:\n        return self.v\n    def run(self) -> int:\n"
                    "        return %d\n\n" % (i, i, i))
            for j in range(20):
                f.write("def f%d(xs: list[int], c: C%d[str]) -> dict[str, int]:\n"
                        "    return {c.get() + str(x): x * %d for x in xs}\n\n" % (j, i, j))

    # Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
    # start-up is replayed here); without the recorder nothing is there and nothing happens.
    _marker = __import__("sys").modules.get("gclab_marker")
    if _marker is not None:
        _marker.startup()
    out, err, status = api.run([pkg, "--cache-dir", CACHE, "--python-version", "3.11"])
print("mypy_check", status, out.count("error"))
