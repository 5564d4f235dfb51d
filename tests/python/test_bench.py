"""plumb.bench: calibration, sample counts, setup, gc, the statistics of
the result and its repr, and the errors a user meets."""
import gc
import re
import time
import timeit

import pytest

import plumb
from workloads import work

ROUND_LOOPS = {m * 10**k for k in range(13) for m in (1, 2, 5)}
REPR = re.compile(r"^\d+(\.\d+)? (ns|µs|ms|s) ± \d+(\.\d+)? (ns|µs|ms|s) "
                  r"\(median, \d+% CI; \d+ × \d{1,3}( \d{3})* loops\)$")


def test_calibration_makes_every_sample_last_10_ms():
    # time.sleep never sleeps less than asked, so 20 calls of 0.5 ms always
    # reach 10 ms: calibration needs no more than 20 (50 once its safety
    # margin rounds up past 20), and more than 1 unless one call was
    # stretched to 10 ms twice in a row
    r = plumb.bench(time.sleep, 0.0005, budget=0.3)
    assert r.loops in ROUND_LOOPS and 2 <= r.loops <= 50
    assert min(r.samples_ns) * r.loops >= r.loops * 0.5e6
    # a CPU-bound call: the calibrated sample lasted 10 ms; later ones may
    # run faster when the machine speeds up (this VM's speed changes by up
    # to 1.6x), but not by the 1000x a missing calibration would give
    r = plumb.bench(work, 50, budget=0.2)
    assert r.loops in ROUND_LOOPS and r.loops > 1
    assert r.median_ns * r.loops >= 0.4e7
    assert r.n == len(r.samples_ns) >= 10


def test_statistics_are_consistent():
    r = plumb.bench(work, 200, samples=25)
    assert r.n == 25
    s = sorted(r.samples_ns)
    assert r.min_ns == s[0] and r.max_ns == s[-1]
    assert r.median_ns == pytest.approx((s[12]), rel=1e-12)
    assert r.ci_low_ns <= r.median_ns <= r.ci_high_ns
    assert r.ci_level >= 0.95
    assert r.min_ns <= r.p5_ns <= r.median_ns <= r.p95_ns <= r.max_ns
    assert 0 < r.overhead_ns < r.median_ns


def test_time_agrees_with_a_sleep_and_with_timeit():
    r = plumb.bench(time.sleep, 0.002, loops=1, samples=5, warmup=0)
    assert r.loops == 1
    assert 2e6 <= r.median_ns < 2e6 + 5e6  # sleep oversleeps, never under
    data = list(range(2000, 0, -1))
    r = plumb.bench(sorted, data, budget=0.3)
    number = 1000
    best = min(timeit.repeat(lambda: sorted(data), number=number, repeat=5))
    timeit_ns = best / number * 1e9
    assert 0.5 * timeit_ns < r.median_ns < 2 * timeit_ns


def test_fixed_loops_samples_warmup_and_setup_per_sample():
    calls = []
    setups = []
    r = plumb.bench(lambda: calls.append(1), setup=lambda: setups.append(1),
                    loops=7, samples=4, warmup=2)
    assert r.loops == 7 and r.n == 4
    assert len(calls) == 7 * (2 + 4)
    assert len(setups) == 2 + 4


def test_setup_runs_before_each_sample_and_is_not_timed():
    state = {"fresh": 0}

    def setup():
        time.sleep(0.003)  # slow, but outside the timing
        state["fresh"] = 1

    def fn():
        assert state["fresh"] == 1
        state["fresh"] = 0

    r = plumb.bench(fn, setup=setup, loops=1, samples=5)
    assert r.median_ns < 1e6  # a few µs at most, not the 3 ms of setup


def test_arguments_and_keyword_arguments_are_passed():
    seen = []
    plumb.bench(lambda a, b=0: seen.append((a, b)), 1, b=2, loops=1,
                samples=2, warmup=0)
    assert seen == [(1, 2), (1, 2)]


def test_gc_off_while_measuring_and_restored():
    states = []
    plumb.bench(lambda: states.append(gc.isenabled()), gc=False, loops=1,
                samples=2, warmup=0)
    assert states == [False, False]
    assert gc.isenabled()
    states.clear()
    plumb.bench(lambda: states.append(gc.isenabled()), loops=1, samples=2,
                warmup=0)
    assert states == [True, True]


def test_budget_bounds_the_time_spent():
    start = time.monotonic()
    r = plumb.bench(work, 100, budget=0.2, min_samples=3)
    elapsed = time.monotonic() - start
    assert r.n >= 3
    assert elapsed < 1.5
    r = plumb.bench(work, 100, budget=60, min_samples=3, max_samples=5)
    assert r.n == 5


def test_repr_is_one_line_with_median_ci_and_counts():
    r = plumb.bench(work, 100, samples=30, loops=10000)
    text = repr(r)
    assert REPR.match(text), text
    assert "(median, 95% CI; 30 × 10 000 loops)" in text
    assert str(r) == text


def test_overhead_warning_for_a_trivial_call():
    r = plumb.bench(len, "abc", budget=0.1)
    assert r.overhead_ns > 0
    assert any("harness's own time" in w for w in r.warnings)
    assert not plumb.bench(work, 1000, budget=0.1).warnings


def test_errors_name_the_problem_and_the_fix():
    with pytest.raises(TypeError, match=r"fn must be callable.*plumb.bench\(f, x\)"):
        plumb.bench(42)
    with pytest.raises(TypeError, match="setup must be callable"):
        plumb.bench(work, 1, setup="nope")

    def broken(x):
        return 1 / x

    with pytest.raises(plumb.CallError, match=r"broken raised ZeroDivisionError") as e:
        plumb.bench(broken, 0)
    assert isinstance(e.value.__cause__, ZeroDivisionError)

    def bad_setup():
        raise OSError("no fixture")

    with pytest.raises(plumb.CallError, match=r"the setup of work raised OSError: no fixture"):
        plumb.bench(work, 1, setup=bad_setup)
    with pytest.raises(ValueError, match="budget must be a positive number"):
        plumb.bench(work, 1, budget=0)
    with pytest.raises(ValueError, match="samples must be a whole number >= 2"):
        plumb.bench(work, 1, samples=1)
    with pytest.raises(ValueError, match="max_samples"):
        plumb.bench(work, 1, min_samples=10, max_samples=5)
    with pytest.raises(ValueError, match="loops"):
        plumb.bench(work, 1, loops=-1)


def test_a_failure_after_some_calls_is_reported():
    count = {"n": 0}

    def fails_on_the_100th_call():
        count["n"] += 1
        if count["n"] == 100:
            raise KeyError("late")

    with pytest.raises(plumb.CallError, match="KeyError"):
        plumb.bench(fails_on_the_100th_call, budget=0.2)


def test_keyboard_interrupt_passes_through_unwrapped():
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        plumb.bench(interrupted)
