import sys

print("module argv", sys.argv[1:], sys.argv[0].endswith("main_mod.py"))
print("path0 is cwd", sys.path[0] == __import__("os").getcwd())
print("name", __name__, __spec__.name, __package__)
if sys.argv[1:] == ["fail"]:
    raise RuntimeError("module failed")
