"""Closes every inherited descriptor (as daemons do), then opens enough files that the recorder's
old descriptor number is reused, and checks at exit (after the recorder stopped) that none of
them received the recorder's records."""
import atexit
import os
import sys
import tempfile

os.closerange(3, 4096)
tmp = tempfile.mkdtemp()
files = []
for i in range(300):
    f = open(os.path.join(tmp, "f%d" % i), "w+b")
    f.write(b"mine %d\n" % i)
    f.flush()
    files.append(f)
junk = [[i] for i in range(200_000)]  # enough records to fill the recorder's buffer


def check():
    bad = 0
    for i, f in enumerate(files):
        f.seek(0)
        if f.read() != b"mine %d\n" % i:
            bad += 1
        f.close()
        os.unlink(f.name)
    os.rmdir(tmp)
    print("intact" if bad == 0 else "%d files overwritten" % bad)
    sys.stdout.flush()


atexit.register(check)
