"""plumb.compare: a baseline callable against one or more candidates,
measured in the same seeded random rounds, each candidate judged with
plumb_compare, the code behind `plumb bench`'s verdicts: Mann-Whitney U
p-value, bootstrap CI of the ratio of medians, and the rule that a verdict
needs p < alpha, a CI excluding 1 and a change beyond min_effect."""
import math
import random
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _core, _store
from ._bench import Result
from ._measure import (DEFAULT_SEED, check_callable, check_options, describe,
                       measure)


def unique_names(fns: Sequence[Any]) -> List[str]:
    """Each callable's name, numbered by position where names repeat (two
    lambdas, or a function against itself)."""
    names = [describe(f) for f in fns]
    return [f"{n} [{i + 1}]" if names.count(n) > 1 else n
            for i, n in enumerate(names)]


class MemoryComparison:
    """A candidate against the baseline on the peak memory of one call:
    the most that the call's own allocations held at once, recorded
    exactly (every allocation) in `rounds` calls of each. ratio is
    baseline median / candidate median (> 1: the candidate needs less),
    with its bootstrap CI; verdict is "less", "more" or "no significant
    difference"."""

    __slots__ = ("baseline_peaks", "candidate_peaks", "verdict", "ratio",
                 "ci_low", "ci_high", "p_value", "words", "factor",
                 "factor_low", "factor_high", "p_text")

    def __init__(self, baseline_peaks: List[int],
                 candidate_peaks: List[int], c: Dict[str, Any]) -> None:
        self.baseline_peaks = baseline_peaks
        self.candidate_peaks = candidate_peaks
        self.verdict: str = c["verdict"]
        self.ratio: Optional[float] = c["ratio"]
        self.ci_low: Optional[float] = c["ci_low"]
        self.ci_high: Optional[float] = c["ci_high"]
        self.p_value: float = c["p_value"]
        self.words: str = c["words"]        # "less peak memory", "more ..."
        self.factor: Optional[float] = c["factor"]
        self.factor_low: Optional[float] = c["factor_low"]
        self.factor_high: Optional[float] = c["factor_high"]
        self.p_text: str = c["p_text"]

    @property
    def significant(self) -> bool:
        return self.verdict != "no significant difference"

    def __repr__(self) -> str:
        base = _size(sorted(self.baseline_peaks)[len(self.baseline_peaks) //
                                                 2])
        cand = _size(sorted(self.candidate_peaks)[len(self.candidate_peaks)
                                                  // 2])
        peaks = f"(peak {cand} against {base})"
        if self.factor is None:
            if not self.significant:
                return f"no significant difference in peak memory {peaks}"
            return f"{self.words} (one median is 0) {peaks}  {self.p_text}"
        interval = f"[{self.factor_low:.2f}, {self.factor_high:.2f}]"
        if not self.significant:
            return (f"no significant difference in peak memory "
                    f"({self.factor:.2f}x {self.words} {interval}, "
                    f"{self.p_text}) {peaks}")
        return (f"{self.factor:.2f}x {self.words} {interval}  "
                f"{self.p_text} {peaks}")

    __str__ = __repr__


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{int(n)} B" if unit == "B" else f"{n:.4g} {unit}"
        n /= 1000
    return f"{n:.4g} GB"


def _peaks(api: str, fns: Sequence[Callable[..., Any]], args: Tuple,
           kwargs: Dict[str, Any], setup: Optional[Callable[[], Any]],
           rounds: int, seed: int) -> List[List[int]]:
    """The peak memory of `rounds` calls of each callable, in seeded random
    rounds, every allocation recorded (plumb.memory(sample_bytes=1))."""
    from ._memory import Memory, MemoryRecordError
    order = random.Random(seed)
    peaks: List[List[int]] = [[] for _ in fns]
    for _ in range(rounds):
        idx = list(range(len(fns)))
        order.shuffle(idx)
        for i in idx:
            if setup is not None:
                setup()
            m = Memory(sample_bytes=1)
            try:
                with m:
                    result = fns[i](*args, **kwargs)
                    del result
            except MemoryRecordError as e:
                raise MemoryRecordError(
                    f"{api}: memory=True records each call's allocations, "
                    f"and cannot while another recording runs: {e}") from None
            peaks[i].append(m.peak_bytes)
    return peaks


class Comparison:
    """A candidate against the baseline, on the time per call.

    ratio is baseline median / candidate median (> 1: the candidate is
    faster) with its bootstrap CI [ci_low, ci_high] at `level`; p_value is
    the two-sided Mann-Whitney U test's (exact for small samples without
    ties); verdict is "faster", "slower" or "no significant difference",
    decided as `plumb bench` decides it."""

    __slots__ = ("baseline", "candidate", "verdict", "ratio", "ci_low",
                 "ci_high", "p_value", "u", "exact", "level", "alpha",
                 "min_effect", "words", "factor", "factor_low",
                 "factor_high", "p_text", "memory")

    def __init__(self, baseline: Result, candidate: Result,
                 c: Dict[str, Any], level: float, alpha: float,
                 min_effect: float) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self.verdict: str = c["verdict"]
        self.ratio: Optional[float] = c["ratio"]
        self.ci_low: Optional[float] = c["ci_low"]
        self.ci_high: Optional[float] = c["ci_high"]
        self.p_value: float = c["p_value"]
        self.u: float = c["u"]
        self.exact: bool = c["exact"]
        self.level = level
        self.alpha = alpha
        self.min_effect = min_effect
        # How plumb bench words it: "faster"/"slower" with the factor
        # (>= 1) and its interval oriented to read with the word.
        self.words: str = c["words"]
        self.factor: Optional[float] = c["factor"]
        self.factor_low: Optional[float] = c["factor_low"]
        self.factor_high: Optional[float] = c["factor_high"]
        self.p_text: str = c["p_text"]
        # compare(memory=True): the peak memory of a call, compared
        self.memory: Optional[MemoryComparison] = None

    @property
    def significant(self) -> bool:
        return self.verdict != "no significant difference"

    def __repr__(self) -> str:
        text = self._time_repr()
        if self.memory is not None:
            text += f"\n    peak memory: {self.memory!r}"
        return text

    def _time_repr(self) -> str:
        cand, base = self.candidate.name, self.baseline.name
        if self.factor is None:
            if not self.significant:
                return (f"{cand}  no significant difference from {base}  "
                        f"({self.p_text})")
            return (f"{cand}  {self.words} than {base} (one median is 0)  "
                    f"{self.p_text}")
        interval = f"[{self.factor_low:.2f}, {self.factor_high:.2f}]"
        if not self.significant:
            return (f"{cand}  no significant difference from {base}  "
                    f"({self.factor:.2f}x {self.words} {interval}, "
                    f"{self.p_text})")
        return (f"{cand}  {self.factor:.2f}x {self.words} than {base}  "
                f"{interval}  {self.p_text}")

    __str__ = __repr__


class Comparisons(Tuple[Comparison, ...]):
    """Several candidates against one baseline, in the order given."""

    baseline: Result

    def __new__(cls, baseline: Result,
                items: Sequence[Comparison]) -> "Comparisons":
        self = super().__new__(cls, items)
        self.baseline = baseline
        return self

    def __repr__(self) -> str:
        return "\n".join(repr(c) for c in self)

    __str__ = __repr__


def _check_level(api: str, name: str, value: Any) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 < value < 1):
        raise ValueError(f"{api}: {name} must be a number between 0 and 1 "
                         f"(exclusive), got {value!r}")


def compare(baseline: Callable[..., Any], candidate: Callable[..., Any], /,
            *candidates: Callable[..., Any], args: Tuple[Any, ...] = (),
            kwargs: Optional[Dict[str, Any]] = None,
            setup: Optional[Callable[[], Any]] = None, gc: bool = True,
            budget: float = 1.0, samples: int = 0, min_samples: int = 10,
            max_samples: int = 0, loops: int = 0, warmup: int = 1,
            seed: int = DEFAULT_SEED, alpha: float = 0.05,
            min_effect: float = 0.01, level: float = 0.95,
            resamples: int = 5000, store: Any = None, memory: bool = False,
            memory_rounds: int = 5) -> Any:
    """Measures baseline and each candidate called with *args and **kwargs,
    in seeded random rounds (each round samples every callable once, so
    drift hits them alike), and judges each candidate against the baseline.
    Returns a Comparison, or Comparisons for two or more candidates.

    The measuring options are bench's (budget is per callable); alpha,
    min_effect (0.01 = 1%), level and resamples are `plumb bench`'s
    --alpha, --min-effect, the CI level and the bootstrap resamples; seed
    fixes the order of the rounds and the bootstrap.

    store= is bench's: True or a path keeps every callable's Result as a
    run of one stored session, each candidate with the baseline as its
    baseline, so that `plumb compare BASELINE_RUN CANDIDATE_RUN` judges it
    again; each Result's run_id says which run it is.

    memory=True also compares the peak memory of a call (the most its own
    allocations held at once), recorded exactly in memory_rounds calls of
    each callable after the timing, in seeded random rounds; each
    Comparison's .memory holds the verdict, e.g. "4.10x less peak memory
    [4.10, 4.10]". Recording every allocation slows those calls down
    (they are not timed).
    """
    api = "plumb.compare"
    fns = [baseline, candidate, *candidates]
    for i, fn in enumerate(fns):
        check_callable(api, "baseline" if i == 0 else "each candidate", fn)
    if not isinstance(args, tuple):
        raise TypeError(
            f"{api}: args must be a tuple of positional arguments, got "
            f"{type(args).__name__}; for one argument write args=(x,), with "
            f"the comma")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError(f"{api}: kwargs must be a dict of keyword arguments "
                        f"or None, got {type(kwargs).__name__}")
    if setup is not None:
        check_callable(api, "setup", setup)
    check_options(api, budget, samples, min_samples, max_samples, loops,
                  warmup, seed)
    _check_level(api, "alpha", alpha)
    _check_level(api, "level", level)
    if (isinstance(min_effect, bool) or not isinstance(min_effect,
                                                       (int, float))
            or not math.isfinite(min_effect) or min_effect < 0):
        raise ValueError(f"{api}: min_effect must be a fraction >= 0 (0.01 "
                         f"is 1%), got {min_effect!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or \
            resamples < 1:
        raise ValueError(f"{api}: resamples must be a whole number >= 1, "
                         f"got {resamples!r}")

    if not isinstance(memory, bool):
        raise TypeError(f"{api}: memory must be True or False, got "
                        f"{memory!r}")
    if memory and (isinstance(memory_rounds, bool) or
                   not isinstance(memory_rounds, int) or memory_rounds < 2):
        raise ValueError(f"{api}: memory_rounds must be a whole number >= 2 "
                         f"(the calls of each callable whose peak memory is "
                         f"recorded), got {memory_rounds!r}")

    path = _store.resolve(api, store)
    if path is not None:
        _store.check(api, path)

    names = unique_names(fns)
    measured = measure(api, [(fn, args, kwargs or None, setup) for fn in fns],
                       names, budget=budget, samples=samples,
                       min_samples=min_samples, max_samples=max_samples,
                       loops=loops, warmup=warmup, seed=seed, gc=gc)
    results = [Result(name, m["loops"], m["loop_ns"], m["overhead_ns"])
               for name, m in zip(names, measured)]
    comparisons = []
    for result in results[1:]:
        c = _core.compare(results[0].samples_ns, result.samples_ns,
                          alpha=float(alpha), min_effect=float(min_effect),
                          level=float(level), resamples=resamples, seed=seed)
        comparisons.append(Comparison(results[0], result, c, level, alpha,
                                      min_effect))
    if memory:
        peaks = _peaks(api, fns, args, kwargs or {}, setup, memory_rounds,
                       seed)
        for k, comparison in enumerate(comparisons, 1):
            c = _core.compare(peaks[0], peaks[k], alpha=float(alpha),
                              min_effect=float(min_effect),
                              level=float(level), resamples=resamples,
                              seed=seed, memory=True)
            comparison.memory = MemoryComparison(peaks[0], peaks[k], c)
    verdict: Any = (comparisons[0] if len(comparisons) == 1 else
                    Comparisons(results[0], comparisons))
    if path is not None:
        _store.save(api, path,
                    [(r, _store.command_of(fn), -1 if i == 0 else 0)
                     for i, (r, fn) in enumerate(zip(results, fns))],
                    seed=seed,
                    overhead_ns=max(r.overhead_ns for r in results),
                    result=verdict)
    return verdict
