"""A CPU split known by construction: sixty() 60%, thirty() 30%, ten() 10%
of the CPU time main() spends, in 10 ms rounds. Usage: split.py SECONDS"""
import sys
import time


def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def sixty():
    spin(0.006)


def thirty():
    spin(0.003)


def ten():
    spin(0.001)


def main(total):
    for _ in range(int(total / 0.01)):
        sixty()
        thirty()
        ten()


if __name__ == "__main__":
    main(float(sys.argv[1]))
