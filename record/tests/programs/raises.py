import sys

print("about to fail", flush=True)
sys.stderr.write("a line on stderr\n")


def inner(d):
    return d["missing"]


def outer():
    try:
        inner({})
    except KeyError as e:
        raise ValueError("the program failed") from e


outer()
