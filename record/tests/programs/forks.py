import os
import threading

def work(n):
    keep = []
    for i in range(n):
        d = {"i": [i]}
        d["self"] = d
        keep.append(d)
    return len(keep)

ts = [threading.Thread(target=work, args=(3000,)) for _ in range(3)]
for t in ts:
    t.start()
pid = os.fork()
if pid == 0:
    work(5000)
    os._exit(0)
work(2000)
for t in ts:
    t.join()
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
