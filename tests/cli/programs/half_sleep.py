"""Half the wall time asleep, half computing, in 20 ms rounds.
Usage: half_sleep.py SECONDS"""
import sys
import time


def compute(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def rest(seconds):
    time.sleep(seconds)


def main(total):
    for _ in range(int(total / 0.02)):
        compute(0.01)
        rest(0.01)


if __name__ == "__main__":
    main(float(sys.argv[1]))
