"""Stored Python results: plumb.bench and plumb.compare with store=, what
the plumb tool (plumb runs, show, compare) reads of them, and the errors a
bad store gives.

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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = os.path.join(ROOT, "python")


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
