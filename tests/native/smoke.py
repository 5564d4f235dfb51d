"""The native shim under a real CPython, and NumPy where this Python has it.

Run with the shim preloaded (`make native-test` runs it for every Python):

    LD_PRELOAD=build/libplumb-native.so python3 tests/native/smoke.py \\
        build/test-native-counter.so

It sets hooks written in C (tests/native/counter.c, through ctypes) and
checks that NumPy's array buffer and an anonymous mmap are reported with
their sizes and then freed, that threads and fork run normally while the
hooks are set, and that nothing is reported once they are cleared. Prints
`N passed, N failed, N skipped` and exits non-zero on a failure.
"""
import ctypes
import mmap
import os
import sys
import threading
import warnings

ALL_ALLOCS, ALL_FREES, WATCHED_ALLOCS, WATCHED_FREES, WATCHED_LOST = range(5)

if len(sys.argv) != 2:
    sys.exit("usage: smoke.py COUNTER_LIBRARY")
counter = ctypes.CDLL(sys.argv[1])
counter.counter_start.argtypes = [ctypes.c_size_t]
counter.counter_get.restype = ctypes.c_long
counter.counter_get.argtypes = [ctypes.c_int]


class Skip(Exception):
    pass


def start(watched_size=0):
    if counter.counter_start(watched_size) != 0:
        raise AssertionError("plumb_native_set_hooks not found: run with "
                             "LD_PRELOAD=build/libplumb-native.so")


def counts():
    return [counter.counter_get(i) for i in range(5)]


def numpy_buffer():
    try:
        import numpy
    except ImportError:
        raise Skip("no NumPy for this Python")
    n = 10_000_000
    start(n * 8)
    a = numpy.zeros(n)
    total = float(a.sum())
    del a
    counter.counter_stop()
    c = counts()
    assert total == 0.0, total
    assert c[WATCHED_ALLOCS] == 1, f"{c[WATCHED_ALLOCS]} allocations of {n * 8} bytes"
    assert c[WATCHED_FREES] == 1, f"{c[WATCHED_FREES]} frees of the array's buffer"


def anonymous_mmap():
    size = 12_345_678
    start(size)
    m = mmap.mmap(-1, size)
    m[size - 1] = 7
    assert m[size - 1] == 7
    m.close()
    counter.counter_stop()
    c = counts()
    assert c[WATCHED_ALLOCS] == 1, f"{c[WATCHED_ALLOCS]} mappings of {size} bytes"
    assert c[WATCHED_FREES] == 1, f"{c[WATCHED_FREES]} munmaps of the mapping"


def work(n):
    blocks = [bytes(i % 5000) for i in range(n)]
    text = "".join(str(len(b)) for b in blocks)
    return len(text)


def threads_and_fork():
    start()
    results = []
    threads = [threading.Thread(target=lambda: results.append(work(20_000)))
               for _ in range(4)]
    for t in threads:
        t.start()
    with warnings.catch_warnings():  # 3.12+: fork() with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os._exit(0 if work(20_000) == work(20_000) else 1)
    for t in threads:
        t.join()
    _, status = os.waitpid(pid, 0)
    counter.counter_stop()
    c = counts()
    assert len(set(results)) == 1 and len(results) == 4, results
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert c[ALL_ALLOCS] > 0 and c[ALL_FREES] > 0, c


def silent_without_hooks():
    start()
    counter.counter_stop()
    before = counts()
    work(10_000)
    m = mmap.mmap(-1, 1 << 20)
    m.close()
    assert counts() == before, (before, counts())


def main():
    tests = [numpy_buffer, anonymous_mmap, threads_and_fork, silent_without_hooks]
    passed = failed = skipped = 0
    version = "%d.%d.%d" % sys.version_info[:3]
    for test in tests:
        try:
            test()
        except Skip as e:
            skipped += 1
            print(f"SKIP {test.__name__} ({version}): {e}")
        except AssertionError as e:
            failed += 1
            counter.counter_stop()
            print(f"FAIL {test.__name__} ({version}): {e}")
        else:
            passed += 1
            print(f"ok   {test.__name__} ({version})")
    print(f"{passed} passed, {failed} failed, {skipped} skipped ({sys.executable})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
