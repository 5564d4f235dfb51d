"""Functions of known cost and growth for the package's tests."""
import random


def work(n):
    """About n iterations of pure-Python arithmetic: O(n)."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def work_twice(n):
    """Exactly twice work(n)."""
    return work(n) + work(n)


def work_three_times(n):
    return work(n) + work(n) + work(n)


def linear(n):
    """O(n) without a list, so no cache effect bends the line, and with a
    total that stays below 2**30: a sum would grow a second 30-bit digit
    past n = 46 341 and make the later elements costlier, which reads as
    O(n log n)."""
    total = 0
    for i in range(n):
        total ^= i
    return total


def quadratic(xs):
    count = 0
    for x in xs:
        for y in xs:
            if x < y:
                count += 1
    return count


def quadratic_cheap(xs):
    """O(n^2) with a small constant: n scans in C."""
    return sum(xs.count(x) for x in xs)


def linear_costly(xs):
    """O(n) with a big constant: a few hundred bytecodes per element."""
    total = 0.0
    for x in xs:
        for k in range(40):
            total += x * k
    return total


def random_floats(n, seed=1):
    rng = random.Random(seed)
    return [rng.random() for _ in range(n)]
