"""Runs a Python script under tracemalloc and prints, on stdout, the peak of
the memory it traced, in bytes: the true peak of the Python heap for
bench/mem_overhead.py, and tracemalloc's own row there.

tracemalloc hooks the raw, mem and object allocator domains and records
every allocation made through them, without sampling, so its peak is exact
(for the Python heap from tracemalloc.start() on; memory that C code gets
from malloc directly is not seen). Started with one frame per traceback,
its fastest setting.

Usage: tracemalloc_peak.py SCRIPT [ARGS...]
"""
import runpy
import sys
import tracemalloc


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tracemalloc_peak.py SCRIPT [ARGS...]")
    sys.argv = sys.argv[1:]
    tracemalloc.start(1)
    runpy.run_path(sys.argv[0], run_name="__main__")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(peak)


if __name__ == "__main__":
    main()
