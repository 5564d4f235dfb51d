"""plumb sql's tracer (python/plumb/_sqltrace.py) and its boot
(python/plumb/_sqlboot/): the trace of known queries on sqlite3 and on a
real PostgreSQL server through psycopg2, their sites, times, rows,
parameters and errors, the user's classes kept, threads, and a program
traced from start-up in a subprocess."""
import contextlib
import decimal
import gc
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from plumb import _sqltrace

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.abspath(os.path.join(HERE, "..", "..", "python"))
BOOT_DIR = os.path.join(PYTHON_DIR, "plumb", "_sqlboot")
TRACER_FILE = os.path.join(PYTHON_DIR, "plumb", "_sqltrace.py")


def line_of(marker, path=__file__):
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + marker):
                return number
    raise AssertionError(marker)


class Traced:
    """What `with traced() as t:` leaves: t.trace, and t.stmt(sql)."""
    trace = None

    def stmts(self, sql):
        return [s for s in self.trace["statements"] if s["sql"] == sql]

    def stmt(self, sql):
        found = self.stmts(sql)
        assert len(found) == 1, (sql, found, self.trace["statements"])
        return found[0]


@contextlib.contextmanager
def traced(keep_params=False):
    t = Traced()
    tracer = _sqltrace.start(keep_params=keep_params)
    try:
        yield t
    finally:
        t.trace = tracer.stop()


def books(conn, authors=50, per_author=3):
    conn.execute("CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE book (id INTEGER PRIMARY KEY, "
                 "author_id INTEGER, title TEXT)")
    conn.executemany("INSERT INTO author VALUES (?, ?)",
                     [(i, f"author {i}") for i in range(authors)])
    conn.executemany("INSERT INTO book (author_id, title) VALUES (?, ?)",
                     [(i, f"book {i}.{j}") for i in range(authors)
                      for j in range(per_author)])


# ---- sqlite3 ----------------------------------------------------------------

def test_a_file_database_is_named_by_its_absolute_path(tmp_path,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    with traced() as t:
        conn = sqlite3.connect("app.db")  # CONNECT_FILE
        conn.execute("CREATE TABLE t (x)")
        conn.close()
    (c,) = t.trace["connections"]
    assert c == {"id": 1, "driver": "sqlite3",
                 "target": str(tmp_path / "app.db"), "file": __file__,
                 "line": line_of("CONNECT_FILE")}
    assert t.stmt("CREATE TABLE t (x)")["conn"] == 1


def test_memory_and_uri_databases_are_named_as_given(tmp_path):
    uri = f"file:{tmp_path}/u.db?mode=rwc"
    with traced() as t:
        a = sqlite3.connect(":memory:")
        b = sqlite3.connect(uri, uri=True)
        a.execute("SELECT 1").fetchall()
        b.execute("SELECT 2").fetchall()
        a.close()
        b.close()
    targets = [c["target"] for c in t.trace["connections"]]
    assert targets == [":memory:", uri]
    assert t.stmt("SELECT 1")["conn"] == 1
    assert t.stmt("SELECT 2")["conn"] == 2


def test_the_trace_has_the_format_fields():
    with traced(keep_params=True) as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT ?", (1,)).fetchone()
    trace = t.trace
    assert list(trace)[0] == "plumb_sql_trace"
    assert trace["plumb_sql_trace"] == 1
    assert trace["pid"] == os.getpid()
    assert trace["python"] == "%d.%d.%d" % sys.version_info[:3]
    assert trace["argv"] == sys.argv
    assert trace["wall_ns"] > 0
    assert trace["keep_params"] is True
    (s,) = trace["statements"]
    assert set(s) == {"conn", "sql", "file", "line", "func", "many",
                      "calls", "errors", "total_ns", "min_ns", "max_ns",
                      "rows", "distinct_params", "samples"}
    json.dumps(trace)  # all of it is JSON


def test_positional_and_named_parameters_are_sampled_as_json():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT ?, ?, ?, ?, ?, ?",
                     (None, 7, 2.5, "é'x", True, b"\x00\xff")).fetchall()
        conn.execute("SELECT :id, :name", {"id": 3, "name": "x"}).fetchall()
        conn.execute("SELECT ?", [4]).fetchall()
        conn.execute("SELECT 5").fetchall()
    assert t.stmt("SELECT ?, ?, ?, ?, ?, ?")["samples"] == [
        {"params": [None, 7, 2.5, "é'x", 1, {"hex": "00ff"}]}]
    assert t.stmt("SELECT :id, :name")["samples"] == [
        {"named": {"id": 3, "name": "x"}}]
    assert t.stmt("SELECT ?")["samples"] == [{"params": [4]}]
    assert t.stmt("SELECT 5")["samples"] == [{"params": []}]


