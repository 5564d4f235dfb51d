"""plumb's pytest plugin: the `plumb_bench` fixture, stored results, and a
regression gate. An installed plumb registers it through the `pytest11`
entry point; from a checkout, load it with `-p plumb.pytest_plugin`.

    def test_sort(plumb_bench):
        out = plumb_bench(sorted, data)       # timed like plumb.bench
        assert out == expected                # fn's own return value

`plumb_bench(fn, *args, **kwargs)` takes plumb.bench's arguments and
keyword options (setup=, budget=, samples=, loops=, ...). It calls fn once,
untimed, so that an exception fails the test with its own traceback, and
returns what that call returned, as pytest-benchmark does; then it times
fn with plumb.bench. The Result is `plumb_bench.result`. One callable per
test: the result is named by the test's node id.

At the end of the session every passing benchmark is stored as one session
of the plumb tool's store (--plumb-store PATH, else $PLUMB_STORE, else
.plumb/plumb.db, as `plumb` itself), where `plumb runs`, `plumb show` and
`plumb compare` read them, and a table of the results is printed.
--plumb-compare compares each test with its previous stored result (same
node id; --plumb-compare=SESSION: its result in that stored session) with
plumb_compare, the statistics of plumb.compare and `plumb bench`, and fails
the session when a test is significantly slower: p < --plumb-alpha, a 95%
CI of the ratio excluding 1, and a slowdown beyond --plumb-min-effect (5%:
unlike plumb.compare's interleaved rounds, two sessions run at different
times, and a machine drifts by a few percent between them).
"""
import math
import os
from typing import Any, Callable, Dict, List, Optional

import pytest

from . import _core, _store
from ._bench import Result, bench
from ._compare import Comparison
from ._measure import DEFAULT_SEED, check_callable

PLUGIN_NAME = "plumb-session"
HINT = "give another file with --plumb-store PATH"
API = "plumb_bench"
# Store errors read "plumb: cannot use the store PATH: ..."
STORE_API = "plumb"
DEFAULT_MIN_EFFECT_PERCENT = 5.0
DEFAULT_ALPHA = 0.05
LEVEL = 0.95
RESAMPLES = 5000


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup(
        "plumb", "plumb: the plumb_bench fixture and stored results")
    group.addoption(
        "--plumb-store", metavar="PATH", default=None,
        help="the store of plumb_bench results (default $PLUMB_STORE or "
             ".plumb/plumb.db, as the plumb tool)")
    group.addoption(
        "--plumb-no-store", action="store_true", default=False,
        help="do not store this session's results (--plumb-compare still "
             "reads the store)")
    group.addoption(
        "--plumb-compare", metavar="SESSION", nargs="?", const="previous",
        default=None,
        help="compare each plumb_bench test with its previous stored result "
             "(=SESSION: with its result in that stored session, see plumb "
             "runs) and fail the session when one is significantly slower")
    group.addoption(
        "--plumb-min-effect", metavar="PCT", default=None,
        help="the smallest slowdown that fails --plumb-compare, in %% "
             "(%g)" % DEFAULT_MIN_EFFECT_PERCENT)
    group.addoption(
        "--plumb-alpha", metavar="A", default=None,
        help="significance level of --plumb-compare (%g)" % DEFAULT_ALPHA)
    group.addoption(
        "--plumb-budget", metavar="SECONDS", default=None,
        help="measuring time per test (1; a budget= given to plumb_bench "
             "wins)")
    group.addoption(
        "--plumb-disable", action="store_true", default=False,
        help="call each benchmarked function once, without measuring, "
             "storing or comparing")


def _number(config: Any, option: str, text: Optional[str], default: float,
            low: float, high: float, meaning: str) -> float:
    if text is None:
        return default
    raw = text[:-1] if text.endswith("%") else text
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise pytest.UsageError(f"{option} takes {meaning} (got {text!r})")
    return value


class _Entry:
    """One benchmarked test: its result and, with --plumb-compare, how it
    compares with its previous result."""

    __slots__ = ("nodeid", "result", "command", "seed", "previous_id",
                 "comparison", "passed")

    def __init__(self, nodeid: str, result: Result, command: str,
                 seed: int) -> None:
        self.nodeid = nodeid
        self.result = result
        self.command = command
        self.seed = seed
        self.previous_id: Optional[int] = None
        self.comparison: Optional[Comparison] = None
        self.passed = True


