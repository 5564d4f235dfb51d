"""plumb.profile: where this process's time goes, sampled by the same C
sampler as `plumb profile`.

    with plumb.profile() as p:          # rate=2000, mode="cpu"
        work()
    print(p)                            # the summary `plumb profile` prints
    p.save("work.speedscope.json")      # or .json, .collapsed, .txt

    @plumb.profile(mode="wall")
    def handler(request): ...
    handler(r); print(handler.profile)  # the last call's profile

libplumb samples this process from a thread of its own (plumb_profile_start,
a native thread the interpreter does not list, so it never shows up in the
profile) and renders the result with the functions the tool uses. This
module holds the options, the messages and the rule that one profile runs
at a time in a process.
"""
import atexit
import functools
import inspect
import os
import sys
import threading
from typing import Any, Callable, List, NamedTuple, Optional, Union

from . import _core
from ._report_file import save as save_report

DEFAULT_RATE = _core.PROFILE_RATE_HZ  # plumb profile's default, 2000
MODES = ("cpu", "wall")

# The profile this process is taking, if any (guarded by _lock).
_lock = threading.Lock()
_running: Optional["Profile"] = None


class ProfileError(RuntimeError):
    """The profile could not be taken or read; the message says why and
    what to do."""


class ProfileThread(NamedTuple):
    """One thread of a profile: its label ("main thread (tid 4242)"), the
    stacks recorded for it, and the ticks at which it held the GIL (None
    when the Python version cannot tell)."""
    label: str
    stacks: int
    gil_ticks: Optional[int]


def _check_options(rate: Any, mode: Any) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise TypeError(f"plumb.profile: rate is samples per second, a "
                        f"number such as {DEFAULT_RATE} (got {rate!r})")
    if not 0 < rate <= 1_000_000:
        raise ValueError(f"plumb.profile: rate must be more than 0 and at "
                         f"most 1000000 samples per second (got {rate!r}); "
                         f"the default, {DEFAULT_RATE}, costs the program "
                         f"little")
    if mode not in MODES:
        raise ValueError(f"plumb.profile: mode must be 'cpu' (only threads "
                         f"on a CPU) or 'wall' (every thread, so waiting "
                         f"and I/O show up), not {mode!r}")


def _active() -> Optional["Profile"]:
    """The profile this process is taking (a fork's copy of its parent's
    does not count: its sampler thread stayed in the parent)."""
    p = _running
    if p is not None and p._pid == os.getpid():
        return p
    return None


def _explain(err: "_core.SamplerError") -> str:
    name, why = err.args
    if name == "UNSUPPORTED":
        return (f"plumb.profile cannot sample this interpreter: {why}. Run "
                f"the program with a CPython plumb supports.")
    if name == "ACCESS":
        return (f"plumb.profile cannot read this process's memory: {why}")
    if name == "NOTFOUND":
        return (f"plumb.profile did not find this interpreter's state: "
                f"{why}. plumb finds CPython through its symbols; a python "
                f"binary stripped of them cannot be sampled.")
    return f"plumb.profile: {why}"