def test_values_the_format_cannot_hold_become_strings():
    assert _sqltrace._sample((decimal.Decimal("1.10"), 1 << 70,
                              float("inf"), bytearray(b"a"), [1]), None) \
        == {"params": ["1.10", str(1 << 70), "inf", {"hex": "61"}, "[1]"]}


def test_an_n_plus_1_loop_is_one_statement_with_its_distinct_parameters():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        books(conn)
        titles = []
        for (author_id,) in conn.execute("SELECT id FROM author ORDER BY id"):
            sql = "SELECT title FROM book WHERE author_id = ?"
            titles += conn.execute(sql, (author_id,)).fetchall()  # N_PLUS_1
    assert len(titles) == 150
    s = t.stmt("SELECT title FROM book WHERE author_id = ?")
    assert (s["file"], s["line"], s["func"]) == (
        __file__, line_of("N_PLUS_1"),
        "test_an_n_plus_1_loop_is_one_statement_with_its_distinct_"
        "parameters")
    assert s["many"] is False
    assert s["calls"] == 50 and s["errors"] == 0
    assert s["rows"] == 150
    assert s["distinct_params"] == 50
    # capped at 8, the first ones seen, in order
    assert s["samples"] == [{"params": [i]} for i in range(8)]
    assert 0 < s["min_ns"] <= s["total_ns"] / 50 <= s["max_ns"]
    outer = t.stmt("SELECT id FROM author ORDER BY id")
    assert outer["calls"] == 1 and outer["rows"] == 50


def test_repeated_parameters_count_once():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        for i in range(30):
            conn.execute("SELECT ? + 1", (i % 3,)).fetchone()
    s = t.stmt("SELECT ? + 1")
    assert s["calls"] == 30
    assert s["distinct_params"] == 3
    assert s["samples"] == [{"params": [0]}, {"params": [1]},
                            {"params": [2]}]


def test_the_same_statement_from_two_lines_is_two_statements():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT 1").fetchone()  # LINE_A
        conn.execute("SELECT 1").fetchone()  # LINE_B
        conn.execute("SELECT 1").fetchone(); conn.execute("SELECT 1")  # LINE_C
    lines = sorted((s["line"], s["calls"]) for s in t.stmts("SELECT 1"))
    assert lines == [(line_of("LINE_A"), 1), (line_of("LINE_B"), 1),
                     (line_of("LINE_C"), 2)]


def test_distinct_parameters_beyond_the_exact_count_are_estimated():
    n = 12_000
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        for i in range(n):
            conn.execute("SELECT ?", (i,))
        for i in range(100):
            conn.execute("SELECT ? * 2", (i,))
    s = t.stmt("SELECT ?")
    assert s["calls"] == n
    assert s["distinct_params_estimated"] is True
    # k minimum values with k = 4096: 1.6% standard error
    assert s["distinct_params"] == pytest.approx(n, rel=0.08)
    assert len(s["samples"]) == 8
    small = t.stmt("SELECT ? * 2")
    assert small["distinct_params"] == 100
    assert "distinct_params_estimated" not in small


def test_estimates_of_two_calls_on_one_line_are_merged(monkeypatch):
    monkeypatch.setattr(_sqltrace, "DISTINCT_EXACT", 512)
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        for i in range(3000):
            conn.execute("SELECT ?", (i,)); conn.execute("SELECT ?", (i + 1500,))  # noqa: E501,E702
    (s,) = t.stmts("SELECT ?")
    assert s["calls"] == 6000
    assert s["distinct_params_estimated"] is True
    # 4500 sets in all; k = 512: 4.4% standard error
    assert s["distinct_params"] == pytest.approx(4500, rel=0.2)


def test_executemany_counts_invocations_rows_and_row_parameters():
    rows = [(i, f"n{i}") for i in range(100)]
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (?, ?)", rows)  # MANY
        cur.executemany("INSERT INTO t VALUES (?, ?)",  # MANY_ITER
                        ((a + 1000, b) for a, b in rows))
    first, second = sorted(t.stmts("INSERT INTO t VALUES (?, ?)"),
                           key=lambda s: s["line"])
    assert first["line"] == line_of("MANY")
    assert second["line"] == line_of("MANY_ITER")
    for s, base in ((first, 0), (second, 1000)):
        assert s["many"] is True
        assert s["calls"] == 1
        assert s["rows"] == 100
        assert s["distinct_params"] == 100
        assert s["samples"] == [{"params": [base + i, f"n{i}"]}
                                for i in range(8)]
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (200,)


def test_executescript_is_one_statement():
    script = "CREATE TABLE s (x); INSERT INTO s VALUES (1); " \
             "INSERT INTO s VALUES (2);"
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.executescript(script)
        conn.cursor().executescript(script.replace(" s ", " s2 "))
    s = t.stmt(script)
    assert (s["calls"], s["errors"], s["many"]) == (1, 0, False)
    assert s["samples"] == [{"params": []}]
    assert t.stmt(script.replace(" s ", " s2 "))["calls"] == 1
    assert conn.execute("SELECT count(*) FROM s2").fetchone() == (2,)