class _Session:
    """The plugin's state for one pytest session (registered as
    "plumb-session"): the options, the results in order, and what storing
    and comparing them gave."""

    def __init__(self, config: Any) -> None:
        opt = config.option
        self.disabled: bool = opt.plumb_disable
        self.no_store: bool = opt.plumb_no_store
        # Absolute now: a test may change the working directory before the
        # results are stored at the end.
        self.path: str = os.path.abspath(
            _store.resolve(STORE_API, opt.plumb_store or True))
        self.compare_session: Optional[int] = None
        self.compare = opt.plumb_compare is not None
        if opt.plumb_compare not in (None, "previous"):
            text = opt.plumb_compare
            if not text.isdigit() or int(text) == 0:
                raise pytest.UsageError(
                    f"--plumb-compare=SESSION takes a stored session id, the "
                    f"number in the SESSION column of plumb runs (got "
                    f"{text!r}); alone, --plumb-compare compares with each "
                    f"test's previous result (write --plumb-compare=ID, with "
                    f"the =, or put --plumb-compare after the test paths)")
            self.compare_session = int(text)
        self.min_effect = _number(
            config, "--plumb-min-effect", opt.plumb_min_effect,
            DEFAULT_MIN_EFFECT_PERCENT, 0, 100,
            "a percentage from 0 to 100, such as 5 or 2.5%") / 100
        self.alpha = _number(config, "--plumb-alpha", opt.plumb_alpha,
                             DEFAULT_ALPHA, 1e-12, 1 - 1e-12,
                             "a probability between 0 and 1, such as 0.05")
        self.budget = _number(config, "--plumb-budget", opt.plumb_budget,
                              1.0, 1e-6, math.inf,
                              "a positive number of seconds, such as 0.5")
        self.entries: Dict[str, _Entry] = {}
        self.store_checked = False
        self.session_id: Optional[int] = None
        self.store_error: Optional[str] = None
        self.compare_error: Optional[str] = None
        self.regressions: List[_Entry] = []

    # -- the store ------------------------------------------------------

    def ensure_store(self) -> None:
        """Opens the store at the first benchmark, not before: a project
        that never uses plumb_bench gets no .plumb/ from the plugin. A
        store that cannot be used stops the session there."""
        if self.store_checked or (self.no_store and not self.compare):
            return
        try:
            _store.check(STORE_API, self.path, HINT)
        except _store.StoreError as e:
            pytest.exit(str(e), returncode=pytest.ExitCode.USAGE_ERROR)
        self.store_checked = True

    def add(self, nodeid: str, result: Result, command: str,
            seed: int) -> None:
        self.entries[nodeid] = _Entry(nodeid, result, command, seed)

    # -- hooks ------------------------------------------------------------

    def pytest_runtest_logreport(self, report: Any) -> None:
        # A test that fails (in its call or its teardown) after measuring
        # measured something that does not work: not stored, not compared.
        entry = self.entries.get(report.nodeid)
        if entry is not None and report.failed:
            entry.passed = False

    def _compare(self) -> None:
        for entry in self.entries.values():
            if not entry.passed:
                continue
            try:
                previous_id = _store.find(STORE_API, self.path, entry.nodeid,
                                          self.compare_session or 0, HINT)
                if previous_id is None:
                    continue
                stored = _store.load(STORE_API, self.path, previous_id, HINT)
            except _store.StoreError as e:
                self.compare_error = str(e)
                return
            entry.previous_id = previous_id
            if len(stored["loop_ns"]) < 2 or not stored["loops"]:
                continue  # a command run or a profile: not comparable
            previous = Result(f"run {previous_id}", stored["loops"],
                              stored["loop_ns"], math.nan)
            previous.run_id = previous_id
            previous.session_id = stored["session_id"]
            previous.store = self.path
            c = _core.compare(previous.samples_ns, entry.result.samples_ns,
                              alpha=self.alpha, min_effect=self.min_effect,
                              level=LEVEL, resamples=RESAMPLES,
                              seed=entry.seed)
            entry.comparison = Comparison(previous, entry.result, c, LEVEL,
                                          self.alpha, self.min_effect)
            if entry.comparison.verdict == "slower":
                self.regressions.append(entry)

    def _save(self) -> None:
        entries = [e for e in self.entries.values() if e.passed]
        if not entries:
            return
        overhead = max((e.result.overhead_ns for e in entries),
                       default=math.nan)
        try:
            self.session_id, _ = _store.save(
                STORE_API, self.path,
                [(e.result, e.command, -1) for e in entries],
                seed=entries[0].seed, overhead_ns=overhead, hint=HINT)
        except _store.StoreError as e:
            self.store_error = str(e)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: Any) -> None:
        if not self.entries:
            return
        # Compared before storing: this session's runs are not "previous".
        if self.compare:
            self._compare()
        if not self.no_store:
            self._save()
        if (self.regressions or self.store_error or self.compare_error) \
                and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.entries:
            return
        tr = terminalreporter
        entries = list(self.entries.values())
        tr.write_sep("-", f"plumb: {len(entries)} benchmark"
                          f"{'s' if len(entries) != 1 else ''} (time per "
                          f"call, median and 95% CI)")
        rows = [_row(e, self.compare) for e in entries]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            tr.write_line("  ".join(cell.ljust(w) for cell, w in
                                    zip(r, widths)).rstrip())
        if self.store_error:
            tr.write_line(f"{self.store_error}; nothing was stored",
                          red=True)
        elif self.session_id is not None:
            ids = [e.result.run_id for e in entries if e.result.run_id]
            span = (f"run {ids[0]}" if len(ids) == 1 else
                    f"runs {ids[0]}-{ids[-1]}")
            tr.write_line(f"plumb: stored as session {self.session_id} "
                          f"({span}) in {self.path}; plumb runs, plumb show "
                          f"ID and plumb compare ID ID read them")
        elif self.no_store:
            tr.write_line("plumb: not stored (--plumb-no-store)")
        if self.compare_error:
            tr.write_line(f"{self.compare_error}; nothing was compared",
                          red=True)
        if self.regressions:
            n = len(self.regressions)
            tr.write_sep("=", f"plumb: {n} significant regression"
                              f"{'s' if n != 1 else ''}", red=True)
            for e in self.regressions:
                tr.write_line(repr(e.comparison), red=True)
            first = self.regressions[0]
            again = (f"plumb compare --store {self.path} "
                     f"{first.previous_id} {first.result.run_id} shows the "
                     f"first in full" if first.result.run_id else
                     "plumb show RUN shows a stored run in full")
            tr.write_line(
                f"(slower beyond {self.min_effect:.0%} with p < {self.alpha:g}"
                f" and a {LEVEL:.0%} CI of the ratio excluding 1; {again})")


