import sys

x = [[i] for i in range(100)]
print("leaving with 3")
sys.exit(3)