def test_changed_rows_are_the_rowcount():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        books(conn, authors=10, per_author=2)
        conn.execute("UPDATE book SET title = title || '!' "
                     "WHERE author_id < 4")
        conn.execute("DELETE FROM book WHERE author_id = 9")
    assert t.stmt("UPDATE book SET title = title || '!' "
                  "WHERE author_id < 4")["rows"] == 8
    assert t.stmt("DELETE FROM book WHERE author_id = 9")["rows"] == 2


def slow_rows(conn, n, pause):
    conn.create_function("slow", 1, lambda x: time.sleep(pause) or x)
    conn.execute("CREATE TABLE r (x)")
    conn.executemany("INSERT INTO r VALUES (?)", [(i,) for i in range(n)])


@pytest.mark.parametrize("how", ["fetchone", "fetchmany", "fetchall",
                                 "iterate"])
def test_fetching_is_timed_and_the_program_between_fetches_is_not(how):
    # sqlite computes a row when it is fetched: slow() sleeps 2 ms in each
    # of 10 rows, 1 of them in execute; the loop sleeps 30 ms per row
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        slow_rows(conn, 10, 0.002)
        cur = conn.execute("SELECT slow(x) FROM r")
        got = []
        if how == "fetchone":
            while (row := cur.fetchone()) is not None:
                got.append(row)
                time.sleep(0.03)
        elif how == "fetchmany":
            while rows := cur.fetchmany(3):
                got += rows
                time.sleep(0.03 * len(rows))
        elif how == "fetchall":
            got = cur.fetchall()
            time.sleep(0.3)
        else:
            for row in cur:
                got.append(row)
                time.sleep(0.03)
    assert got == [(i,) for i in range(10)]
    s = t.stmt("SELECT slow(x) FROM r")
    assert s["calls"] == 1
    assert s["rows"] == 10
    assert s["total_ns"] >= 10 * 2_000_000
    assert s["total_ns"] < 0.2e9, "the loop's sleep is not the query's"


def test_a_call_ends_at_the_next_execute_close_or_the_cursors_end():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        slow_rows(conn, 4, 0.005)
        cur = conn.cursor()
        cur.execute("SELECT slow(x) FROM r")
        cur.fetchone()
        cur.execute("SELECT slow(x) + 1 FROM r")   # ends the first
        cur.fetchone()
        cur.fetchone()
        cur.close()                                  # ends the second
        other = conn.cursor()
        other.execute("SELECT slow(x) + 2 FROM r")
        other.fetchone()
        del other                                    # dropped: ends
        kept = conn.cursor()
        kept.execute("SELECT slow(x) + 3 FROM r")    # still open at stop
        kept.fetchone()
    expected = {"SELECT slow(x) FROM r": 1, "SELECT slow(x) + 1 FROM r": 2,
                "SELECT slow(x) + 2 FROM r": 1,
                "SELECT slow(x) + 3 FROM r": 1}
    for sql, rows in expected.items():
        s = t.stmt(sql)
        assert (s["calls"], s["rows"]) == (1, rows), sql
        assert s["total_ns"] >= rows * 5_000_000, sql


def test_driver_errors_are_raised_unchanged_and_counted():
    conn = None
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE u (x UNIQUE)")
        with pytest.raises(sqlite3.OperationalError,
                           match="no such column: nope"):
            conn.execute("SELECT nope FROM u")
        with pytest.raises(sqlite3.IntegrityError) as e:
            conn.executemany("INSERT INTO u VALUES (?)", [(1,), (2,), (1,)])
        assert type(e.value) is sqlite3.IntegrityError
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT ?", (1, 2))
        for _ in range(2):
            conn.execute("SELECT x FROM u").fetchall()
    s = t.stmt("SELECT nope FROM u")
    assert (s["calls"], s["errors"], s["samples"]) == (1, 1, [])
    m = t.stmt("INSERT INTO u VALUES (?)")
    assert (m["calls"], m["errors"], m["many"]) == (1, 1, True)
    assert t.stmt("SELECT ?")["errors"] == 1
    ok = t.stmt("SELECT x FROM u")
    assert (ok["calls"], ok["errors"], ok["rows"]) == (2, 0, 4)


