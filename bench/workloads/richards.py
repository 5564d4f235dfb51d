"""Object-heavy and recursive: build and walk binary trees of objects
(allocation, method calls, recursion), plus a recursive permutation
search. Usage: richards.py [ROUNDS]"""
import sys


class Node:
    __slots__ = ("left", "right", "value")

    def __init__(self, left, right, value):
        self.left = left
        self.right = right
        self.value = value

    def check(self):
        if self.left is None:
            return self.value
        return self.value + self.left.check() - self.right.check()

    def depth(self):
        if self.left is None:
            return 1
        return 1 + max(self.left.depth(), self.right.depth())


def make(depth, value=0):
    if depth == 0:
        return Node(None, None, value)
    return Node(make(depth - 1, 2 * value - 1), make(depth - 1, 2 * value),
                value)


class Queens:
    def __init__(self, n):
        self.n = n
        self.solutions = 0

    def place(self, row, cols, diag1, diag2):
        if row == self.n:
            self.solutions += 1
            return
        for c in range(self.n):
            if c in cols or (row + c) in diag1 or (row - c) in diag2:
                continue
            cols.add(c)
            diag1.add(row + c)
            diag2.add(row - c)
            self.place(row + 1, cols, diag1, diag2)
            cols.discard(c)
            diag1.discard(row + c)
            diag2.discard(row - c)


def main(rounds):
    total = 0
    for r in range(rounds):
        tree = make(14, r)
        total += tree.check() + tree.depth()
        q = Queens(7)
        q.place(0, set(), set(), set())
        total += q.solutions
    print(total)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
