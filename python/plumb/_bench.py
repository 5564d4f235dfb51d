"""plumb.bench: the time of one call of a callable, with the statistics of
`plumb bench` (median and its distribution-free 95% CI, spread, outliers),
from samples that the C loop of plumb._core takes."""
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from . import _core, _store
from ._measure import (DEFAULT_SEED, check_callable, check_options, describe,
                       measure)

# The harness's own time per call should stay below this share of the time
# measured, or the figure is mostly harness.
OVERHEAD_SHARE = 0.1


def _loops_text(loops: int) -> str:
    return f"{loops:,}".replace(",", " ")


class Result:
    """The time per call of one callable, in ns, from `samples_ns` (each the
    time of one sample divided by its `loops` calls). `overhead_ns` is the
    harness's own time per call (the same C loop calling a function that
    does nothing, with the same arguments); it is part of every figure, as
    in timeit, and is not subtracted.

    A stored result (store=) knows where it went: `run_id` and
    `session_id` in the store at `store` (`plumb show RUN_ID` prints it);
    all three are None for a result that was not stored."""

    __slots__ = ("name", "loops", "samples_ns", "n", "median_ns",
                 "ci_low_ns", "ci_high_ns", "ci_level", "mean_ns",
                 "stddev_ns", "mad_ns", "min_ns", "max_ns", "p5_ns", "p95_ns",
                 "outliers", "overhead_ns", "warnings", "run_id",
                 "session_id", "store")

    def __init__(self, name: str, loops: int, samples_ns: Sequence[float],
                 overhead_ns: float) -> None:
        s: Dict[str, Any] = _core.summarize(samples_ns)
        self.name = name
        self.loops = loops
        self.samples_ns: Tuple[float, ...] = tuple(samples_ns)
        self.n: int = s["n"]
        self.median_ns: float = s["median"]
        self.ci_low_ns: float = s["median_ci_low"]
        self.ci_high_ns: float = s["median_ci_high"]
        self.ci_level: float = s["median_ci_level"]
        self.mean_ns: float = s["mean"]
        self.stddev_ns: float = s["stddev"]
        self.mad_ns: float = s["mad"]
        self.min_ns: float = s["min"]
        self.max_ns: float = s["max"]
        self.p5_ns: float = s["p5"]
        self.p95_ns: float = s["p95"]
        self.outliers: int = s["outliers"]
        self.overhead_ns = overhead_ns
        self.run_id: Optional[int] = None
        self.session_id: Optional[int] = None
        self.store: Optional[str] = None
        warnings = []
        if overhead_ns > OVERHEAD_SHARE * self.median_ns:
            warnings.append(
                f"{name}: the harness's own time, "
                f"{_core.format_ns(overhead_ns)} per call, is "
                f"{overhead_ns / self.median_ns:.0%} of the "
                f"{_core.format_ns(self.median_ns)} measured (it is "
                f"included, as in timeit); time a bigger piece of work per "
                f"call for a figure that is mostly your code")
        self.warnings: Tuple[str, ...] = tuple(warnings)

    @property
    def ci_level_percent(self) -> int:
        """The level the repr names: 95, or the lower coverage that too few
        samples allow."""
        return 95 if self.ci_level >= 0.95 else int(self.ci_level * 100)

    def __repr__(self) -> str:
        half = max(self.median_ns - self.ci_low_ns,
                   self.ci_high_ns - self.median_ns)
        return (f"{_core.format_ns(self.median_ns)} ± "
                f"{_core.format_ns(half, self.median_ns)} (median, "
                f"{self.ci_level_percent}% CI; {self.n} × "
                f"{_loops_text(self.loops)} loops)")

    __str__ = __repr__


def bench(fn: Callable[..., Any], /, *args: Any,
          setup: Optional[Callable[[], Any]] = None, gc: bool = True,
          budget: float = 1.0, samples: int = 0, min_samples: int = 10,
          max_samples: int = 0, loops: int = 0, warmup: int = 1,
          seed: int = DEFAULT_SEED, store: Any = None,
          **kwargs: Any) -> Result:
    """Times fn(*args, **kwargs) and returns its Result.

    The calls per sample (`loops`) are calibrated so that a sample lasts at
    least 10 ms (and 1000 steps of the clock); `warmup` samples are thrown
    away; then samples are taken until there are `min_samples` and `budget`
    seconds have been spent (capped by `max_samples`), or exactly `samples`.
    `setup()` runs, untimed, before every sample (each sample then calls fn
    `loops` times: loops=1 gives every call a fresh setup). gc=False turns
    the garbage collector off while measuring. The option names are keyword
    only; a keyword argument of fn with one of these names goes through
    functools.partial.

    store=True keeps the result in the plumb tool's store ($PLUMB_STORE,
    else .plumb/plumb.db), store="PATH" in that file, as a run that
    `plumb runs`, `plumb show` and `plumb compare` read; the Result's
    run_id says which. None (the default) or False stores nothing. The
    store is opened before measuring, so a bad one fails at once, with
    StoreError.
    """
    api = "plumb.bench"
    check_callable(api, "fn", fn)
    if setup is not None:
        check_callable(api, "setup", setup)
    check_options(api, budget, samples, min_samples, max_samples, loops,
                  warmup, seed)
    path = _store.resolve(api, store)
    if path is not None:
        _store.check(api, path)
    name = describe(fn)
    [m] = measure(api, [(fn, args, kwargs or None, setup)], [name],
                  budget=budget, samples=samples, min_samples=min_samples,
                  max_samples=max_samples, loops=loops, warmup=warmup,
                  seed=seed, gc=gc)
    result = Result(name, m["loops"], m["loop_ns"], m["overhead_ns"])
    if path is not None:
        _store.save(api, path, [(result, _store.command_of(fn), -1)],
                    seed=seed, overhead_ns=result.overhead_ns, result=result)
    return result