def test_the_users_connection_and_cursor_classes_are_kept():
    log = []

    class AppConnection(sqlite3.Connection):
        def tag(self):
            return "app"

    class LoggingCursor(sqlite3.Cursor):
        def execute(self, sql, params=()):
            log.append(sql)
            return super().execute(sql, params)  # USER_EXECUTE

    with traced() as t:
        conn = sqlite3.connect(":memory:", factory=AppConnection)
        conn.row_factory = sqlite3.Row
        cur = conn.cursor(factory=LoggingCursor)
        cur.execute("SELECT 1 AS one")  # USER_CURSOR
        row = cur.fetchone()
        plain = conn.execute("SELECT 2 AS two").fetchone()
    assert isinstance(conn, AppConnection) and conn.tag() == "app"
    assert isinstance(cur, LoggingCursor)
    assert type(conn).__name__ == "AppConnection"
    assert log == ["SELECT 1 AS one"]
    assert row["one"] == 1 and plain["two"] == 2
    # the user's cursor class is user code: the first frame of it is there
    s = t.stmt("SELECT 1 AS one")
    assert (s["line"], s["func"], s["rows"]) == (
        line_of("USER_EXECUTE"), "test_the_users_connection_and_cursor_"
        "classes_are_kept.<locals>.LoggingCursor.execute", 1)
    assert t.stmt("SELECT 2 AS two")["calls"] == 1


def test_a_query_from_the_standard_library_is_the_users_line():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE d (x)")
        dump = list(conn.iterdump())  # ITERDUMP
    assert any("CREATE TABLE d" in line for line in dump)
    from_dump = [s for s in t.trace["statements"]
                 if "sqlite_master" in s["sql"]]
    assert from_dump
    for s in from_dump:
        assert (s["file"], s["line"]) == (__file__, line_of("ITERDUMP"))


def query_through_a_helper(conn, x):
    return conn.execute("SELECT ? * 3", (x,)).fetchone()  # HELPER


def test_the_site_is_the_innermost_user_frame():
    with traced() as t:
        conn = sqlite3.connect(":memory:")
        for x in range(3):
            query_through_a_helper(conn, x)
    s = t.stmt("SELECT ? * 3")
    assert (s["file"], s["line"], s["func"], s["calls"]) == (
        __file__, line_of("HELPER"), "query_through_a_helper", 3)


