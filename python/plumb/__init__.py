"""plumb: time Python callables and prove a difference with statistics.

    plumb.bench(fn, *args, **kwargs)                 -> Result
    plumb.compare(baseline, candidate, args=(...))   -> Comparison
    plumb.complexity(fn, sizes=[...], make_input=f)  -> Fit
    @plumb.timed / with plumb.timer("name")          per-call statistics
    plumb.stats()                                    -> StatsTable

The timing loops, the statistics and the wording of the figures come from
libplumb, the C library under the `plumb` command-line tool, through the
extension plumb._core: a comparison here reaches its verdict with the same
code as `plumb bench`. `python -m plumb ...` runs that tool.

bench and compare keep their results in the tool's store when asked
(store=True or a path), for `plumb runs`, `plumb show` and `plumb compare`;
the pytest plugin (plumb.pytest_plugin, the `plumb_bench` fixture) stores
every benchmarked test and compares it with its previous result.
"""
from ._bench import Result, bench
from ._compare import Comparison, Comparisons, compare
from ._complexity import Crossover, Fit, Fits, complexity
from ._core import VERSION as __version__
from ._measure import DEFAULT_SEED, CallError
from ._store import StoreError
from ._timing import StatsTable, TimerStats, stats, timed, timer

__all__ = [
    "CallError",
    "Comparison",
    "Comparisons",
    "Crossover",
    "DEFAULT_SEED",
    "Fit",
    "Fits",
    "Result",
    "StatsTable",
    "StoreError",
    "TimerStats",
    "bench",
    "compare",
    "complexity",
    "stats",
    "timed",
    "timer",
]
