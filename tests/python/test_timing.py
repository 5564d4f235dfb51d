"""plumb.timed, plumb.timer and plumb.stats: counts, errors, durations
against an outside clock, quantiles against exact order statistics,
binding as methods, wrappers' metadata, threads, coroutines, and the
errors a user can cause."""
import asyncio
import inspect
import math
import random
import threading
import time

import pytest

import plumb
from plumb import _core


def test_counts_calls_and_errors_and_keeps_results():
    @plumb.timed
    def half(x):
        if x < 0:
            raise ValueError("negative")
        return x / 2

    assert [half(x) for x in range(100)] == [x / 2 for x in range(100)]
    for _ in range(3):
        with pytest.raises(ValueError, match="negative"):
            half(-1)
    st = plumb.stats(half)
    assert st.count == 103
    assert st.errors == 3
    assert st.name == f"{__name__}.{half.__qualname__}"
    assert "(3 raised)" in repr(st)


def test_durations_agree_with_an_outside_clock():
    @plumb.timed(name="test_timing.sleeper")
    def sleeper(seconds):
        time.sleep(seconds)

    outside = []
    for _ in range(20):
        t0 = time.perf_counter()
        sleeper(0.002)
        outside.append(time.perf_counter() - t0)
    st = plumb.stats("test_timing.sleeper")
    assert st.count == 20
    # each recorded call lies inside the outside measurement of it
    assert st.min >= 0.002
    assert st.total <= sum(outside)
    assert st.total >= 0.95 * sum(outside)
    assert st.max <= max(outside)
    assert st.min <= st.p50 <= st.p90 <= st.p99 <= st.max
    assert math.isclose(st.mean, st.total / 20, rel_tol=1e-9)


def test_quantiles_within_the_histogram_bound():
    rng = random.Random(7)
    values = [int(math.exp(rng.uniform(math.log(50), math.log(5e9))))
              for _ in range(5000)]
    s = _core.Stats("test_timing.quantiles")
    for v in values:
        s.record(v)
    qs = [0.01, 0.5, 0.9, 0.99, 0.999]
    snap = s.snapshot(quantiles=qs)
    ordered = sorted(values)
    for q, got in zip(qs, snap["quantiles_ns"]):
        exact = ordered[math.ceil(q * len(values)) - 1]
        assert abs(got - exact) <= exact / 128 + 0.5, (q, got, exact)
    assert snap["count"] == 5000
    assert snap["sum_ns"] == sum(values)
    assert snap["min_ns"] == ordered[0] and snap["max_ns"] == ordered[-1]
    with pytest.raises(ValueError, match="between 0 and 1"):
        s.snapshot(quantiles=[1.5])


def test_binds_as_a_method_and_keeps_metadata():
    class Account:
        def __init__(self):
            self.balance = 0

        @plumb.timed
        def deposit(self, amount, *, note=""):
            """Adds amount."""
            self.balance += amount
            return self.balance

        @classmethod
        @plumb.timed
        def make(cls):
            return cls()

    a = Account.make()
    assert a.deposit(5) == 5
    assert a.deposit(amount=2, note="x") == 7
    assert Account.deposit(a, 1) == 8
    st = plumb.stats(Account.deposit)
    assert st.count == 3
    assert plumb.stats(f"{__name__}.{Account.make.__qualname__}").count == 1
    assert Account.deposit.__name__ == "deposit"
    assert Account.deposit.__doc__ == "Adds amount."
    assert str(inspect.signature(Account.deposit)) == \
        "(self, amount, *, note='')"
    assert Account.deposit.__wrapped__.__name__ == "deposit"


def test_timer_blocks_nesting_and_errors():
    name = "test_timing.block"
    with plumb.timer(name) as outer:
        assert outer.elapsed is None
        with plumb.timer(name):
            time.sleep(0.001)
    assert outer.elapsed >= 0.001
    with pytest.raises(KeyError):
        with plumb.timer(name):
            raise KeyError("inside")
    st = plumb.stats(name)
    assert st.count == 3
    assert st.errors == 1
    t = plumb.timer(name)
    with t:
        with pytest.raises(RuntimeError, match="already running"):
            t.__enter__()
    with pytest.raises(RuntimeError, match="not entered"):
        plumb.timer(name).__exit__(None, None, None)


def test_stats_reset_and_table():
    @plumb.timed(name="test_timing.reset")
    def work():
        return sum(range(1000))

    for _ in range(10):
        work()
    assert plumb.stats("test_timing.reset", reset=True).count == 10
    assert plumb.stats("test_timing.reset").count == 0
    assert "0 calls" in repr(plumb.stats("test_timing.reset"))
    with plumb.timer("test_timing.big"):
        time.sleep(0.01)
    table = plumb.stats()
    assert isinstance(table, plumb.StatsTable)
    names = list(table)
    # the most total time first
    assert names.index("test_timing.big") < names.index("test_timing.reset")
    text = str(table)
    assert text.splitlines()[0].split() == ["name", "calls", "total", "mean",
                                            "p50", "p90", "p99", "max",
                                            "raised"]
    assert any(line.startswith("test_timing.big") for line in
               text.splitlines())


