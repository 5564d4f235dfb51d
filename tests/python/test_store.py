"""Stored Python results and the pytest plugin: plumb.bench and
plumb.compare with store=, what the plumb tool (plumb runs, show, compare)
reads of them, the errors a bad store gives, and the plumb_bench fixture
with --plumb-compare, run in inner pytest sessions (pytester).

The tool is build/plumb when `make` built it (or $PLUMB), else the same C
code linked into the extension (`python -m plumb`)."""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

import plumb
from plumb import _core

pytest_plugins = ["pytester"]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = os.path.join(ROOT, "python")


@pytest.fixture(autouse=True)
def explicit_plugin(monkeypatch):
    """Inner pytest sessions load the plugin with -p only: an installed
    plumb, or the plumb.egg-info that `pip install .` leaves in python/,
    would register it a second time through its entry point."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def tool(*args, check=0):
    """Runs the plumb tool; its CompletedProcess, exit status `check`."""
    binary = os.environ.get("PLUMB") or os.path.join(ROOT, "build", "plumb")
    if os.path.exists(binary):
        argv = [binary, *args]
    else:
        argv = [sys.executable, "-m", "plumb", *args]
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def nap():
    time.sleep(0.0005)


def add(a, b):
    return a + b


# -- plumb.bench and plumb.compare with store= ----------------------------

def test_bench_stores_a_run_the_tool_lists_shows_and_loads(tmp_path):
    db = tmp_path / "deep" / "er" / "results.db"  # directories are made
    r = plumb.bench(add, 2, 3, budget=0.05, store=db)
    assert r.store == str(db) and db.exists()
    assert r.run_id >= 1 and r.session_id >= 1

    runs = tool("runs", "--store", str(db)).stdout
    line = next(l for l in runs.splitlines() if l.rstrip().endswith(" add"))
    fields = line.split()
    assert int(fields[0]) == r.run_id and int(fields[1]) == r.session_id
    assert int(fields[4]) == r.n
    # the median per call, in ns (a call of add takes well under 1 us)
    assert fields[6] == "ns"
    assert float(fields[5]) == pytest.approx(r.median_ns, abs=0.051)

    show = tool("show", "--store", str(db), str(r.run_id)).stdout
    assert f"add  {add.__module__}:add" in show
    assert f"{r.n} samples × {r.loops} calls" in show
    assert f"stored as run {r.run_id}" in show
    assert "per call (the timing loop" in show
    assert "CPython" in show

    # the samples come back per call, as measured
    stored = _core.store_load(str(db), r.run_id)
    assert stored["name"] == "add" and stored["loops"] == r.loops
    assert stored["loop_ns"] == pytest.approx(list(r.samples_ns), rel=1e-9,
                                              abs=0.5 / r.loops)
    assert stored["session_id"] == r.session_id


def test_json_of_a_stored_result_has_per_call_statistics(tmp_path):
    db = str(tmp_path / "p.db")
    r = plumb.bench(nap, samples=5, budget=0.01, store=db)
    import json
    doc = json.loads(tool("show", "--store", db, str(r.run_id),
                          "--export-json", "-").stdout)
    [run] = doc["runs"]
    assert run["loops"] == r.loops and run["n_samples"] == r.n == 5
    assert run["statistics"]["wall_ns"]["median"] == pytest.approx(
        r.median_ns, rel=1e-6)
    # each sample keeps the time of all its calls
    walls = [s["wall_ns"] for s in run["samples"]]
    assert walls == [round(t * r.loops) for t in r.samples_ns]


def test_default_is_not_stored_and_true_is_the_tools_store(tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLUMB_STORE", raising=False)
    r = plumb.bench(add, 1, 2, budget=0.01)
    assert (r.run_id, r.session_id, r.store) == (None, None, None)
    r = plumb.bench(add, 1, 2, budget=0.01, store=False)
    assert r.run_id is None
    assert not (tmp_path / ".plumb").exists()

    r = plumb.bench(add, 1, 2, budget=0.01, store=True)
    assert r.store == ".plumb/plumb.db"
    assert (tmp_path / ".plumb" / "plumb.db").exists()
    assert " add" in tool("runs").stdout  # the tool's own default

    team = tmp_path / "team.db"
    monkeypatch.setenv("PLUMB_STORE", str(team))
    r2 = plumb.bench(add, 1, 2, budget=0.01, store=True)
    assert r2.store == str(team) and team.exists()
    assert r2.session_id == 1  # a store of its own


def test_compare_stores_one_session_the_tool_compares_again(tmp_path):
    db = str(tmp_path / "c.db")
    c = plumb.compare(nap, lambda: time.sleep(0.0015), budget=0.1, store=db)
    base, cand = c.baseline, c.candidate
    assert c.verdict == "slower"
    assert base.session_id == cand.session_id
    assert cand.run_id == base.run_id + 1
    out = tool("compare", "--store", db, str(base.run_id),
               str(cand.run_id)).stdout
    # the tool reaches the same verdict on the stored samples
    assert "slower than nap" in out
    assert f"stored as run {cand.run_id}" in out
    # the stored session keeps the candidate's baseline
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT idx, baseline, kind FROM runs ORDER BY "
                            "idx").fetchall()
    assert rows == [(0, None, "loop"), (1, 0, "loop")]


# -- stores that cannot be used --------------------------------------------

def counting():
    calls = []
    return calls, lambda: calls.append(1)


def test_a_file_that_is_not_a_store_fails_before_measuring(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"my notes, not a database\n" * 100)
    before = bad.read_bytes()
    calls, fn = counting()
    with pytest.raises(plumb.StoreError) as e:
        plumb.bench(fn, budget=0.01, store=bad)
    assert calls == []  # nothing was measured
    assert e.value.code == "STORE" and e.value.path == str(bad)
    message = str(e.value)
    assert message.startswith(f"plumb.bench: cannot use the store {bad}: ")
    assert "not a plumb store" in message and "not a SQLite database" in \
        message
    assert "pass another file as store=" in message
    assert "--store" not in message
    assert bad.read_bytes() == before


def test_another_programs_database_is_left_as_it_was(tmp_path):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    before = db.read_bytes()
    with pytest.raises(plumb.StoreError, match="not a plumb store: it is a "
                       "SQLite database of other tables"):
        plumb.compare(nap, nap, budget=0.01, store=str(db))
    assert db.read_bytes() == before


def test_a_store_from_a_newer_plumb_is_refused_untouched(tmp_path):
    db = tmp_path / "new.db"
    plumb.bench(add, 1, 1, budget=0.01, store=db)  # a real store
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    before = db.read_bytes()
    with pytest.raises(plumb.StoreError) as e:
        plumb.bench(add, 1, 1, budget=0.01, store=db)
    assert e.value.code == "SCHEMA"
    assert "written by a newer plumb (schema 999" in str(e.value)
    assert "upgrade plumb or pass another file as store=" in str(e.value)
    assert db.read_bytes() == before


def test_an_unwritable_place_names_the_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(plumb.StoreError, match="cannot create directory "
                       f"{blocker} for the store .*a file of that name is in "
                       "the way; pass another file as store="):
        plumb.bench(add, 1, 1, budget=0.01, store=blocker / "sub" / "x.db")


def test_store_argument_types(tmp_path):
    with pytest.raises(TypeError, match="store must be True"):
        plumb.bench(add, 1, 1, store=3)
    with pytest.raises(ValueError, match="store must name a file"):
        plumb.bench(add, 1, 1, store="")


# -- the pytest plugin -----------------------------------------------------

TESTS = """
import os, time

