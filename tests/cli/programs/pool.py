"""A multiprocessing pool: the parent waits, two worker processes compute.
Usage: pool.py SECONDS"""
import multiprocessing
import sys
import time


def crunch(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds


def main(total):
    with multiprocessing.Pool(2) as pool:
        pool.map(crunch, [total / 2] * 2)


if __name__ == "__main__":
    main(float(sys.argv[1]))
