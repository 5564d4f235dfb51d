"""What bench, compare and complexity share: checking the measuring options
and the callables, naming a callable for messages, and running
plumb._core.measure with its failures turned into clear exceptions."""
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _core

# The seed `plumb bench` uses by default ("plumb" in ASCII): it fixes the
# order of the measurements in each round and the bootstrap resamples.
DEFAULT_SEED = 0x706C756D62


class CallError(RuntimeError):
    """A measured callable, its setup or make_input raised; the original
    exception is the __cause__."""


def describe(fn: Any) -> str:
    """A callable's name for messages and reports: its qualified name, from
    the innermost function that defines it ("Parser.parse", "helper")."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return repr(fn)
    return name.rsplit("<locals>.", 1)[-1]


def check_callable(api: str, what: str, fn: Any) -> None:
    if not callable(fn):
        text = repr(fn)
        if len(text) > 60:
            text = text[:57] + "..."
        raise TypeError(
            f"{api}: {what} must be callable, got {type(fn).__name__} "
            f"{text}; pass the function itself and its arguments separately, "
            f"e.g. {api}(f, x) rather than {api}(f(x))")


def _whole(api: str, name: str, value: Any, least: int, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(
            f"{api}: {name} must be a whole number >= {least} ({meaning}), "
            f"got {value!r}")
    return value


def check_options(api: str, budget: Any, samples: Any, min_samples: Any,
                  max_samples: Any, loops: Any, warmup: Any,
                  seed: Any) -> None:
    """Raises ValueError naming the first option out of range and what it
    takes."""
    if (isinstance(budget, bool) or not isinstance(budget, (int, float))
            or not math.isfinite(budget) or budget <= 0):
        raise ValueError(
            f"{api}: budget must be a positive number of seconds to spend "
            f"measuring each callable, got {budget!r}")
    if samples != 0:
        _whole(api, "samples", samples, 2,
               "a fixed count of samples, or 0 to let the budget decide")
    _whole(api, "min_samples", min_samples, 2,
           "the fewest samples the budget may give")
    if max_samples != 0:
        _whole(api, "max_samples", max_samples, min_samples,
               "a cap at or above min_samples, or 0 for none")
    _whole(api, "loops", loops, 0,
           "calls per sample, or 0 to calibrate them")
    _whole(api, "warmup", warmup, 0, "samples discarded before measuring")
    if (isinstance(seed, bool) or not isinstance(seed, int)
            or not 0 <= seed < 2**64):
        raise ValueError(
            f"{api}: seed must be a whole number in [0, 2**64), got {seed!r}")


Subject = Tuple[Callable[..., Any], Tuple[Any, ...], Optional[Dict[str, Any]],
                Optional[Callable[[], Any]]]


def measure(api: str, subjects: Sequence[Subject], names: Sequence[str], *,
            budget: float, samples: int, min_samples: int, max_samples: int,
            loops: int, warmup: int, seed: int, gc: bool,
            overhead: bool = True,
            equal_samples: bool = False) -> List[Dict[str, Any]]:
    """Times the subjects (fn, args, kwargs, setup) in the C loop; per
    subject: loops per sample, time per loop of each sample (loop_ns) and
    the harness overhead per loop (overhead_ns; NaN when overhead is
    False)."""
    try:
        return _core.measure(
            list(subjects), budget=float(budget), min_samples=min_samples,
            max_samples=max_samples, samples=samples, loops=loops,
            warmup=warmup, seed=seed, gc=bool(gc), min_sample_ns=0,
            overhead=overhead, equal_samples=equal_samples)
    except _core.SubjectError as e:
        index, phase = e.args
        cause = e.__cause__
        error = f"{type(cause).__name__}: {cause}"
        if phase == "setup":
            message = (
                f"{api}: the setup of {names[index]} raised {error}; setup "
                f"runs before every sample and must succeed: call it once "
                f"yourself to see why (the traceback is chained below)")
        else:
            message = (
                f"{api}: {names[index]} raised {error} when called with the "
                f"arguments given; a measured callable must run without "
                f"error: fix it or its arguments (the traceback is chained "
                f"below)")
        raise CallError(message) from cause
