"""Sorts n random numbers with merge sort: O(n log n) comparisons.

The improved program of plumb's demo: `python3 fast.py N`. Same input and
result as slow.py; only the algorithm changes.
"""
import random
import sys


def merge_sort(values):
    if len(values) <= 1:
        return list(values)
    middle = len(values) // 2
    left = merge_sort(values[:middle])
    right = merge_sort(values[middle:])
    merged = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(42)
    data = [rng.random() for _ in range(n)]
    result = merge_sort(data)
    assert all(a <= b for a, b in zip(result, result[1:]))


if __name__ == "__main__":
    main()
