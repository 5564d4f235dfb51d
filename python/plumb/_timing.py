"""plumb.timed, plumb.timer and plumb.stats: per-call timing cheap enough to
leave on. Every name keeps its durations in C (plumb._core.Stats, a
fixed-memory histogram: count, total, min and max exact, quantiles within
0.8%); a decorated function is a C wrapper that reads the clock around the
call. What is kept here is the registry of names and the wording."""
import functools
import inspect
import re
from typing import Any, Callable, Dict, Optional, TypeVar, Union, overload

from . import _core
from ._profile import Profile

F = TypeVar("F", bound=Callable[..., Any])

# Every Stats by name; timed functions and timer blocks of one name share
# theirs. Only ever added to: a name's Stats outlives its functions.
_registry: Dict[str, _core.Stats] = {}


def _stats_for(name: str) -> _core.Stats:
    stats = _registry.get(name)
    if stats is None:
        stats = _registry.setdefault(name, _core.Stats(name))
    return stats


def _name_of(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or getattr(
        fn, "__name__", None) or type(fn).__name__
    return f"{module}.{qualname}" if module else qualname


_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
_DURATION = re.compile(r"\s*(\S+?)\s*(ns|us|µs|ms|s)\s*")


def _duration_ns(api: str, value: Any) -> int:
    """Seconds (a number) or a string with a unit ("50ms", "1.5 s",
    "200us") as whole nanoseconds, at least 1."""
    ns: Optional[float] = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ns = float(value) * 1e9
    elif isinstance(value, str):
        m = _DURATION.fullmatch(value)
        try:
            ns = float(m.group(1)) * _UNITS[m.group(2)] if m else None
        except ValueError:
            ns = None
    if ns is None or not (ns >= 1 and ns < 2 ** 62):
        raise ValueError(f"{api}: profile_slower_than is a duration: "
                         f"seconds as a number (0.05) or a string with a "
                         f"unit ('50ms', '1.5s', '200us'), above 0; got "
                         f"{value!r}")
    return int(ns)


@overload
def timed(fn: F, /) -> F: ...
@overload
def timed(*, name: Optional[str] = None,
          profile_slower_than: Union[None, float, str] = None
          ) -> Callable[[F], F]: ...


def timed(fn: Optional[Callable[..., Any]] = None, /, *,
          name: Optional[str] = None,
          profile_slower_than: Union[None, float, str] = None) -> Any:
    """Records the duration of every call of fn, under `name` (default
    "module.qualname"), readable with plumb.stats(). Use as @plumb.timed or
    @plumb.timed(name="..."). A call that raises is recorded too, and
    counted in `errors`. Calls that recurse are each recorded, inclusive of
    their callees. A coroutine function's calls are timed until the
    coroutine finishes (awaiting included).

    profile_slower_than="50ms" (or seconds, 0.05) profiles the slow calls:
    a watchdog thread samples a call's thread, in wall mode, once the call
    has run that long, until it ends; calls that end in time are never
    sampled. plumb.stats(fn).slow_profile adds up those profiles (of the
    part of each call past the threshold) and slow_calls counts the calls
    that took that long. A call inside another watched call of the same
    thread is covered by the outer one's profile; at most 4 slow calls are
    sampled at once (the rest are counted)."""
    threshold_ns = 0
    if profile_slower_than is not None:
        threshold_ns = _duration_ns("plumb.timed", profile_slower_than)
    if fn is None:
        return functools.partial(_timed, name=name,
                                 threshold_ns=threshold_ns)
    return _timed(fn, name=name, threshold_ns=threshold_ns)


def _timed(fn: Callable[..., Any], name: Optional[str],
           threshold_ns: int = 0) -> Any:
    if not callable(fn):
        raise TypeError(f"plumb.timed: {fn!r} is not callable; decorate a "
                        "function or method")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"plumb.timed: name must be a non-empty str, not "
                        f"{name!r}")
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(
            f"plumb.timed: {_name_of(fn)} is a generator function, and "
            "calling it only creates the generator; time the loop that "
            "consumes it with `with plumb.timer(name):`")
    stats = _stats_for(name or _name_of(fn))
    if inspect.iscoroutinefunction(fn):
        if threshold_ns:
            raise TypeError(
                f"plumb.timed: profile_slower_than samples the thread a "
                f"call runs on, and {_name_of(fn)} is a coroutine function, "
                f"whose awaits let other tasks run on that thread; profile "
                f"the slow part with plumb.profile(mode='wall') instead")
        wrapper = _timed_coroutine(fn, stats)
    else:
        wrapper = _core.Timed(fn, stats, threshold_ns)
    return functools.update_wrapper(wrapper, fn)


def _timed_coroutine(fn: Callable[..., Any], stats: _core.Stats) -> Any:
    now = _core.now_ns

    async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
        start = now()
        failed = True
        try:
            result = await fn(*args, **kwargs)
            failed = False
            return result
        finally:
            stats.record(now() - start, failed)

    timed_coroutine.__plumb_stats__ = stats  # type: ignore[attr-defined]
    return timed_coroutine


