"""Memory known by construction, for plumb mem's accuracy tests.

Usage: hold.py MIB LEAK_KIB ITERATIONS

hold() keeps MIB MiB alive at once, in bytes objects of 1000 bytes made on
the line marked HOLD, then lets them go; leak() then adds LEAK_KIB KiB per
iteration to a list that is never emptied, on the line marked LEAK."""
import sys
import time

KEPT = []


def hold(mib):
    n = mib * 1024 * 1024 // 1000
    block = [bytes(1000) for _ in range(n)]  # HOLD
    time.sleep(0.3)
    return len(block)


def leak(kib, iterations):
    for _ in range(iterations):
        KEPT.append(bytearray(kib * 1024))  # LEAK
        time.sleep(0.001)


def main():
    mib, kib, iterations = (int(a) for a in sys.argv[1:4])
    hold(mib)
    leak(kib, iterations)


if __name__ == "__main__":
    main()