class Profile:
    """A profile of this process: made by plumb.profile(rate=..., mode=...),
    taken by a with block (or by each call of a function it decorates),
    read after the block ends.

    print(p) (or p.summary(top=N)) gives the terminal summary of `plumb
    profile`; p.collapsed(), p.speedscope() and p.json() the formats of its
    --format, and p.save(path) writes one of them. The figures: samples,
    dropped, rate_hz (asked), achieved_hz, duration (s), mode, python, pid,
    thread_samples, idle, threads_seen and threads.
    """

    def __init__(self, rate: float = DEFAULT_RATE, mode: str = "cpu"):
        _check_options(rate, mode)
        self._rate = rate
        self._mode = mode
        self._state = "new"   # running, done, forked or failed
        self._why = ""
        self._pid = 0
        self._sampler: Any = None
        self._data: Any = None
        self._header: dict = {}

    @classmethod
    def _taken(cls, data: Any) -> "Profile":
        """A profile the library took elsewhere (the slow calls of
        @plumb.timed(profile_slower_than=...)), ready to read."""
        header = data.header()
        p = cls(header["rate_hz"], header["mode"])
        p._data = data
        p._header = header
        p._pid = header["pid"]
        p._state = "done"
        return p

    # ---- taking it ------------------------------------------------------

    def _start(self, nested_ok: bool = False) -> bool:
        """Starts sampling; False (with nested_ok) when another profile of
        this process is running, which then covers this code."""
        global _running
        if self._state != "new":
            raise ProfileError("plumb.profile: this profile has been taken "
                               "already; each with block needs its own "
                               "plumb.profile(...)")
        if sys.implementation.name != "cpython":
            raise ProfileError(f"plumb.profile samples CPython; this is "
                               f"{sys.implementation.name}")
        with _lock:
            other = _active()
            if other is not None:
                if nested_ok:
                    return False
                raise ProfileError(
                    "plumb.profile: a profile of this process is running "
                    "already, and it samples every thread, this code "
                    "included; one profile runs at a time: end the outer "
                    "with block first, or read this code in its profile")
            try:
                sampler = _core.profile_start(float(self._rate), self._mode)
            except _core.SamplerError as err:
                raise ProfileError(_explain(err)) from None
            self._sampler = sampler
            self._pid = os.getpid()
            self._state = "running"
            _running = self
        return True

    def _stop(self, quiet: bool = False) -> None:
        """Stops sampling and keeps the result. quiet: a failure only marks
        the profile (an exception from the body is on its way)."""
        global _running
        with _lock:
            sampler, self._sampler = self._sampler, None
            if _running is self:
                _running = None
        if sampler is None:
            return
        if self._pid != os.getpid():
            # A fork's copy: the sampler thread is the parent's. The
            # library says so without waiting for a thread that is not
            # here.
            try:
                sampler.stop()
            except _core.SamplerError as err:
                self._why = err.args[1]
            self._state = "forked"
            return
        try:
            data = sampler.stop()
        except _core.SamplerError as err:
            self._state = "failed"
            self._why = _explain(err)
            if quiet:
                return
            raise ProfileError(self._why) from None
        self._data = data
        self._header = data.header()
        self._state = "done"

    def __enter__(self) -> "Profile":
        self._start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self._stop(quiet=exc_type is not None)
        return False

    def __call__(self, fn: Callable) -> Callable:
        """Decorates fn: each call is profiled with this profile's options
        and its profile is fn.profile afterwards (the last call's; None
        before the first). A call made while another profile of this
        process runs (fn's own recursion, or inside a with block) runs
        unprofiled: that profile covers it."""
        if not callable(fn):
            raise TypeError(f"plumb.profile decorates a function, not "
                            f"{fn!r}; options go by keyword: "
                            f"plumb.profile(rate=1000, mode='wall')")
        rate, mode = self._rate, self._mode
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                p = Profile(rate, mode)
                if not p._start(nested_ok=True):
                    return await fn(*args, **kwargs)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException:
                    async_wrapper.profile = p  # type: ignore[attr-defined]
                    p._stop(quiet=True)
                    raise
                async_wrapper.profile = p  # type: ignore[attr-defined]
                p._stop()
                return result
            async_wrapper.profile = None  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = Profile(rate, mode)
            if not p._start(nested_ok=True):
                return fn(*args, **kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                wrapper.profile = p  # type: ignore[attr-defined]
                p._stop(quiet=True)
                raise
            wrapper.profile = p  # type: ignore[attr-defined]
            p._stop()
            return result
        wrapper.profile = None  # type: ignore[attr-defined]
        return wrapper

    # ---- reading it -----------------------------------------------------

    def _need(self) -> Any:
        if self._state == "done":
            return self._data
        if self._state == "new":
            raise ProfileError("plumb.profile: this profile has not been "
                               "taken: use it as `with plumb.profile() as "
                               "p:` or as a decorator, then read it")
        if self._state == "running":
            raise ProfileError("plumb.profile: the profile is still being "
                               "taken; read it after the with block ends")
        if self._state == "forked":
            raise ProfileError(f"plumb.profile: no samples in this process: "
                               f"{self._why}. Start a plumb.profile() in "
                               f"the child to profile it.")
        raise ProfileError(self._why)

    def _figure(self, name: str) -> Any:
        self._need()
        return self._header[name]

    @property
    def samples(self) -> int:
        """Ticks at which the process was read."""
        return self._figure("samples")

    @property
    def dropped(self) -> int:
        """Ticks discarded because the stacks changed while being read."""
        return self._figure("dropped")

    @property
    def rate_hz(self) -> float:
        """The rate asked for, samples per second."""
        return self._figure("rate_hz")

    @property
    def achieved_hz(self) -> float:
        """Samples taken per second of the profile's duration."""
        return self._figure("achieved_hz")

    @property
    def duration(self) -> float:
        """Seconds sampled."""
        return self._figure("duration_ns") / 1e9

    @property
    def duration_ns(self) -> int:
        return self._figure("duration_ns")

    @property
    def mode(self) -> str:
        """'cpu' or 'wall' (readable before the profile is taken)."""
        return self._mode

    @property
    def python(self) -> str:
        """The interpreter sampled, e.g. 'CPython 3.12.1'."""
        return self._figure("python")

    @property
    def pid(self) -> int:
        return self._figure("pid")

    @property
    def thread_samples(self) -> int:
        """Stacks recorded: one per counted thread per tick."""
        return self._figure("thread_samples")

    @property
    def idle(self) -> int:
        """cpu mode: thread ticks skipped while the thread was off-CPU."""
        return self._figure("idle")

    @property
    def threads_seen(self) -> int:
        return self._figure("threads_seen")

    @property
    def threads(self) -> List[ProfileThread]:
        """The threads met, in the order they were met (the first 256)."""
        return [ProfileThread(*t) for t in self._figure("threads")]

    def summary(self, top: int = 20, color: bool = False) -> str:
        """The terminal summary of `plumb profile`: what was sampled and
        how faithfully, the threads, then the `top` functions and lines by
        self and total share."""
        return self._need().summary(top=top, color=color)

    def collapsed(self) -> str:
        """Collapsed stacks (FlameGraph, inferno): 'thread;outer;...;inner
        COUNT' lines."""
        return self._need().collapsed()

    def speedscope(self, name: Optional[str] = None) -> str:
        """A speedscope file (https://www.speedscope.app), named after the
        Python version unless name is given."""
        return self._need().speedscope(name)

    def json(self) -> str:
        """The versioned JSON document of `plumb profile --format json`
        (kind "profile"; docs/json.md, "Profiles")."""
        return self._need().json()

    def save(self, path: Union[str, "os.PathLike[str]"],
             format: Optional[str] = None, top: int = 20) -> str:
        """Writes the profile to path in `format` (text, collapsed,
        speedscope or json); without one, the name says it: .txt,
        .collapsed or .folded, .speedscope.json, .json. Returns the format
        written."""
        return save_report("plumb.profile", path, format, {
            "text": lambda: self.summary(top=top),
            "collapsed": self.collapsed,
            "speedscope": self.speedscope,
            "json": self.json})

    def __str__(self) -> str:
        if self._state != "done":
            return repr(self)
        return self.summary()

    def __repr__(self) -> str:
        if self._state != "done":
            return (f"<plumb.Profile {self._mode} {self._rate:g} Hz: "
                    f"{self._state}>")
        h = self._header
        return (f"<plumb.Profile {h['mode']} {h['rate_hz']:g} Hz: "
                f"{h['samples']} samples ({h['dropped']} dropped) in "
                f"{h['duration_ns'] / 1e9:.3g} s, "
                f"{h['achieved_hz']:.0f} Hz achieved>")


def profile(fn: Optional[Callable] = None, *, rate: float = DEFAULT_RATE,
            mode: str = "cpu") -> Any:
    """Samples this process's Python stacks: every thread, `rate` times a
    second, in `mode` 'cpu' (threads on a CPU) or 'wall' (every thread,
    so sleeping and waiting show up). The options and the sampler are
    those of `plumb profile`.

        with plumb.profile(rate=2000, mode="cpu") as p:
            work()
        print(p)

        @plumb.profile                    # or @plumb.profile(mode="wall")
        def work(): ...
        work(); print(work.profile)       # the last call's profile

    One profile runs at a time in a process: a with block inside another
    raises ProfileError; a decorated function called while a profile runs
    runs unprofiled (that profile covers it). The sampler stops when the
    block ends, by an exception or Ctrl-C too, and at the interpreter's
    exit. In a process forked inside the block the sampler is the
    parent's: the child's profile holds no samples and says so when read.
    """
    p = Profile(rate=rate, mode=mode)
    if fn is None:
        return p
    return p(fn)


@atexit.register
def _stop_at_exit() -> None:
    """A profile left running (a block the interpreter never left) stops
    before the interpreter tears down what its thread reads."""
    p = _active()
    if p is not None:
        p._stop(quiet=True)