def timer(name: str) -> _core.Timing:
    """A context manager that records the duration of its block under
    `name`: `with plumb.timer("load"): ...`. Its `elapsed` is the block's
    seconds once it ends. A block left by an exception is recorded and
    counted in `errors`. Each call gives a new timer, so nested and
    concurrent blocks of one name each count."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"plumb.timer: name must be a non-empty str, not "
                        f"{name!r}")
    return _core.Timing(_stats_for(name))


def _fmt(ns: Optional[float]) -> str:
    return "-" if ns is None else _core.format_ns(ns)


class TimerStats:
    """The calls recorded under one name. Durations are in seconds; count,
    errors, total, mean, min and max are exact, the percentiles are read
    from the histogram (within 0.8%). None where there were no calls."""

    __slots__ = ("name", "count", "errors", "total", "mean", "min", "max",
                 "p50", "p90", "p99", "slower_than", "slow_calls",
                 "slow_profile")

    def __init__(self, snapshot: Dict[str, Any],
                 slow_profile: Any = None) -> None:
        def s(ns: Optional[float]) -> Optional[float]:
            return None if ns is None else ns / 1e9

        empty = snapshot["count"] == 0
        self.name: str = snapshot["name"]
        self.count: int = snapshot["count"]
        self.errors: int = snapshot["errors"]
        self.total: float = snapshot["sum_ns"] / 1e9
        self.mean: Optional[float] = s(snapshot["mean_ns"])
        self.min: Optional[float] = None if empty else s(snapshot["min_ns"])
        self.max: Optional[float] = None if empty else s(snapshot["max_ns"])
        self.p50, self.p90, self.p99 = (s(v) for v in
                                        snapshot["quantiles_ns"])
        # profile_slower_than: the threshold (s), the calls that took as
        # long, and the Profile of their parts past it (None: none yet)
        self.slower_than: Optional[float] = (
            snapshot["slower_than_ns"] / 1e9 if snapshot["slower_than_ns"]
            else None)
        self.slow_calls: int = snapshot["slow_calls"]
        self.slow_profile: Any = slow_profile

    def _ns(self, seconds: Optional[float]) -> Optional[float]:
        return None if seconds is None else seconds * 1e9

    def __repr__(self) -> str:
        calls = f"{self.count:,}".replace(",", " ")
        text = (f"{self.name}: {calls} call{'s' if self.count != 1 else ''}")
        if self.count:
            text += (f", total {_fmt(self._ns(self.total))}, mean "
                     f"{_fmt(self._ns(self.mean))}, p50 "
                     f"{_fmt(self._ns(self.p50))}, p90 "
                     f"{_fmt(self._ns(self.p90))}, p99 "
                     f"{_fmt(self._ns(self.p99))}, max "
                     f"{_fmt(self._ns(self.max))}")
        if self.errors:
            text += f" ({self.errors} raised)"
        if self.slower_than is not None:
            text += (f"; {self.slow_calls} slower than "
                     f"{_fmt(self.slower_than * 1e9)}")
            if self.slow_profile is not None:
                text += (f", profiled ({self.slow_profile.samples} samples:"
                         f" .slow_profile)")
        return text

    __str__ = __repr__


class StatsTable(dict):  # type: ignore[type-arg]
    """Every name's TimerStats, the most total time first; printing it
    gives one table."""

    COLUMNS = ("calls", "total", "mean", "p50", "p90", "p99", "max",
               "raised")

    def __str__(self) -> str:
        if not self:
            return ("no timed calls yet: decorate functions with "
                    "@plumb.timed or time blocks with plumb.timer(name)")
        rows = []
        for st in self.values():
            ns = [None if v is None else v * 1e9 for v in
                  (st.total, st.mean, st.p50, st.p90, st.p99, st.max)]
            rows.append((st.name, f"{st.count:,}".replace(",", " "),
                         *(_fmt(v) for v in ns), str(st.errors)))
        header = ("name",) + self.COLUMNS
        widths = [max(len(r[i]) for r in rows + [header])
                  for i in range(len(header))]
        lines = ["  ".join([header[0].ljust(widths[0])] +
                           [h.rjust(w) for h, w in zip(header[1:],
                                                       widths[1:])])]
        for r in rows:
            lines.append("  ".join([r[0].ljust(widths[0])] +
                                   [c.rjust(w) for c, w in zip(r[1:],
                                                               widths[1:])]))
        return "\n".join(lines)

    __repr__ = __str__


def _key(what: Union[str, Callable[..., Any]]) -> str:
    if isinstance(what, str):
        return what
    stats = getattr(what, "__plumb_stats__", None)
    if isinstance(stats, _core.Stats):
        return stats.name
    raise TypeError(f"plumb.stats: {what!r} is neither a name nor a "
                    "function decorated with @plumb.timed")


def stats(what: Union[None, str, Callable[..., Any]] = None, /, *,
          reset: bool = False) -> Any:
    """The recorded calls: with no argument, a StatsTable of every name
    (a dict of TimerStats, most total time first); given a name or a
    @plumb.timed function, its TimerStats. reset=True forgets what was
    read, in the same step, so successive reads see disjoint intervals."""
    if what is None:
        snaps = [_read(s, reset) for s in list(_registry.values())]
        snaps.sort(key=lambda t: (-t.total, t.name))
        return StatsTable((t.name, t) for t in snaps)
    key = _key(what)
    found = _registry.get(key)
    if found is None:
        known = ", ".join(sorted(_registry)) or "none yet"
        raise KeyError(f"plumb.stats: no timer named {key!r} (known: "
                       f"{known})")
    return _read(found, reset)


def _read(stats: _core.Stats, reset: bool) -> TimerStats:
    data = stats.slow_profile()  # before a reset forgets it
    return TimerStats(stats.snapshot(reset=reset),
                      None if data is None else Profile._taken(data))
