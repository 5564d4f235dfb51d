"""A smoke test for interpreters without pytest (make python-smoke runs it
on pyenv's 3.12 and 3.13): import the in-tree extension and call each
function once, failing loudly when a figure is wrong."""
import os
import sys
import tempfile

import plumb


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def twice(n):
    return work(n) + work(n)


def main():
    r = plumb.bench(work, 1000, samples=5)
    assert r.n == 5 and r.median_ns > 0 and r.ci_low_ns <= r.median_ns
    c = plumb.compare(work, twice, args=(2000,), samples=10)
    assert c.verdict == "slower", c
    fit = plumb.complexity(work, sizes=[1000, 10000, 100000], samples=3)
    assert fit.order in plumb._core.ORDERS
    timed = plumb.timed(name="smoke.work")(work)
    assert [timed(10) for _ in range(100)] == [45] * 100
    with plumb.timer("smoke.work"):
        work(10)
    st = plumb.stats(timed)
    assert st.count == 101 and 0 < st.min <= st.p50 <= st.max, st
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "smoke.db")
        stored = plumb.bench(work, 100, samples=3, store=db)
        back = plumb._core.store_load(db, stored.run_id)
        assert back["loops"] == stored.loops and len(back["loop_ns"]) == 3
        assert plumb._core.store_find(db, "work") == stored.run_id
    with plumb.profile(rate=2000) as p:
        for _ in range(200):
            work(10000)
    assert p.samples > 0 and p.python.startswith(
        "CPython %d.%d." % sys.version_info[:2]), p
    assert ";work (" in p.collapsed() and str(p).startswith("plumb profile")
    with plumb.memory() as m:
        held = hold(100_000)
        del held
    truth = 100_000 * len(bytes(1000)) + 100_000 * 33
    assert abs(m.peak_bytes / truth - 1) < 0.05, (m.peak_bytes, truth)
    top = m.top("peak", "line")[0]
    assert top.file == __file__ and top.function.endswith(
        ("hold", "<listcomp>")), top
    print(f"plumb {plumb.__version__} on Python {sys.version.split()[0]}: "
          f"{r!r}; {c!r}; {fit!r}; {st!r}; {p!r}; {m!r}")


def hold(n):
    return [bytes(1000) for _ in range(n)]


if __name__ == "__main__":
    main()
