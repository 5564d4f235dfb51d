"""plumb.memory: where this process's memory goes, recorded by the same C
recorder as `plumb mem`.

    with plumb.memory() as m:           # sample_bytes=16384
        work()
    print(m)                            # the summary `plumb mem` prints
    m.peak_bytes                        # the block's peak, estimated
    m.top("peak")                       # lines alive at the peak
    m.save("work.speedscope.json")      # or .json, .collapsed, .txt

    @plumb.memory
    def load(path): ...
    load(p); print(load.memory)         # the last call's record

The recorder hooks CPython's allocators while the block runs and samples
the allocations by bytes (one sample per sample_bytes allocated, on
average, each standing for its size divided by the chance it had to be
sampled, so the estimates are unbiased); each sample keeps its Python
stack. What the block allocated and still holds is what the record
counts: memory allocated before the block is not in it. This module holds
the options, the messages and the rule that one recording runs at a time
in a process.
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

DEFAULT_SAMPLE_BYTES = _core.MEM_DEFAULT_MEAN_BYTES  # plumb mem's default
STACKS = ("peak", "allocated", "end")

_lock = threading.Lock()
_running: Optional["Memory"] = None


class MemoryRecordError(RuntimeError):
    """The memory record could not be taken or read; the message says why
    and what to do."""


class MemoryLine(NamedTuple):
    """A line (or a function, line 0) of a record: the bytes of the
    stacks in which it is innermost (self) and anywhere (total)."""
    function: str
    file: str
    line: int
    self_bytes: int
    total_bytes: int


def _check_options(sample_bytes: Any, native: Any) -> None:
    if isinstance(sample_bytes, bool) or not isinstance(sample_bytes, int):
        raise TypeError(f"plumb.memory: sample_bytes is the mean number of "
                        f"bytes between samples, a whole number such as "
                        f"{DEFAULT_SAMPLE_BYTES} (got {sample_bytes!r})")
    if not 1 <= sample_bytes <= 1 << 40:
        raise ValueError(f"plumb.memory: sample_bytes must be between 1 "
                         f"(record every allocation: exact but slow) and "
                         f"2**40 (got {sample_bytes!r}); the default, "
                         f"{DEFAULT_SAMPLE_BYTES}, costs the program little")
    if not isinstance(native, bool):
        raise TypeError(f"plumb.memory: native must be True or False (got "
                        f"{native!r})")


def _active() -> Optional["Memory"]:
    m = _running
    if m is not None and m._pid == os.getpid():
        return m
    return None


class Memory:
    """A memory record of this process: made by plumb.memory(...), taken by
    a with block (or by each call of a function it decorates), read after
    the block ends.

    print(m) (or m.summary(top=N)) gives the terminal summary of `plumb
    mem`; m.top(stacks, by) the lines or functions of one aggregate
    ('peak': alive at the peak; 'allocated': allocated in all; 'end':
    still alive when the block ended); m.collapsed(), m.speedscope(),
    m.json() and m.save(path) its formats. The figures: peak_bytes,
    peak_s, allocated_bytes, allocations, samples, end_bytes,
    peak_rss_bytes, duration, sample_bytes, timeline.
    """

    def __init__(self, sample_bytes: int = DEFAULT_SAMPLE_BYTES,
                 native: bool = False):
        _check_options(sample_bytes, native)
        self._sample_bytes = sample_bytes
        self._native = native
        self._state = "new"   # running, done or forked
        self._pid = 0
        self._data: Any = None
        self._figures: dict = {}

    # ---- taking it ------------------------------------------------------

    def _start(self, nested_ok: bool = False) -> bool:
        global _running
        if self._state != "new":
            raise MemoryRecordError(
                "plumb.memory: this record has been taken already; each "
                "with block needs its own plumb.memory(...)")
        if sys.implementation.name != "cpython":
            raise MemoryRecordError(f"plumb.memory records CPython's "
                                    f"allocators; this is "
                                    f"{sys.implementation.name}")
        with _lock:
            if _active() is not None or _core.mem_recording():
                if nested_ok:
                    return False
                raise MemoryRecordError(
                    "plumb.memory: a memory recording of this process is "
                    "running already (another plumb.memory block, or plumb "
                    "mem around the whole program), and it covers this "
                    "code; one runs at a time: end the outer block first, "
                    "or read this code in its record")
            try:
                _core.mem_start(self._sample_bytes, native=self._native)
            except _core.RecordingError as err:
                raise MemoryRecordError(f"plumb.memory: {err}") from None
            self._pid = os.getpid()
            self._state = "running"
            _running = self
        return True

    def _stop(self) -> None:
        global _running
        with _lock:
            if _running is not self:
                return
            _running = None
            if self._pid != os.getpid():
                self._state = "forked"
                return
            data = _core.mem_stop()
        self._data = data
        self._figures = data.figures
        self._state = "done"

    def __enter__(self) -> "Memory":
        self._start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self._stop()
        return False

    def __call__(self, fn: Callable) -> Callable:
        """Decorates fn: each call is recorded with this record's options
        and its record is fn.memory afterwards (the last call's; None
        before the first). A call made while another recording runs (fn's
        own recursion, or inside a with block) runs unrecorded: that
        recording covers it."""
        if not callable(fn):
            raise TypeError(f"plumb.memory decorates a function, not "
                            f"{fn!r}; options go by keyword: "
                            f"plumb.memory(sample_bytes=4096)")
        sample_bytes, native = self._sample_bytes, self._native
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                m = Memory(sample_bytes, native)
                if not m._start(nested_ok=True):
                    return await fn(*args, **kwargs)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    m._stop()
                    async_wrapper.memory = m  # type: ignore[attr-defined]
            async_wrapper.memory = None  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            m = Memory(sample_bytes, native)
            if not m._start(nested_ok=True):
                return fn(*args, **kwargs)
            try:
                return fn(*args, **kwargs)
            finally:
                m._stop()
                wrapper.memory = m  # type: ignore[attr-defined]
        wrapper.memory = None  # type: ignore[attr-defined]
        return wrapper

    # ---- reading it -----------------------------------------------------

    def _need(self) -> Any:
        if self._state == "done":
            return self._data
        if self._state == "new":
            raise MemoryRecordError(
                "plumb.memory: this record has not been taken: use it as "
                "`with plumb.memory() as m:` or as a decorator, then read it")
        if self._state == "running":
            raise MemoryRecordError(
                "plumb.memory: the record is still being taken; read it "
                "after the with block ends")
        raise MemoryRecordError(
            "plumb.memory: this process was forked inside the block, and "
            "the record stayed with the parent; start a plumb.memory() in "
            "the child to record it")

    def _figure(self, name: str) -> Any:
        self._need()
        return self._figures[name]

    @property
    def peak_bytes(self) -> int:
        """The highest the block's live allocations reached (estimated)."""
        return self._figure("peak_bytes")

    @property
    def peak_s(self) -> float:
        """Seconds into the block when the peak was reached."""
        return self._figure("peak_ns") / 1e9

    @property
    def allocated_bytes(self) -> int:
        """Bytes allocated in the block in all (exact: every allocation is
        counted; a reallocation counts as a new allocation of its size)."""
        return self._figure("allocated_bytes")

    @property
    def allocations(self) -> int:
        return self._figure("allocations")

    @property
    def samples(self) -> int:
        """Allocations sampled."""
        return self._figure("samples")

    @property
    def end_bytes(self) -> int:
        """Allocated in the block and still alive at its end (estimated)."""
        return self._figure("end_bytes")

    @property
    def peak_rss_bytes(self) -> int:
        """The process's highest resident set so far (the kernel's mark)."""
        return self._figure("peak_rss_bytes")

    @property
    def duration(self) -> float:
        return self._figure("duration_ns") / 1e9

    @property
    def sample_bytes(self) -> int:
        """The sampling mean (readable before the record is taken)."""
        return self._sample_bytes

    @property
    def python(self) -> str:
        return self._figure("python")

    @property
    def timeline(self) -> List[tuple]:
        """(seconds, heap bytes, RSS bytes) points, oldest first."""
        return self._need().timeline()

    def top(self, stacks: str = "peak", by: str = "line",
            n: Optional[int] = None) -> List[MemoryLine]:
        """The lines (by='line') or functions (by='function') of one
        aggregate, most bytes first: 'peak' (alive at the peak),
        'allocated' or 'end' (still alive at the end: likely leaks)."""
        if stacks not in STACKS:
            raise ValueError(f"plumb.memory: stacks must be one of "
                             f"{', '.join(STACKS)} (got {stacks!r})")
        rows = [MemoryLine(*r) for r in self._need().top(stacks, by)]
        return rows if n is None else rows[:n]

    def summary(self, top: int = 10, color: bool = False) -> str:
        """The terminal summary of `plumb mem`."""
        return self._need().summary(top=top, color=color)

    def collapsed(self, stacks: str = "peak") -> str:
        """One aggregate as collapsed stacks (FlameGraph), in bytes."""
        return self._need().collapsed(stacks)

    def speedscope(self, stacks: str = "peak",
                   name: Optional[str] = None) -> str:
        """One aggregate as a speedscope file, weighted in bytes."""
        return self._need().speedscope(stacks, name)

    def json(self) -> str:
        """The versioned JSON document of `plumb mem --format json`."""
        return self._need().json()

    def save(self, path: Union[str, "os.PathLike[str]"],
             format: Optional[str] = None, stacks: str = "peak",
             top: int = 10) -> str:
        """Writes the record to path in `format` (text, collapsed,
        speedscope or json; without one the name says it: .txt,
        .collapsed or .folded, .speedscope.json, .json). Returns the
        format written."""
        return save_report("plumb.memory", path, format, {
            "text": lambda: self.summary(top=top),
            "collapsed": lambda: self.collapsed(stacks),
            "speedscope": lambda: self.speedscope(stacks),
            "json": self.json})

    def __str__(self) -> str:
        if self._state != "done":
            return repr(self)
        return self.summary()

    def __repr__(self) -> str:
        if self._state != "done":
            return (f"<plumb.Memory one sample per {self._sample_bytes} "
                    f"bytes: {self._state}>")
        f = self._figures
        return (f"<plumb.Memory peak {_size(f['peak_bytes'])} at "
                f"{f['peak_ns'] / 1e9:.3g} s, {_size(f['allocated_bytes'])} "
                f"allocated in {f['allocations']} allocations, "
                f"{_size(f['end_bytes'])} still alive; {f['samples']} "
                f"samples, one per {self._sample_bytes} bytes>")


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.4g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.4g} TB"


def memory(fn: Optional[Callable] = None, *,
           sample_bytes: int = DEFAULT_SAMPLE_BYTES,
           native: bool = False) -> Any:
    """Records this process's allocations while a block (or each call of a
    decorated function) runs: sampled by bytes, one sample per
    sample_bytes allocated on average, each with its Python stack.
    native=True also records malloc & co. from C extensions, which needs
    plumb's native shim preloaded (`plumb mem --native` does that).

        with plumb.memory() as m:
            work()
        print(m)

        @plumb.memory                       # or @plumb.memory(sample_bytes=1)
        def work(): ...
        work(); print(work.memory)          # the last call's record

    sample_bytes=1 records every allocation (exact, and slow). One
    recording runs at a time in a process: a with block inside another
    raises MemoryRecordError; a decorated function called while one runs
    runs unrecorded (that recording covers it).
    """
    m = Memory(sample_bytes=sample_bytes, native=native)
    if fn is None:
        return m
    return m(fn)


@atexit.register
def _stop_at_exit() -> None:
    """A recording left running stops before the interpreter tears down
    what its hooks read."""
    m = _active()
    if m is not None:
        m._stop()
