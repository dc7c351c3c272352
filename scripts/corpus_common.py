"""What the corpus scripts share (scripts/bench_recording.py, scripts/real_runs.py): the
repository root, the corpus's programs in table order, and mypy's stub cache."""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ["gc_collect", "gc_traversal", "create_gc_cycles", "json_roundtrip", "jinja2_render",
            "sqlalchemy_orm", "docutils_render", "sphinx_build", "mypy_check"]
PROGRAM_DIR = os.path.join(ROOT, "corpus/programs")


class MypyCache:
    """mypy's stub cache for `mypy_check`, filled once under `tmp` (outside any measurement, as
    scripts/record_corpus.sh fills it before recording) and copied back by `fresh()` before every
    run: a run also caches the package it checked, which would make the next run do less."""

    def __init__(self, py, env, tmp):
        self.pristine = os.path.join(tmp, "mypy-cache-pristine")
        self.path = os.path.join(tmp, "mypy-cache")
        subprocess.run([py, "mypy_check.py", self.pristine, "--warm"], cwd=PROGRAM_DIR, env=env,
                       check=True, stdout=subprocess.DEVNULL)

    def fresh(self):
        shutil.rmtree(self.path, ignore_errors=True)
        shutil.copytree(self.pristine, self.path)

    def args(self, prog):
        """The program's arguments: the cache for mypy_check, none for the others."""
        return [self.path] if prog == "mypy_check" else []
