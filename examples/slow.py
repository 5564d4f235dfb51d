"""Sorts n random numbers with insertion sort: O(n^2) comparisons.

The baseline of plumb's demo: `python3 slow.py N`.
"""
import random
import sys


def insertion_sort(values):
    values = list(values)
    for i in range(1, len(values)):
        current = values[i]
        j = i - 1
        while j >= 0 and values[j] > current:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = current
    return values


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(42)
    data = [rng.random() for _ in range(n)]
    result = insertion_sort(data)
    assert all(a <= b for a, b in zip(result, result[1:]))


if __name__ == "__main__":
    main()