def test_threads_lose_no_call():
    @plumb.timed(name="test_timing.threads")
    def tick():
        return 1

    def run():
        for _ in range(5000):
            tick()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert plumb.stats("test_timing.threads").count == 20000


def test_coroutines_are_timed_until_they_finish():
    @plumb.timed(name="test_timing.async")
    async def fetch(delay):
        await asyncio.sleep(delay)
        return delay

    async def main():
        return await asyncio.gather(*(fetch(0.01) for _ in range(5)))

    assert asyncio.run(main()) == [0.01] * 5
    st = plumb.stats("test_timing.async")
    assert st.count == 5
    assert st.min >= 0.01
    assert inspect.iscoroutinefunction(fetch)
    assert plumb.stats(fetch).count == 5


def test_errors_a_user_can_cause():
    def gen():
        yield 1

    with pytest.raises(TypeError, match="generator function"):
        plumb.timed(gen)
    with pytest.raises(TypeError, match="not callable"):
        plumb.timed(42)
    with pytest.raises(TypeError, match="non-empty str"):
        plumb.timed(name="")(len)
    with pytest.raises(TypeError, match="non-empty str"):
        plumb.timer(None)
    with pytest.raises(KeyError, match="no timer named 'test_timing.none'"):
        plumb.stats("test_timing.none")
    with pytest.raises(TypeError, match="neither a name nor"):
        plumb.stats(len)


def test_one_name_shared_by_functions_and_blocks():
    name = "test_timing.shared"

    @plumb.timed(name=name)
    def a():
        pass

    @plumb.timed(name=name)
    def b():
        pass

    a()
    b()
    with plumb.timer(name):
        pass
    assert plumb.stats(name).count == 3


def _wait(seconds):
    time.sleep(seconds)


def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _background_spin(stop):
    while not stop.is_set():
        sum(range(100))


def test_slow_calls_are_profiled_past_the_threshold():
    @plumb.timed(name="test_timing.slow", profile_slower_than="40ms")
    def handler(slow):
        if slow:
            _wait(0.06)   # 20 ms of it past the threshold
            _spin(0.06)   # all of it past the threshold
        return slow

    stop = threading.Event()
    other = threading.Thread(target=_background_spin, args=(stop,))
    other.start()
    try:
        for i in range(100):
            handler(i % 20 == 0)
    finally:
        stop.set()
        other.join()
    st = plumb.stats("test_timing.slow")
    assert st.count == 100
    assert st.slow_calls == 5
    assert st.slower_than == pytest.approx(0.04)
    p = st.slow_profile
    assert p is not None and p.mode == "wall" and p.samples > 0
    text = p.collapsed()
    counts = {}
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        for fn in ("_wait", "_spin", "_background_spin"):
            if f";{fn} (" in stack:
                counts[fn] = counts.get(fn, 0) + int(n)
    # only the slow calls' thread, and only past the threshold: about
    # 20 ms waiting for 60 ms spinning in each
    assert "_background_spin" not in counts
    share = counts["_spin"] / (counts["_spin"] + counts["_wait"])
    assert 0.6 < share < 0.9, (share, counts)
    assert "5 slower than 40.00 ms, profiled" in repr(st)
    assert plumb.stats("test_timing.slow", reset=True).slow_profile
    assert plumb.stats("test_timing.slow").slow_profile is None


def test_calls_in_time_are_never_profiled():
    @plumb.timed(name="test_timing.fast", profile_slower_than=0.5)
    def quick(n):
        return sum(range(n))

    for _ in range(1000):
        quick(100)
    st = plumb.stats("test_timing.fast")
    assert st.count == 1000 and st.slow_calls == 0
    assert st.slow_profile is None
    assert "0 slower than 500.0 ms" in repr(st)


def test_a_watched_call_inside_another_is_covered_by_it():
    @plumb.timed(name="test_timing.nested", profile_slower_than="10ms")
    def nested(depth):
        if depth:
            return nested(depth - 1)
        _spin(0.03)

    nested(3)
    st = plumb.stats("test_timing.nested")
    assert st.count == 4 and st.slow_calls == 4
    p = st.slow_profile
    assert p is not None
    # one sampler (the outermost call's), so one thread's stacks
    assert p.threads_seen == 1


def test_a_fork_during_watched_calls_does_not_hang():
    import os

    @plumb.timed(name="test_timing.fork", profile_slower_than="10ms")
    def slow():
        _spin(0.03)

    slow()
    pid = os.fork()
    if pid == 0:
        try:
            slow()  # a new watchdog in the child
            ok = plumb.stats("test_timing.fork").slow_calls == 2
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    slow()
    assert plumb.stats("test_timing.fork").slow_calls == 2


def test_profile_slower_than_errors():
    for bad in ("fast", "0ms", 0, -1, "5 parsecs", True, [1]):
        with pytest.raises(ValueError, match="profile_slower_than is a "
                                             "duration"):
            plumb.timed(profile_slower_than=bad)

    async def coro():
        pass

    with pytest.raises(TypeError, match="coroutine function"):
        plumb.timed(profile_slower_than="1s")(coro)
    assert plumb.timed(profile_slower_than="1.5 s")
    assert plumb.timed(profile_slower_than="200us")
    assert plumb.timed(profile_slower_than="200µs")
