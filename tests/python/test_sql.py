"""plumb.sql: a block traced from Python, reported by the same analysis as
`plumb sql` (tests/cli/test_sql.py covers the tool)."""
import hashlib
import json
import os
import sqlite3
import stat

import pytest

import plumb

ROWS = 20_000


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("catalog") / "catalog.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT, "
                 "shelf INTEGER)")
    conn.executemany("INSERT INTO item VALUES (?, ?, ?)",
                     [(i, f"sku-{(i * 7919) % ROWS:06d}", i % 40)
                      for i in range(ROWS)])
    conn.commit()
    conn.close()
    return path


def lookups(path):
    conn = sqlite3.connect(path)
    for i in range(12):  # an N+1 loop, and a scan each time
        conn.execute("SELECT id FROM item WHERE sku = ?",
                     (f"sku-{i * 97:06d}",)).fetchall()
    conn.close()


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_trace_and_report(catalog):
    before = digest(catalog)
    with plumb.sql.trace() as t:
        lookups(catalog)
    assert t.queries == 12
    [s] = t.statements
    assert s["sql"] == "SELECT id FROM item WHERE sku = ?"
    assert s["calls"] == 12 and s["distinct_params"] == 12
    r = t.report()
    assert isinstance(r, plumb.sql.Report)
    assert r.has("n+1") and r.has("scan") and not r.has("literals")
    [n1] = [f for f in r.findings if f["kind"] == "n+1"]
    assert n1["function"] == "lookups" and n1["calls"] == 12
    assert n1["file"] == __file__
    [advised] = [x for x in r.indexes if x["advised"]]
    assert advised["columns"] == ["sku"] and advised["same_results"]
    assert advised["reads"]["ratio"] > 1
    text = str(r)
    assert "N+1 queries" in text and "<- advised" in text
    assert "sku-0" not in text  # values stay out
    assert digest(catalog) == before
    assert "finding" in repr(r)


def test_report_options(catalog):
    with plumb.sql.trace() as t:
        lookups(catalog)
    r = t.report(explain=False, n_plus_one=13)
    assert r.findings == [] and r.indexes == []
    assert r.statements[0]["plan"] is None
    r = t.report(advise=False, slow_ms=1e-9)
    assert r.has("slow") and r.has("scan") and r.indexes == []


def test_keep_params_and_save(catalog, tmp_path):
    with plumb.sql.trace(keep_params=True) as t:
        lookups(catalog)
    r = t.report(advise=False)
    runs = r.statements[0]["runs"]
    assert ["sku-000097"] in runs[0]["params"]
    path = tmp_path / "trace.json"
    t.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["plumb_sql_trace"] == 1 and doc["keep_params"] is True


def test_fingerprint():
    assert plumb.sql.fingerprint(
        "SELECT * FROM t WHERE a IN (1, 2, 3) AND b = 'x' -- note") == \
        plumb.sql.fingerprint("select *  from t where a in (4,5) and b='y'")


def test_misuse(catalog):
    t = plumb.sql.trace()
    with pytest.raises(RuntimeError, match="when its with block"):
        t.statements
    with t:
        pass
    with pytest.raises(RuntimeError, match="runs once"):
        with t:
            pass
    with pytest.raises(ValueError, match="kind must be one of"):
        t.report().has("n+2")
    with pytest.raises(ValueError):
        t.report(rounds=1)
