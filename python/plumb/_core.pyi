# Type hints for the extension plumb._core (python/plumb/_core.c).
from typing import Any, Dict, List, Optional, Sequence, Tuple

VERSION: str
# Growth class names, by order index: "O(1)", "O(log n)", ..., "O(2^n)".
ORDERS: Tuple[str, ...]

class SubjectError(Exception):
    # args: (index of the subject that raised, "call" or "setup");
    # __cause__: the exception it raised.
    args: Tuple[int, str]

# A subject: (fn, positional args, keyword args or None, setup or None).
_Subject = Tuple[Any, Tuple[Any, ...], Optional[Dict[str, Any]], Any]

def measure(subjects: List[_Subject], budget: float, min_samples: int,
            max_samples: int, samples: int, loops: int, warmup: int,
            seed: int, gc: bool, min_sample_ns: int,
            overhead: bool = ...,
            equal_samples: bool = ...) -> List[Dict[str, Any]]:
    """Per subject: {"loops": int, "loop_ns": list[float],
    "overhead_ns": float (NaN when overhead is False)}."""
    ...

def summarize(values: Sequence[float]) -> Dict[str, Any]:
    """n, min, max, mean, stddev, median, mad, p5, p25, p75, p95,
    median_ci_low, median_ci_high, median_ci_level, outliers."""
    ...

def compare(baseline: Sequence[float], candidate: Sequence[float],
            alpha: float, min_effect: float, level: float, resamples: int,
            seed: int) -> Dict[str, Any]:
    """baseline_median, candidate_median, ratio, ci_low, ci_high (None when
    undefined), u, p_value, exact, verdict, words, factor, factor_low,
    factor_high, p_text."""
    ...

def fit(sizes: Sequence[float], times: Sequence[float]) -> Dict[str, Any]:
    """order, order_index, a, b, fit_error, bic (tuple, None where a model
    was not fitted)."""
    ...

def evaluate(fit: Tuple[int, float, float], n: float) -> float: ...
def crossover(fit_x: Tuple[int, float, float], fit_y: Tuple[int, float, float],
              n_lo: float, n_hi: float) -> Optional[float]: ...
def format_ns(ns: float, scale_like: Optional[float] = ...,
              with_unit: bool = ...) -> str: ...
def format_p(p: float) -> str: ...
def format_size(n: float) -> str: ...
def cli_main(argv: Sequence[str]) -> int: ...

# _timer.c: per-call timing (plumb.timed, plumb.timer, plumb.stats).
class Stats:
    name: str
    def __init__(self, name: str) -> None: ...
    def record(self, ns: int, failed: bool = ...) -> None: ...
    def snapshot(self, quantiles: Sequence[float] = ...,
                 reset: bool = ...) -> Dict[str, Any]:
        """name, count, errors, sum_ns, min_ns, max_ns, mean_ns (None when
        empty), quantiles_ns (one per q, None when empty), slower_than_ns,
        slow_calls."""
        ...
    def slow_profile(self) -> Optional["ProfileData"]: ...

class Timed:
    __plumb_stats__: Stats
    __wrapped__: Any
    def __init__(self, fn: Any, stats: Stats,
                 slower_than_ns: int = ...) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, obj: Any, objtype: Any = ...) -> Any: ...

class Timing:
    stats: Stats
    elapsed: Optional[float]
    def __init__(self, stats: Stats) -> None: ...
    def __enter__(self) -> "Timing": ...
    def __exit__(self, *exc: Any) -> bool: ...

def now_ns() -> int: ...
# plumb.profile's part (python/plumb/_profiler.c).
class SamplerError(RuntimeError):
    # args: (libplumb error name such as "UNSUPPORTED", its sentence)
    args: Tuple[str, str]

class ProfileData:
    """A finished profile (plumb_profile_t)."""
    def summary(self, top: int = ..., color: bool = ...) -> str: ...
    def collapsed(self) -> str: ...
    def speedscope(self, name: Optional[str] = ...) -> str: ...
    def json(self) -> str: ...
    def header(self) -> Dict[str, Any]:
        """pid, python, mode, rate_hz, achieved_hz, duration_ns, samples,
        dropped, thread_samples, idle, threads_seen, threads: list of
        (label, stacks, gil_ticks or None)."""
        ...

class Sampler:
    """A profile being taken (plumb_profiler_t)."""
    running: bool
    def stop(self) -> ProfileData: ...

def profile_start(rate_hz: float, mode: str, pid: int = ...) -> Sampler: ...
# plumb profile's default rate (plumb_profile_opts_init).
PROFILE_RATE_HZ: int

# _store.c: the store of the plumb tool (src/store.c).
class StoreError(Exception):
    # args: (libplumb's error name such as "SCHEMA", the store path, the
    # library's sentence)
    args: Tuple[str, str, str]

# (name, command, loops, loop_ns, baseline index or -1, python or None)
_Run = Tuple[str, str, int, Sequence[float], int, Optional[str]]

def store_path(path: Optional[str] = ...) -> str: ...
def store_open(path: str) -> int: ...
def store_save(path: str, runs: List[_Run], invocation: Optional[str],
               seed: int, overhead_ns: int) -> Tuple[int, List[int]]: ...
def store_load(path: str, run_id: int) -> Dict[str, Any]:
    """id, session_id, name, command, loops (0: a command run), loop_ns,
    python, created_ns, host, cpu_model, git_commit, invocation."""
    ...
def store_find(path: str, name: str,
               session_id: int = ...) -> Optional[int]: ...
