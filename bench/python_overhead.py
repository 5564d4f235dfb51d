#!/usr/bin/python3
"""What plumb.bench's timing loop adds to a call, against timeit and a bare
Python loop, and what @plumb.timed and plumb.timer add to a call, against a
bare call and a hand-written Python timing decorator, in one run.

For each callable (an empty function, len('abc'), sorted() of 1000 floats)
this measures, in R rounds whose order is shuffled each round so that the
machine's drift hits every method alike:

  - plumb.bench(fn): the median time per call (its C loop calls fn through
    PyObject_Vectorcall), and overhead_ns, the same loop's time per call of
    a C function that does nothing (plumb reports it, as timeit includes its
    own loop, and does not subtract it);
  - timeit: Timer(fn).autorange() then repeat(5) of that many calls, the
    best and the median per call (timeit's documentation advises the best);
  - a bare loop, `for _ in range(n): fn()`, timed with perf_counter_ns: what
    a hand-written measurement costs.

Each figure is the median over the rounds, with the rounds' range. The
empty function's row is the harness cost: the smaller the figure, the less
a method adds to what it measures.

Then the always-on timers, each called in the same bare loop (and with
timeit's best, a second method), in shuffled order each round: an empty
function bare; the same under @plumb.timed; under a Python decorator that
does what people write by hand (perf_counter_ns around the call, the
duration appended to a list); and a function whose body is `with
plumb.timer(name): pass`. The cost of a timer is its time per call minus
the bare call's, in the same round.

Usage: PYTHONPATH=python /usr/bin/python3 bench/python_overhead.py
           [--rounds 7] [--budget 0.5]
(`make python-ext PYTHON=/usr/bin/python3` builds the extension first.)
"""
import argparse
import os
import random
import statistics
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

try:
    import plumb
except ImportError as e:
    sys.exit(f"python_overhead.py: cannot import plumb ({e}); run "
             f"`make python-ext PYTHON={sys.executable}` first")


def empty():
    pass


def length():
    return len("abc")


DATA = [random.Random(1).random() for _ in range(1000)]


def sort():
    return sorted(DATA)


CALLABLES = [("empty function", empty), ("return len('abc')", length),
             ("sorted(1000 floats)", sort)]


timed_empty = plumb.timed(name="bench.timed")(empty)
HAND_DURATIONS = []


def hand_timed(fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            HAND_DURATIONS.append(time.perf_counter_ns() - start)
    return wrapper


hand_empty = hand_timed(empty)


def timer_block():
    with plumb.timer("bench.block"):
        pass


TIMERS = [("bare call", empty), ("@plumb.timed", timed_empty),
          ("Python decorator", hand_empty), ("with plumb.timer", timer_block)]


def with_plumb(fn, budget):
    r = plumb.bench(fn, budget=budget)
    return r.median_ns, r.overhead_ns


def with_timeit(fn):
    t = timeit.Timer(fn)
    number, _ = t.autorange()
    runs = [x / number * 1e9 for x in t.repeat(repeat=5, number=number)]
    return min(runs), statistics.median(runs)


def with_bare_loop(fn):
    n = 1000
    while True:  # calls enough for 0.2 s, as timeit's autorange does
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        took = time.perf_counter_ns() - start
        if took >= 200_000_000:
            return took / n
        n *= 2


def fmt(values):
    med = statistics.median(values)
    return f"{med:9.1f} [{min(values):.1f}-{max(values):.1f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--budget", type=float, default=0.5,
                    help="plumb.bench's time budget per measurement (s)")
    args = ap.parse_args()
    print(f"plumb.bench's loop against timeit and a bare loop · plumb "
          f"{plumb.__version__} · Python {sys.version.split()[0]} "
          f"({sys.executable}) · {os.cpu_count()} CPUs · load "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{args.rounds} rounds, methods in a random order each round; "
          "ns per call: median over rounds [range]\n")
    rng = random.Random(2026)
    results = {name: {"plumb": [], "plumb loop": [], "timeit best": [],
                      "timeit median": [], "bare loop": []}
               for name, _ in CALLABLES}
    for _ in range(args.rounds):
        for name, fn in CALLABLES:
            methods = ["plumb", "timeit", "bare"]
            rng.shuffle(methods)
            for m in methods:
                r = results[name]
                if m == "plumb":
                    med, loop = with_plumb(fn, args.budget)
                    r["plumb"].append(med)
                    r["plumb loop"].append(loop)
                elif m == "timeit":
                    best, med = with_timeit(fn)
                    r["timeit best"].append(best)
                    r["timeit median"].append(med)
                else:
                    r["bare loop"].append(with_bare_loop(fn))
    columns = ["plumb", "plumb loop", "timeit best", "timeit median",
               "bare loop"]
    print(f"{'callable':<20}" + "".join(f"{c:>24}" for c in columns))
    for name, _ in CALLABLES:
        print(f"{name:<20}" +
              "".join(f"{fmt(results[name][c]):>24}" for c in columns))
    e = results["empty function"]
    print(f"\nan empty function: plumb.bench {statistics.median(e['plumb']):.1f}"
          f" ns per call (its loop alone {statistics.median(e['plumb loop']):.1f}"
          f" ns), timeit {statistics.median(e['timeit best']):.1f} ns at best,"
          f" a bare loop {statistics.median(e['bare loop']):.1f} ns")
    timers(args.rounds, rng)


def timers(rounds, rng):
    print(f"\nalways-on timers: {rounds} rounds, in a random order each "
          "round; ns per call: median over rounds [range]; added: minus the "
          "bare call of the same round\n")
    loop = {name: [] for name, _ in TIMERS}
    best = {name: [] for name, _ in TIMERS}
    for _ in range(rounds):
        order = list(TIMERS)
        rng.shuffle(order)
        for name, fn in order:
            loop[name].append(with_bare_loop(fn))
            best[name].append(with_timeit(fn)[0])
            HAND_DURATIONS.clear()
    columns = ["bare loop", "added", "timeit best", "added"]
    print(f"{'':<20}" + "".join(f"{c:>24}" for c in columns))
    added = {}
    for name, _ in TIMERS:
        a_loop = [x - b for x, b in zip(loop[name], loop["bare call"])]
        a_best = [x - b for x, b in zip(best[name], best["bare call"])]
        added[name] = statistics.median(a_loop)
        print(f"{name:<20}" + "".join(f"{fmt(v):>24}" for v in
                                      (loop[name], a_loop, best[name],
                                       a_best)))
    print(f"\n@plumb.timed adds {added['@plumb.timed']:.1f} ns to a call "
          f"(bare loop), a Python timing decorator "
          f"{added['Python decorator']:.1f} ns, `with plumb.timer` "
          f"{added['with plumb.timer']:.1f} ns; records kept: "
          f"{plumb.stats('bench.timed').count:,} timed calls in fixed memory")


if __name__ == "__main__":
    main()
