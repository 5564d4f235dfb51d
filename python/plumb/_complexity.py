"""plumb.complexity: how a callable's time grows with the size of its
input. It times the callables at each size in the C loop and hands every
sample to plumb_complexity_fit, the fit behind `plumb bench --param`:
t(n) = a + b·g(n) for g in 1, log n, n, n log n, n², n³, 2ⁿ, weighted least
squares on relative error, the model chosen by BIC. Two or more callables
also get the size where their fitted curves cross."""
import math
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    Union)

from . import _core
from ._compare import unique_names
from ._measure import (DEFAULT_SEED, CallError, check_callable,
                       check_options, measure)


def _growth_term(order: str) -> str:
    """'O(n log n)' -> 'n log n'."""
    return order[2:-1]


class Fit:
    """The growth class of one callable: `order` ("O(n log n)") with
    t(n) = a_ns + b_ns·g(n) in ns per call (natural logarithms), and
    fit_error, the RMS relative error of the curve at the per-size medians
    (0.021 is 2.1%). bic holds every model's criterion (None where the
    model could not be fitted, e.g. a decreasing curve); close_order the
    runner-up when its BIC is within 2 of order's, so that the data cannot
    tell the two apart (None when no model comes that close); medians_ns
    the median time per call at each size."""

    __slots__ = ("name", "order", "order_index", "a_ns", "b_ns",
                 "fit_error", "bic", "close_order", "sizes", "medians_ns",
                 "samples")

    def __init__(self, name: str, fit: Dict[str, Any], sizes: Sequence[int],
                 samples: Dict[int, Tuple[float, ...]]) -> None:
        self.name = name
        self.order: str = fit["order"]
        self.order_index: int = fit["order_index"]
        self.a_ns: float = fit["a"]
        self.b_ns: float = fit["b"]
        self.fit_error: float = fit["fit_error"]
        self.bic: Dict[str, Optional[float]] = dict(zip(_core.ORDERS,
                                                        fit["bic"]))
        self.close_order: Optional[str] = fit["close_order"]
        self.sizes: Tuple[int, ...] = tuple(sizes)
        self.samples: Dict[int, Tuple[float, ...]] = samples
        self.medians_ns: Dict[int, float] = {
            n: _core.summarize(samples[n])["median"] for n in sizes}

    def predict_ns(self, n: float) -> float:
        """The fitted time per call at size n, in ns."""
        return _core.evaluate((self.order_index, self.a_ns, self.b_ns),
                              float(n))

    def formula(self) -> str:
        a = _core.format_ns(self.a_ns)
        if self.order == "O(1)":
            return f"t(n) = {a}"
        return f"t(n) = {a} + {self.b_ns:.3g} ns·{_growth_term(self.order)}"

    def __repr__(self) -> str:
        close = (f"; {self.close_order} fits almost as well: measure more "
                 f"sizes over a wider range" if self.close_order else "")
        return (f"{self.name}: {self.order}, {self.formula()} (fit error "
                f"{100 * self.fit_error:.1f}%{close})")

    __str__ = __repr__


class Crossover:
    """Where the fitted curves of two callables cross: below n one is
    faster (`faster_below`), above it the other (`faster_above`)."""

    __slots__ = ("first", "second", "n", "faster_below", "faster_above")

    def __init__(self, first: Fit, second: Fit, n: float,
                 smallest: float) -> None:
        self.first = first.name
        self.second = second.name
        self.n = n
        below = max(n * 0.5, smallest)
        first_faster = first.predict_ns(below) < second.predict_ns(below)
        self.faster_below = first.name if first_faster else second.name
        self.faster_above = second.name if first_faster else first.name

    def __repr__(self) -> str:
        return (f"the curves cross at n ≈ {_core.format_size(self.n)}: "
                f"below it {self.faster_below} is faster, above it "
                f"{self.faster_above}")

    __str__ = __repr__


class Fits(Tuple[Fit, ...]):
    """The fits of several callables, in the order given, and where each
    later one's curve crosses the first one's within the sizes measured."""

    crossovers: Tuple[Crossover, ...]

    def __new__(cls, fits: Sequence[Fit],
                crossovers: Sequence[Crossover]) -> "Fits":
        self = super().__new__(cls, fits)
        self.crossovers = tuple(crossovers)
        return self

    def __repr__(self) -> str:
        return "\n".join([repr(f) for f in self] +
                         [repr(c) for c in self.crossovers])

    __str__ = __repr__


