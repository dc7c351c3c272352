import sys

x = [[i] for i in range(100)]
if sys.argv[1:] == ["talk"]:
    print("leaving with 3")
sys.exit(3)
