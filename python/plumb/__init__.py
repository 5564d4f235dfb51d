"""plumb: time Python callables and prove a difference with statistics.

    plumb.bench(fn, *args, **kwargs)                 -> Result
    plumb.compare(baseline, candidate, args=(...))   -> Comparison
    plumb.complexity(fn, sizes=[...], make_input=f)  -> Fit
    @plumb.timed / with plumb.timer("name")          per-call statistics
    plumb.stats()                                    -> StatsTable
    with plumb.profile() as p: ...                   -> Profile (print(p))
    with plumb.memory() as m: ...                    -> Memory (print(m))
    with plumb.sql.trace() as t: ...                 -> t.report() (print)

The timing loops, the statistics and the wording of the figures come from
libplumb, the C library under the `plumb` command-line tool, through the
extension plumb._core: a comparison here reaches its verdict with the same
code as `plumb bench`, and plumb.profile samples this process with the
sampler of `plumb profile` (on a thread of its own that the profile never
shows), printing its summary and writing its formats (collapsed stacks,
speedscope, JSON). `python -m plumb ...` runs that tool.

bench and compare keep their results in the tool's store when asked
(store=True or a path), for `plumb runs`, `plumb show` and `plumb compare`;
the pytest plugin (plumb.pytest_plugin, the `plumb_bench` fixture) stores
every benchmarked test and compares it with its previous result.
"""
from ._bench import Result, bench
from ._compare import Comparison, Comparisons, MemoryComparison, compare
from ._complexity import Crossover, Fit, Fits, complexity
from ._core import VERSION as __version__
from ._measure import DEFAULT_SEED, CallError
from ._store import StoreError
from ._timing import StatsTable, TimerStats, stats, timed, timer
from ._profile import Profile, ProfileError, ProfileThread, profile
from ._memory import Memory, MemoryLine, MemoryRecordError, memory
from . import sql

__all__ = [
    "CallError",
    "Comparison",
    "Comparisons",
    "Crossover",
    "DEFAULT_SEED",
    "Fit",
    "Fits",
    "Memory",
    "MemoryComparison",
    "MemoryLine",
    "MemoryRecordError",
    "Profile",
    "ProfileError",
    "ProfileThread",
    "Result",
    "StatsTable",
    "StoreError",
    "TimerStats",
    "bench",
    "compare",
    "complexity",
    "memory",
    "profile",
    "sql",
    "stats",
    "timed",
    "timer",
]