DELAY = {delay}

def test_nap(plumb_bench):
    assert plumb_bench(time.sleep, DELAY) is None

def test_add(plumb_bench):
    # sleeps too: a sleep lasts as long from one session to the next, where
    # CPU-bound work drifts with the load of a shared machine; 2 ms, as a
    # VM's wake-up jitter (up to 0.1 ms) made a 0.5 ms sleep read 16%
    # slower from one session to the next
    out = plumb_bench(lambda a, b: (time.sleep(0.002), a + b)[1], 2, b=3)
    assert out == 5
    assert plumb_bench.result.n >= 10 and plumb_bench.result.loops >= 1
"""


def session(pytester, *args, delay=0.001):
    """An inner pytest session of TESTS with the plugin and a short
    budget, storing in store.db."""
    pytester.makepyfile(test_timed=TESTS.format(delay=delay))
    return pytester.runpytest("-p", "plumb.pytest_plugin",
                              "--plumb-budget=0.1", "--plumb-store=store.db",
                              *args)


def test_plugin_stores_each_test_by_node_id(pytester):
    result = session(pytester)
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "plumb: 2 benchmarks (time per call, median and 95% CI)" in out
    result.stdout.fnmatch_lines([
        "test_timed.py::test_nap *ms*± * × * calls",
        "test_timed.py::test_add *ms*± * × * calls",
        f"plumb: stored as session 1 (runs 1-2) in {pytester.path}/store.db;*",
    ])
    db = str(pytester.path / "store.db")
    assert _core.store_find(db, "test_timed.py::test_nap") == 1
    assert _core.store_find(db, "test_timed.py::test_add") == 2
    stored = _core.store_load(db, 1)
    assert stored["command"] == "time:sleep"
    assert 1.0e6 < sorted(stored["loop_ns"])[len(stored["loop_ns"]) // 2] \
        < 5e6
    runs = tool("runs", "--store", db).stdout
    assert "test_timed.py::test_nap" in runs and "test_timed.py::test_add" \
        in runs


def test_compare_fails_the_session_on_a_2x_slower_test(pytester):
    assert session(pytester).ret == 0
    # unchanged: compared, and nothing fails
    same = session(pytester, "--plumb-compare")
    assert same.ret == 0, same.stdout.str()
    same.stdout.fnmatch_lines(["test_timed.py::test_nap * vs run 1: *",
                               "test_timed.py::test_add * vs run 2: *"])
    assert "significant regression" not in same.stdout.str()

    # test_nap now sleeps twice as long
    slow = session(pytester, "--plumb-compare", delay=0.002)
    assert slow.ret == 1
    slow.assert_outcomes(passed=2)  # the tests pass; the session fails
    out = slow.stdout.str()
    slow.stdout.re_match_lines([
        r".*= plumb: 1 significant regression =.*",
        r"test_timed\.py::test_nap  \d+\.\d\dx slower than run 3  "
        r"\[\d+\.\d\d, \d+\.\d\d\]  p[<=]0\.0\d+$",
        r"\(slower beyond 5% with p < 0\.05 and a 95% CI of the ratio "
        r"excluding 1;",
    ])
    line = next(l for l in out.splitlines()
                if l.startswith("test_timed.py::test_nap  ")
                and "slower than run 3" in l)
    factor = float(line.split()[1].rstrip("x"))
    assert 1.5 < factor < 2.5
    assert "test_timed.py::test_add  " not in out.split(
        "significant regression")[1]
    # the slow results are stored too, after the comparison
    assert "plumb: stored as session 3 (runs 5-6)" in out
    # and the tool, on the two stored runs, gives the same figures: the
    # same C statistics with the same bootstrap seed
    db = str(pytester.path / "store.db")
    assert f"plumb compare --store {db} 3 5 shows the first in full)" in out
    again = tool("compare", "--store", db, "3", "5").stdout
    figures = line.split("slower than run 3")[1].strip()  # [lo, hi]  p
    assert f"test_timed.py::test_nap  {factor:.2f}x slower than " \
        f"test_timed.py::test_nap  {figures}" in again


def test_compare_with_a_chosen_session(pytester):
    assert session(pytester).ret == 0                       # session 1: fast
    assert session(pytester, delay=0.002).ret == 0          # session 2: slow
    # against session 1, the slow code is a regression; against the
    # previous session (2), it is not
    against_first = session(pytester, "--plumb-compare=1", delay=0.002)
    assert against_first.ret == 1
    against_first.stdout.fnmatch_lines(["*vs run 1: *x slower*"])
    against_last = session(pytester, "--plumb-compare", delay=0.002)
    assert against_last.ret == 0, against_last.stdout.str()
    against_last.stdout.fnmatch_lines(["*test_nap * vs run 5: *"])


def test_compare_without_history_and_without_storing(pytester):
    first = session(pytester, "--plumb-compare", "--plumb-no-store")
    assert first.ret == 0
    first.stdout.fnmatch_lines(["test_timed.py::test_nap *no previous "
                                "result",
                                "plumb: not stored (--plumb-no-store)"])
    db = str(pytester.path / "store.db")
    assert _core.store_find(db, "test_timed.py::test_nap") is None


def test_disable_calls_once_without_measuring(pytester):
    pytester.makepyfile(test_once="""
        calls = []

        def test_once(plumb_bench):
            assert plumb_bench(calls.append, 1) is None
            assert plumb_bench.result is None
            assert calls == [1]
    """)
    result = pytester.runpytest("-p", "plumb.pytest_plugin",
                                "--plumb-disable")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    assert "plumb:" not in result.stdout.str()
    assert not (pytester.path / ".plumb").exists()


def test_failures_twice_and_bad_callables(pytester):
    pytester.makepyfile(test_misuse="""
        def test_twice(plumb_bench):
            plumb_bench(len, "ab")
            plumb_bench(len, "ab")

        def test_fails_after(plumb_bench):
            assert plumb_bench(len, "ab") == 3

        def test_raises(plumb_bench):
            plumb_bench(lambda: 1 / 0)

        def test_not_callable(plumb_bench):
            plumb_bench(len("ab"))

        def test_good(plumb_bench):
            assert plumb_bench(len, "ab") == 2
    """)
    result = pytester.runpytest("-p", "plumb.pytest_plugin",
                                "--plumb-budget=0.05",
                                "--plumb-store=misuse.db")
    result.assert_outcomes(passed=1, failed=4)
    out = result.stdout.str()
    assert "plumb_bench: called twice in test_misuse.py::test_twice" in out
    assert "ZeroDivisionError" in out  # the callable's own traceback
    assert "plumb_bench: fn must be callable, got int" in out
    # failing tests are neither stored nor compared
    result.stdout.fnmatch_lines(["*test_fails_after (failed, not kept)*",
                                 "plumb: stored as session 1 (run 1) in*"])
    db = str(pytester.path / "misuse.db")
    assert _core.store_find(db, "test_misuse.py::test_fails_after") is None
    assert _core.store_find(db, "test_misuse.py::test_twice") is None
    assert _core.store_find(db, "test_misuse.py::test_good") == 1


def test_a_bad_store_stops_the_session_with_the_fix(pytester):
    bad = pytester.path / "bad.db"
    bad.write_text("not sqlite")
    result = session(pytester, f"--plumb-store={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([
        f"*plumb: cannot use the store {bad}: {bad} is not a plumb store: "
        f"it is not a SQLite database; give another file with --plumb-store "
        f"PATH*"])
    assert bad.read_text() == "not sqlite"


def test_bad_options_are_usage_errors(pytester):
    pytester.makepyfile(test_nothing="def test_nothing(): pass")
    for args, words in [
            (["--plumb-compare=last"], "--plumb-compare=SESSION takes a "
                                       "stored session id"),
            (["--plumb-min-effect=200"], "--plumb-min-effect takes a "
                                         "percentage from 0 to 100"),
            (["--plumb-alpha=1"], "--plumb-alpha takes a probability"),
            (["--plumb-budget=0"], "--plumb-budget takes a positive "
                                   "number of seconds")]:
        result = pytester.runpytest("-p", "plumb.pytest_plugin", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert words in result.stderr.str()
    # a project that never uses the fixture gets no store
    assert pytester.runpytest("-p", "plumb.pytest_plugin").ret == 0
    assert not (pytester.path / ".plumb").exists()


def test_min_effect_and_alpha_reach_the_comparison(pytester):
    assert session(pytester).ret == 0
    # about 1.45x slower: a regression at the default 5%, not beyond 80%
    lenient = session(pytester, "--plumb-compare", "--plumb-min-effect=80%",
                      delay=0.0015)
    assert lenient.ret == 0, lenient.stdout.str()
    lenient.stdout.fnmatch_lines(["*test_nap * vs run 1: no significant "
                                  "difference (1.*x slower*"])
    strict = session(pytester, "--plumb-compare=1", delay=0.0015)
    assert strict.ret == 1
    strict.stdout.fnmatch_lines(["*test_nap * vs run 1: 1.*x slower*"])
    # and with a p-value no sample count here can reach, nothing is
    # significant
    sure = session(pytester, "--plumb-compare=1", "--plumb-alpha=1e-12",
                   delay=0.0015)
    assert sure.ret == 0, sure.stdout.str()
    sure.stdout.fnmatch_lines(["*test_nap * vs run 1: no significant "
                               "difference*"])


# -- packaging ---------------------------------------------------------------

def test_the_entry_point_is_declared():
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["entry-points"]["pytest11"] == {
        "plumb": "plumb.pytest_plugin"}
    import plumb.pytest_plugin as plugin
    assert callable(plugin.pytest_addoption)
    assert callable(plugin.plumb_bench)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_pip_install_registers_the_plugin(tmp_path):
    """An installed plumb is found by pytest with no -p and no conftest."""
    target = tmp_path / "site"
    egg_info = os.path.join(PACKAGE, "plumb.egg-info")
    had_egg_info = os.path.exists(egg_info)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation",
         "--no-deps", "--no-index", "--quiet", "--target", str(target), ROOT],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    if not had_egg_info:  # pip's in-tree build leaves it behind
        shutil.rmtree(egg_info, ignore_errors=True)
    assert build.returncode == 0, build.stdout + build.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_p.py").write_text(
        "def test_p(plumb_bench):\n"
        "    assert plumb_bench(abs, -3) == 3\n")
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("PLUMB_STORE", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)  # the point of it
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--plumb-budget=0.05", "test_p.py"],
        capture_output=True, text=True, timeout=300, cwd=project, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "plumb: stored as session 1 (run 1)" in run.stdout
    assert (project / ".plumb" / "plumb.db").exists()
    # the plugin came from the installed copy
    assert str(target) in subprocess.run(
        [sys.executable, "-c", "import plumb.pytest_plugin as p; "
         "print(p.__file__)"], capture_output=True, text=True, env=env,
        cwd=project).stdout
