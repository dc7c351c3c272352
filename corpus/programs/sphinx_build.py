"""A Sphinx build of a small document set: 8 generated pages with a toctree, cross-references,
code blocks and an index, built to HTML from scratch into a temporary directory."""
import os
import tempfile

from sphinx.cmd.build import build_main

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    with open(os.path.join(src, "conf.py"), "w") as f:
        f.write("project = 'corpus'\nextensions = []\nhtml_theme = 'basic'\n")
    pages = ["page%02d" % i for i in range(8)]
    with open(os.path.join(src, "index.rst"), "w") as f:
        f.write("Corpus\n======\n\n.. toctree::\n   :maxdepth: 2\n\n")
        for p in pages:
            f.write("   %s\n" % p)
    for i, p in enumerate(pages):
        with open(os.path.join(src, p + ".rst"), "w") as f:
            f.write(".. _%s:\n\nPage %d\n=======\n\n" % (p, i))
            for j in range(12):
                f.write("Part %d\n--------\n\nSee :ref:`%s` and :doc:`index`. .. index:: term%d\n\n"
                        ".. code-block:: python\n\n   def g%d(x):\n       return [x] * %d\n\n"
                        "* a point\n* another *point*\n\n" % (j, pages[(i + 1) % len(pages)], j, j, j))
    out = os.path.join(tmp, "out")

    # Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
    # start-up is replayed here); without the recorder nothing is there and nothing happens.
    _marker = __import__("sys").modules.get("gclab_marker")
    if _marker is not None:
        _marker.startup()
    status = build_main(["-q", "-E", "-b", "html", "-d", os.path.join(tmp, "doctrees"), src, out])
print("sphinx_build", status)