def _check_sizes(api: str, sizes: Any) -> List[int]:
    example = "e.g. sizes=[1000, 2000, 4000, 8000, 16000]"
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"{api}: sizes must be a list of input sizes, "
                        f"{example}; got {type(sizes).__name__}")
    out: List[int] = []
    for n in sizes:
        if (isinstance(n, bool) or not isinstance(n, (int, float))
                or not math.isfinite(n) or n <= 0 or n != int(n)):
            raise ValueError(f"{api}: every size must be a positive whole "
                             f"number ({example}), got {n!r}")
        out.append(int(n))
    if len(set(out)) < 3:
        raise ValueError(f"{api}: sizes must hold at least 3 distinct sizes "
                         f"to tell growth classes apart, got {out!r}; "
                         f"{example}")
    return sorted(set(out))


def complexity(fn: Callable[..., Any], /, *more: Callable[..., Any],
               sizes: Sequence[Union[int, float]],
               make_input: Optional[Callable[[int], Any]] = None,
               gc: bool = True, samples: int = 10, loops: int = 0,
               warmup: int = 1, seed: int = DEFAULT_SEED) -> Any:
    """Times fn(make_input(n)) (fn(n) without make_input) at every size n
    and fits its growth class. Returns a Fit, or Fits with crossovers when
    more callables are given (all called with the same input, which they
    must not modify).

    Every callable at every size is one subject of the same seeded random
    rounds, and every sample lasts about as long as one call at the largest
    size (loops calibrated per size, or fixed by `loops`), so a machine that
    slows down or preempts during the scan stretches every size alike
    instead of bending the curve. Each subject gets `samples` samples: the
    scan takes about samples x sizes x callables x max(10 ms, the longest
    call).
    Sizes should span a factor of 10 or more: growth classes differ most
    over a wide range.
    """
    api = "plumb.complexity"
    fns = [fn, *more]
    for f in fns:
        check_callable(api, "fn", f)
    if make_input is not None:
        check_callable(api, "make_input", make_input)
    size_list = _check_sizes(api, sizes)
    check_options(api, 1.0, samples, 2, 0, loops, warmup, seed)
    if samples == 0:
        raise ValueError(f"{api}: samples must be a whole number >= 2 (the "
                         f"samples per callable and size), got 0")
    names = unique_names(fns)

    inputs: List[Any] = []
    for n in size_list:
        if make_input is None:
            inputs.append(n)
            continue
        try:
            inputs.append(make_input(n))
        except Exception as e:
            raise CallError(
                f"{api}: make_input({n}) raised {type(e).__name__}: {e}; "
                f"make_input must build an input for every size given "
                f"(the traceback is chained below)") from e
    subjects = [(f, (data,), None, None) for data in inputs for f in fns]
    labels = [f"{name} at n={n}" for n in size_list for name in names]
    measured = measure(api, subjects, labels, budget=1.0, samples=samples,
                       min_samples=2, max_samples=0, loops=loops,
                       warmup=warmup, seed=seed, gc=gc, overhead=False,
                       equal_samples=True)

    fits = []
    for i, name in enumerate(names):
        by_size = {n: tuple(measured[k * len(fns) + i]["loop_ns"])
                   for k, n in enumerate(size_list)}
        xs = [float(n) for n in size_list for _ in by_size[n]]
        ts = [t for n in size_list for t in by_size[n]]
        fits.append(Fit(name, _core.fit(xs, ts), size_list, by_size))
    if len(fits) == 1:
        return fits[0]
    crossovers = []
    lo, hi = float(size_list[0]), float(size_list[-1])
    for other in fits[1:]:
        n = _core.crossover((fits[0].order_index, fits[0].a_ns, fits[0].b_ns),
                            (other.order_index, other.a_ns, other.b_ns),
                            lo, hi)
        if n is not None:
            crossovers.append(Crossover(fits[0], other, n, lo))
    return Fits(fits, crossovers)