def test_threads_are_all_counted():
    def work(conn, tid):
        for i in range(400):
            conn.execute("SELECT ?, ?", (tid, i)).fetchone()

    with traced() as t:
        conns = [sqlite3.connect(":memory:", check_same_thread=False)
                 for _ in range(4)]
        threads = [threading.Thread(target=work, args=(c, n))
                   for n, c in enumerate(conns)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    found = t.stmts("SELECT ?, ?")
    assert sorted(s["conn"] for s in found) == [1, 2, 3, 4]
    assert all(s["calls"] == 400 and s["distinct_params"] == 400
               and s["rows"] == 400 for s in found)


def test_connections_made_before_start_are_not_traced():
    before = sqlite3.connect(":memory:")
    with traced() as t:
        during = sqlite3.connect(":memory:")
        before.execute("SELECT 'before'").fetchall()
        during.execute("SELECT 'during'").fetchall()
    assert [s["sql"] for s in t.trace["statements"]] == ["SELECT 'during'"]
    assert len(t.trace["connections"]) == 1


def test_stop_unhooks_and_a_later_tracer_ignores_earlier_connections():
    original = sqlite3.connect
    with traced() as first:
        assert sqlite3.connect is not original
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT 1").fetchall()
    assert sqlite3.connect is original
    conn.execute("SELECT 2").fetchall()
    with traced() as second:
        conn.execute("SELECT 3").fetchall()
    assert [s["sql"] for s in first.trace["statements"]] == ["SELECT 1"]
    assert second.trace["statements"] == []


def test_one_tracer_at_a_time():
    tracer = _sqltrace.start()
    try:
        with pytest.raises(_sqltrace.TraceError, match="one tracer"):
            _sqltrace.start()
        assert _sqltrace.active() is tracer
    finally:
        tracer.stop()
    assert _sqltrace.active() is None
    assert tracer.stop() is tracer.stop()   # stopping again: same trace
    with pytest.raises(_sqltrace.TraceError):
        tracer.start()


def test_a_running_tracer_gives_the_calls_ended_so_far():
    tracer = _sqltrace.start()
    try:
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT 1").fetchall()
        cur = conn.execute("SELECT 2")      # open: not in the snapshot
        snapshot = tracer.trace()
        cur.fetchall()
    finally:
        trace = tracer.stop()
    assert [s["sql"] for s in snapshot["statements"]] == ["SELECT 1"]
    assert [s["sql"] for s in trace["statements"]] == ["SELECT 1",
                                                       "SELECT 2"]


def test_to_json_writes_privately_and_atomically(tmp_path):
    tracer = _sqltrace.start()
    conn = sqlite3.connect(":memory:")
    conn.execute("SELECT 42").fetchall()
    trace = tracer.stop()
    path = str(tmp_path / "trace.json")
    with open(path + ".tmp", "w") as f:   # a stale one, readable by all
        f.write("old")
    os.chmod(path + ".tmp", 0o644)
    tracer.to_json(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not os.path.exists(path + ".tmp")
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == trace
    with pytest.raises(_sqltrace.TraceError, match="cannot write"):
        tracer.to_json(str(tmp_path / "missing" / "trace.json"))


def test_the_tracer_imports_the_standard_library_only():
    code = textwrap.dedent(f"""
        import importlib.util, json, sys, sysconfig
        before = set(sys.modules)
        spec = importlib.util.spec_from_file_location("t", {TRACER_FILE!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.start()
        module.stop()
        stdlib = sysconfig.get_paths()["stdlib"]
        added = [m for m in set(sys.modules) - before
                 if getattr(sys.modules[m], "__file__", None)
                 and not sys.modules[m].__file__.startswith(stdlib)]
        print(json.dumps([added, "plumb" in sys.modules]))
        """)
    out = subprocess.run([sys.executable, "-I", "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == [[], False]


def test_a_driver_imported_after_start_is_hooked_and_keeps_its_loader():
    code = textwrap.dedent(f"""
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("t", {TRACER_FILE!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert "sqlite3" not in sys.modules
        tracer = module.start()
        import sqlite3
        loader = type(sqlite3.__loader__).__name__
        conn = sqlite3.connect(":memory:")
        conn.execute("SELECT 1").fetchall()
        print(json.dumps([loader, type(sqlite3.__spec__.loader).__name__,
                          [s["sql"] for s in tracer.stop()["statements"]]]))
        """)
    out = subprocess.run([sys.executable, "-I", "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == ["SourceFileLoader", "SourceFileLoader",
                               ["SELECT 1"]]


# ---- psycopg2 against a real server -----------------------------------------

@pytest.fixture(scope="module")
def psycopg2():
    try:
        import psycopg2
        import psycopg2.extras  # noqa: F401
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail(f"psycopg2 is needed: {e}; apt-get install "
                        f"python3-psycopg2 (scripts/deps.sh)")
        pytest.skip(f"psycopg2 is not installed: {e}")
    return psycopg2


@pytest.fixture
def pgdb(pg, psycopg2, request):
    """The server's dsn, with a table n(id, v) of 100 rows private to the
    test (a schema of its own, on the search path of its connections)."""
    schema = "t_" + request.node.name.lower().replace("[", "_").strip("]")
    schema = schema[:60]
    admin = psycopg2.connect(pg.dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"CREATE TABLE {schema}.n (id int PRIMARY KEY, v text)")
        cur.execute(f"INSERT INTO {schema}.n SELECT i, 'v' || i "
                    f"FROM generate_series(0, 99) i")
    yield f"{pg.dsn} options='-c search_path={schema}'"
    gc.collect()    # the test's connections, if a traceback kept them
    with admin.cursor() as cur:
        # a connection the test left in a transaction would hold the
        # table: ended after 10 s, rather than waited for forever
        cur.execute("SET lock_timeout = '10s'")
        try:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        except psycopg2.errors.LockNotAvailable:
            cur.execute("SELECT pg_terminate_backend(pid) FROM "
                        "pg_stat_activity WHERE pid <> pg_backend_pid() "
                        "AND datname = current_database()")
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()


def test_pg_dict_cursors_are_kept(psycopg2, pgdb):
    extras = psycopg2.extras
    with traced() as t:
        conn = psycopg2.connect(pgdb)
        real = conn.cursor(cursor_factory=extras.RealDictCursor)
        real.execute("SELECT id, v FROM n WHERE id = %s", (5,))
        real_row = real.fetchone()
        dict_cur = conn.cursor(cursor_factory=extras.DictCursor)
        dict_cur.execute("SELECT id, v FROM n WHERE id < %s ORDER BY id",
                         (3,))
        dict_rows = [row for row in dict_cur]
        named = conn.cursor(cursor_factory=extras.NamedTupleCursor)
        named.execute("SELECT id, v FROM n WHERE id = %(id)s", {"id": 7})
        named_rows = named.fetchall()
        by_default = psycopg2.connect(
            pgdb, connection_factory=extras.DictConnection)
        default_cur = by_default.cursor()
        default_cur.execute("SELECT v FROM n WHERE id = 9")
        default_row = default_cur.fetchone()
        conn.close()
        by_default.close()
    assert isinstance(real, extras.RealDictCursor)
    assert real_row == {"id": 5, "v": "v5"}
    assert isinstance(dict_cur, extras.DictCursor)
    assert [(r["id"], r[1]) for r in dict_rows] == [(0, "v0"), (1, "v1"),
                                                    (2, "v2")]
    assert named_rows[0].v == "v7"
    assert isinstance(by_default, extras.DictConnection)
    assert isinstance(default_cur, extras.DictCursor)
    assert default_row["v"] == "v9"
    assert t.stmt("SELECT id, v FROM n WHERE id = %s")["rows"] == 1
    s = t.stmt("SELECT id, v FROM n WHERE id < %s ORDER BY id")
    assert (s["calls"], s["rows"]) == (1, 3)
    assert t.stmt("SELECT id, v FROM n WHERE id = %(id)s")["samples"] == [
        {"named": {"id": 7}, "sent": "SELECT id, v FROM n WHERE id = 7"}]
    assert t.stmt("SELECT v FROM n WHERE id = 9")["rows"] == 1
    assert [c["driver"] for c in t.trace["connections"]] == ["psycopg2"] * 2


def test_pg_samples_carry_the_statement_as_sent(psycopg2, pgdb):
    with traced() as t:
        conn = psycopg2.connect(pgdb)
        cur = conn.cursor()
        for i in range(12):
            cur.execute("SELECT v FROM n WHERE id = %s AND v <> %s",
                        (i, "é'"))
            cur.fetchall()
        cur.executemany("INSERT INTO n VALUES (%s, %s)",
                        [(1000 + i, f"w{i}") for i in range(20)])
        conn.rollback()
        conn.close()
    s = t.stmt("SELECT v FROM n WHERE id = %s AND v <> %s")
    assert (s["calls"], s["distinct_params"], s["rows"]) == (12, 12, 12)
    assert s["samples"] == [
        {"params": [i, "é'"],
         "sent": f"SELECT v FROM n WHERE id = {i} AND v <> 'é'''"}
        for i in range(8)]
    m = t.stmt("INSERT INTO n VALUES (%s, %s)")
    assert (m["many"], m["calls"], m["rows"], m["distinct_params"]) == (
        True, 1, 20, 20)
    assert m["samples"][3] == {"params": [1003, "w3"],
                               "sent": "INSERT INTO n VALUES (1003, 'w3')"}


def test_pg_server_side_cursor_is_timed_to_its_end(psycopg2, pgdb):
    with traced() as t:
        conn = psycopg2.connect(pgdb)
        cur = conn.cursor("big")
        cur.itersize = 7
        cur.execute("SELECT id FROM n WHERE id >= %s ORDER BY id", (10,))
        ids = [row[0] for row in cur]
        conn.close()
    assert ids == list(range(10, 100))
    s = t.stmt("SELECT id FROM n WHERE id >= %s ORDER BY id")
    assert (s["calls"], s["rows"]) == (1, 90)
    # what PostgreSQL replays is the query, not the DECLARE
    assert s["samples"] == [{
        "params": [10],
        "sent": "SELECT id FROM n WHERE id >= 10 ORDER BY id"}]


def test_pg_composed_and_bytes_statements_are_traced_as_text(psycopg2,
                                                             pgdb):
    from psycopg2 import sql
    query = sql.SQL("SELECT {} FROM n WHERE id = %s").format(
        sql.Identifier("v"))
    with traced() as t:
        conn = psycopg2.connect(pgdb)
        with conn.cursor() as cur:
            cur.execute(query, (4,))
            assert cur.fetchone() == ("v4",)
            cur.execute(b"SELECT 'caf\xc3\xa9'")
            assert cur.fetchone() == ("café",)
        assert cur.closed
        conn.close()
    assert t.stmt('SELECT "v" FROM n WHERE id = %s')["rows"] == 1
    assert t.stmt("SELECT 'café'")["samples"] == [
        {"params": [], "sent": "SELECT 'café'"}]


def test_pg_errors_are_raised_unchanged_and_counted(psycopg2, pgdb):
    with traced() as t:
        conn = psycopg2.connect(pgdb)
        cur = conn.cursor()
        with pytest.raises(psycopg2.errors.UndefinedColumn) as e:
            cur.execute("SELECT nope FROM n")
        assert e.value.pgcode == "42703"
        conn.rollback()
        cur.execute("SELECT count(*) FROM n")
        assert cur.fetchone() == (100,)
        conn.close()
    s = t.stmt("SELECT nope FROM n")
    assert (s["calls"], s["errors"]) == (1, 1)
    assert t.stmt("SELECT count(*) FROM n")["errors"] == 0


def test_pg_target_connects_again_with_the_password_given(psycopg2, pgdb):
    with traced() as t:
        conn = psycopg2.connect(pgdb, password="s3cret 'x'",
                                application_name="plumb-test")
        cur = conn.cursor()
        cur.execute("SELECT 1")
        conn.close()
    target = t.trace["connections"][0]["target"]
    parsed = psycopg2.extensions.parse_dsn(target)
    assert parsed["password"] == "s3cret 'x'"
    assert parsed["application_name"] == "plumb-test"
    again = psycopg2.connect(target)
    try:
        with again.cursor() as cur:
            cur.execute("SELECT current_database(), current_user, "
                        "current_setting('search_path'), "
                        "current_setting('application_name'), "
                        "count(*) FROM n")
            row = cur.fetchone()
    finally:
        again.close()
    given = psycopg2.extensions.parse_dsn(pgdb)
    assert row[:2] == (given["dbname"], given["user"])
    assert row[2:] == (given["options"].split("=")[1], "plumb-test", 100)
    for key in ("host", "port", "dbname", "user"):
        assert parsed[key] == given[key]


def test_pg_target_of_a_url_connects_again(psycopg2, pg):
    if pg.url is None:
        pytest.skip("the server came from PLUMB_TEST_PG, without a URL")
    with traced() as t:
        conn = psycopg2.connect(pg.url)
        conn.close()
    again = psycopg2.connect(t.trace["connections"][0]["target"])
    try:
        assert again.get_dsn_parameters()["port"] == \
            psycopg2.extensions.parse_dsn(pg.dsn)["port"]
    finally:
        again.close()


def test_pg_imported_after_start_is_traced(psycopg2, pgdb):
    code = textwrap.dedent(f"""
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("t", {TRACER_FILE!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        tracer = module.start()
        assert "psycopg2" not in sys.modules
        import psycopg2
        conn = psycopg2.connect({pgdb!r})
        cur = conn.cursor()
        cur.execute("SELECT v FROM n WHERE id = %s", (3,))
        cur.fetchone()
        conn.close()
        trace = tracer.stop()
        print(json.dumps([(s["sql"], s["calls"], s["rows"], s["line"])
                          for s in trace["statements"]]))
        """)
    out = subprocess.run([sys.executable, "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == [["SELECT v FROM n WHERE id = %s", 1, 1, 11]]


# ---- the boot: a program traced from its start ------------------------------

def run_traced(tmp_path, program, env=None, keep=None, boot_dir=BOOT_DIR,
               extra_path=()):
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(program), encoding="utf-8")
    out = str(tmp_path / "sql.json")
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("PLUMB_SQL") and k != "PYTHONPATH"}
    environment["PYTHONPATH"] = os.pathsep.join((boot_dir,) + extra_path)
    environment["PLUMB_SQL_OUT"] = out
    if keep is not None:
        environment["PLUMB_SQL_KEEP_PARAMS"] = keep
    environment.update(env or {})
    proc = subprocess.run([sys.executable, str(script), "a1"], cwd=tmp_path,
                          env=environment, capture_output=True, text=True,
                          timeout=60)
    return proc, out, str(script)


PROGRAM = """
    import json, os, sqlite3, subprocess, sys
    conn = sqlite3.connect("app.db")
    conn.execute("CREATE TABLE t (x)")
    for i in range(5):
        conn.execute("INSERT INTO t VALUES (?)", (i,))  # INSERT
    conn.commit()
    child = subprocess.run(
        [sys.executable, "-c",
         "import json, os; print(json.dumps({k: v for k, v in "
         "os.environ.items() if k.startswith(('PLUMB_SQL', 'PYTHONPATH'))}))"],
        capture_output=True, text=True, check=True).stdout
    print(child.strip())
    print(json.dumps(["plumb" in sys.modules,
                      "plumb._sqltrace" in sys.modules]))
    sys.exit(3)
    """


def test_a_program_is_traced_from_its_start(tmp_path):
    proc, out, script = run_traced(tmp_path, PROGRAM,
                                   extra_path=("/nonexistent/lib",))
    assert proc.returncode == 3, proc.stderr
    child_env, modules = proc.stdout.splitlines()
    # the children run untraced: the boot's variables and path are gone
    assert json.loads(child_env) == {"PYTHONPATH": "/nonexistent/lib"}
    assert json.loads(modules) == [False, True]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert not os.path.exists(out + ".tmp")
    assert not os.path.exists(out + ".error")
    with open(out, encoding="utf-8") as f:
        trace = json.load(f)
    assert trace["argv"] == [script, "a1"]
    assert trace["keep_params"] is False
    assert trace["connections"] == [{
        "id": 1, "driver": "sqlite3", "target": str(tmp_path / "app.db"),
        "file": script, "line": 3}]
    (insert,) = [s for s in trace["statements"]
                 if s["sql"] == "INSERT INTO t VALUES (?)"]
    assert (insert["file"], insert["line"], insert["func"]) == (
        script, line_of("INSERT", script), "<module>")
    assert (insert["calls"], insert["rows"], insert["distinct_params"]) == (
        5, 5, 5)


def test_the_plumb_package_sees_the_tracer_the_boot_started(tmp_path):
    # plumb sql puts python/ after the boot directory, as plumb mem does
    proc, out, _ = run_traced(tmp_path, """
        import sys
        assert "plumb" not in sys.modules
        from plumb import _sqltrace
        print(_sqltrace is sys.modules["plumb._sqltrace"],
              _sqltrace.active() is not None)
        """, extra_path=(PYTHON_DIR,))
    assert (proc.returncode, proc.stdout) == (0, "True True\n"), proc.stderr
    assert os.path.exists(out)


def test_a_program_that_raises_is_traced_and_its_error_shown(tmp_path):
    proc, out, _ = run_traced(tmp_path, """
        import sqlite3
        sqlite3.connect(":memory:").execute("SELECT 1").fetchall()
        raise SystemError("the program's own failure")
        """, keep="1")
    assert proc.returncode == 1
    assert "SystemError: the program's own failure" in proc.stderr
    with open(out, encoding="utf-8") as f:
        trace = json.load(f)
    assert trace["keep_params"] is True
    assert [s["sql"] for s in trace["statements"]] == ["SELECT 1"]


def test_queries_of_the_programs_atexit_handlers_are_in_the_trace(tmp_path):
    proc, out, _ = run_traced(tmp_path, """
        import atexit, sqlite3
        conn = sqlite3.connect(":memory:")
        atexit.register(lambda: conn.execute("SELECT 'at exit'").fetchall())
        """)
    assert proc.returncode == 0, proc.stderr
    with open(out, encoding="utf-8") as f:
        assert [s["sql"] for s in json.load(f)["statements"]] == [
            "SELECT 'at exit'"]


def test_os_exit_leaves_no_trace_and_a_forked_child_does_not_write(tmp_path):
    proc, out, _ = run_traced(tmp_path, """
        import os, sqlite3
        sqlite3.connect(":memory:").execute("SELECT 1").fetchall()
        os._exit(0)
        """)
    assert proc.returncode == 0
    assert not os.path.exists(out) and not os.path.exists(out + ".error")
    proc, out, _ = run_traced(tmp_path, """
        import os, sqlite3, sys
        conn = sqlite3.connect(":memory:")
        pid = os.fork()
        if pid == 0:
            conn.execute("SELECT 'child'").fetchall()
            sys.exit(0)         # runs atexit in the child
        os.waitpid(pid, 0)
        conn.execute("SELECT 'parent'").fetchall()
        """)
    assert proc.returncode == 0, proc.stderr
    with open(out, encoding="utf-8") as f:
        trace = json.load(f)
    assert [s["sql"] for s in trace["statements"]] == ["SELECT 'parent'"]


def test_the_shadowed_sitecustomize_still_runs(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text(
        "import builtins\nbuiltins.SHADOWED_RAN = True\n")
    proc, out, _ = run_traced(tmp_path, """
        import sqlite3
        print(SHADOWED_RAN)
        sqlite3.connect(":memory:").execute("SELECT 1").fetchall()
        """, extra_path=(str(other),))
    assert (proc.returncode, proc.stdout) == (0, "True\n"), proc.stderr
    assert os.path.exists(out)


def test_a_tracer_that_cannot_start_says_why_and_the_program_runs(tmp_path):
    # a copy of the boot without the tracer beside it
    broken = tmp_path / "plumb" / "_sqlboot"
    broken.mkdir(parents=True)
    shutil.copy(os.path.join(BOOT_DIR, "sitecustomize.py"), broken)
    program = """
        import sqlite3
        sqlite3.connect(":memory:").execute("SELECT 1").fetchall()
        print("ran")
        """
    proc, out, _ = run_traced(tmp_path, program, boot_dir=str(broken))
    assert (proc.returncode, proc.stdout) == (0, "ran\n"), proc.stderr
    assert not os.path.exists(out)
    with open(out + ".error", encoding="utf-8") as f:
        why = f.read()
    assert "could not load its tracer" in why
    assert str(tmp_path / "plumb" / "_sqltrace.py") in why
    # a variable plumb sql would not set
    os.unlink(out + ".error")
    proc, out, _ = run_traced(tmp_path, program, keep="yes")
    assert (proc.returncode, proc.stdout) == (0, "ran\n"), proc.stderr
    assert not os.path.exists(out)
    with open(out + ".error", encoding="utf-8") as f:
        assert "PLUMB_SQL_KEEP_PARAMS is 'yes'" in f.read()


def test_without_plumb_sql_out_the_boot_does_nothing(tmp_path):
    proc, out, _ = run_traced(tmp_path, """
        import sys
        print("plumb._sqltrace" in sys.modules)
        """, env={"PLUMB_SQL_OUT": ""})
    assert proc.returncode == 0
    assert proc.stdout == "False\n"
    assert "PLUMB_SQL_OUT is empty" in proc.stderr


def test_the_boot_speaks_to_a_python_too_old(tmp_path):
    import glob
    candidates = ["/usr/bin/python2", "/usr/bin/python2.7"] + sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/[23].*/bin/python")))
    old = None
    for candidate in candidates:
        try:
            is_old = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info < "
                                  "(3, 8))"], capture_output=True,
                text=True).stdout.strip() == "True"
        except OSError:
            continue
        if is_old:
            old = candidate
            break
    if old is None:
        pytest.skip("no Python older than 3.8 here")
    out = str(tmp_path / "sql.json")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=BOOT_DIR, PLUMB_SQL_OUT=out)
    proc = subprocess.run([old, "-c", "print('ran')"], env=env,
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "ran\n")
    with open(out + ".error", encoding="utf-8") as f:
        assert "plumb sql traces Python 3.8 and later" in f.read()
