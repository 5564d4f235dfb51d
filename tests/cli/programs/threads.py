"""Two threads computing (they share the GIL) and one asleep, for 1.5 s."""
import threading
import time


def worker():
    end = time.time() + 1.5
    while time.time() < end:
        pass


def sleeper():
    time.sleep(1.5)


threads = [threading.Thread(target=worker), threading.Thread(target=sleeper)]
for t in threads:
    t.start()
worker()
for t in threads:
    t.join()