def _row(e: _Entry, compare: bool) -> List[str]:
    r = e.result
    half = max(r.median_ns - r.ci_low_ns, r.ci_high_ns - r.median_ns)
    cells = [e.nodeid if e.passed else f"{e.nodeid} (failed, not kept)",
             _core.format_ns(r.median_ns),
             f"± {_core.format_ns(half, r.median_ns)}",
             f"{r.n} × {r.loops} calls"]
    if not compare:
        return cells
    c = e.comparison
    if not e.passed:
        cells.append("")
    elif c is None and e.previous_id is None:
        cells.append("no previous result")
    elif c is None:
        cells.append(f"run {e.previous_id} cannot be compared")
    elif c.factor is None:
        cells.append(f"vs run {e.previous_id}: {c.verdict} ({c.p_text})")
    elif not c.significant:
        cells.append(f"vs run {e.previous_id}: no significant difference "
                     f"({c.factor:.2f}x {c.words} [{c.factor_low:.2f}, "
                     f"{c.factor_high:.2f}], {c.p_text})")
    else:
        cells.append(f"vs run {e.previous_id}: {c.factor:.2f}x {c.words} "
                     f"[{c.factor_low:.2f}, {c.factor_high:.2f}] {c.p_text}")
    return cells


def pytest_configure(config: Any) -> None:
    config.pluginmanager.register(_Session(config), PLUGIN_NAME)


class BenchFixture:
    """The plumb_bench fixture: call it with a callable and its arguments,
    as plumb.bench; it returns the callable's own return value. After the
    call, `result` is the plumb.Result (None before, and with
    --plumb-disable)."""

    def __init__(self, session: _Session, nodeid: str) -> None:
        self._session = session
        self._nodeid = nodeid
        self._called = False
        self.result: Optional[Result] = None

    def __call__(self, fn: Callable[..., Any], /, *args: Any,
                 setup: Optional[Callable[[], Any]] = None, gc: bool = True,
                 budget: Optional[float] = None, samples: int = 0,
                 min_samples: int = 10, max_samples: int = 0, loops: int = 0,
                 warmup: int = 1, seed: int = DEFAULT_SEED,
                 **kwargs: Any) -> Any:
        if self._called:
            raise RuntimeError(
                f"{API}: called twice in {self._nodeid}; a test measures one "
                f"callable (its result is stored under the test's id): split "
                f"the test, or parametrize it")
        self._called = True
        check_callable(API, "fn", fn)
        if setup is not None:
            check_callable(API, "setup", setup)
            setup()
        value = fn(*args, **kwargs)
        if self._session.disabled:
            return value
        self._session.ensure_store()
        result = bench(fn, *args, setup=setup, gc=gc,
                       budget=self._session.budget if budget is None
                       else budget,
                       samples=samples, min_samples=min_samples,
                       max_samples=max_samples, loops=loops, warmup=warmup,
                       seed=seed, **kwargs)
        result.name = self._nodeid
        self.result = result
        self._session.add(self._nodeid, result, _store.command_of(fn), seed)
        return value


@pytest.fixture
def plumb_bench(request: Any) -> BenchFixture:
    """Times a callable with plumb.bench and keeps the result under the
    test's node id: plumb_bench(fn, *args, **kwargs) returns fn's value."""
    session = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    return BenchFixture(session, request.node.nodeid)
