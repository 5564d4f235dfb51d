"""plumb sql end to end: a small application (programs/sql_app.py) with an
N+1 loop, a lookup that scans 120 000 rows and values pasted into its SQL,
traced on SQLite and on a real PostgreSQL server started on loopback
(tests/pgserver.py); plumb sql analyze on a file of statements; and the
errors a user can cause."""
import hashlib
import json
import os
import shutil
import subprocess
import sqlite3
import sys

import pytest


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for pgserver
sys.path.insert(0, os.path.join(HERE, "programs"))
from pgserver import PgServer  # noqa: E402
import sql_app  # noqa: E402

APP = os.path.join(HERE, "programs", "sql_app.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable


def sql(plumb, *args, env=None, check=None, timeout=600):
    return plumb.run("sql", *args, env=env, check=check, timeout=timeout)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def shop_master(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("shop") / "shop.db")
    subprocess.run([PYTHON, APP, "setup", "sqlite3", path], check=True,
                   timeout=300)
    return path


@pytest.fixture
def shop(shop_master, tmp_path):
    """A private copy of the shop's SQLite database."""
    path = str(tmp_path / "shop.db")
    shutil.copy(shop_master, path)
    return path


def findings(doc, kind):
    return [f for f in doc["findings"] if f["kind"] == kind]


def statement(doc, finding):
    return doc["statements"][finding["statement"]]


def check_shop_report(doc):
    """The three problems of sql_app.py are found where they are, and the
    index on book(isbn) is proven."""
    n1 = findings(doc, "n+1")
    assert len(n1) == 1, doc["findings"]
    assert n1[0]["line"] == sql_app.line_of("N_PLUS_ONE")
    assert n1[0]["calls"] == 50 and n1[0]["distinct"] >= 2
    assert n1[0]["function"] == "run"
    assert n1[0]["detail"].lower().endswith("where id in (?, ?, ...)"), n1
    assert statement(doc, n1[0])["fingerprint"] == \
        "select name from author where id = ?"
    scan = [f for f in findings(doc, "scan")
            if f["line"] == sql_app.line_of("SCAN")]
    assert len(scan) == 1, doc["findings"]
    assert "book" in scan[0]["detail"]
    assert statement(doc, scan[0])["calls"] == 5
    lit = findings(doc, "literals")
    assert len(lit) == 1, doc["findings"]
    assert lit[0]["line"] == sql_app.line_of("LITERALS")
    assert lit[0]["distinct"] == 3
    assert statement(doc, lit[0])["fingerprint"] == \
        "select count(*) from author where name = ?"
    # findings come by the time they cost
    costs = [f["cost_ns"] for f in doc["findings"]]
    assert costs == sorted(costs, reverse=True)
    advised = [x for x in doc["indexes"] if x["advised"]]
    isbn = [x for x in advised if x["table"] == "book"
            and x["columns"] == ["isbn"]]
    assert len(isbn) == 1, doc["indexes"]
    x = isbn[0]
    assert x["same_results"] is True
    assert x["reads"]["verdict"] == "lower"
    assert x["reads"]["ratio"] >= 10 and x["reads"]["ci_low"] >= 10, x
    assert x["scan_removed"] is True
    assert x["index_bytes"] > 0
    # the traced INSERTs into book were weighed
    assert x["writes"] is not None and x["writes"]["ratio"] > 0
    return x


def test_sqlite_app(plumb, shop):
    before = sha256(shop)
    proc = sql(plumb, "-f", "json", "--", PYTHON, APP, "run", "sqlite3", shop,
               check=0)
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "sql" and doc["timed"] is True
    assert doc["connections"][0]["driver"] == "sqlite3"
    assert doc["connections"][0]["target"] == shop
    x = check_shop_report(doc)
    assert "SCAN book" in x["plan_before"]
    assert "SEARCH book USING INDEX" in x["plan_after"]
    assert doc["queries"] == 1 + 50 + 5 + 3 + 3
    # the user's database is byte for byte what it was, and alone
    assert sha256(shop) == before
    assert sorted(os.listdir(os.path.dirname(shop))) == ["shop.db"]
    # values are not in the report unless asked for
    assert "author 1" not in proc.stdout and "isbn-" not in proc.stdout


def test_text_report(plumb, shop):
    proc = sql(plumb, "--", PYTHON, APP, "run", "sqlite3", shop, check=0)
    out = proc.stdout
    for words in ("N+1 queries", "full table scan",
                  "values pasted into the SQL", "Indexes tried",
                  "<- advised", "same results", "Statements, by total time",
                  "sql_app.py:%d in run" % sql_app.line_of("N_PLUS_ONE")):
        assert words in out, (words, out)
    assert "where id in (?, ?, ...)" in out.lower()
    assert "author 1" not in out and "isbn-0" not in out
    assert "\033[" not in out  # not a terminal: no colour


def test_keep_params_shows_the_values(plumb, shop):
    proc = sql(plumb, "--keep-params", "-f", "json", "--", PYTHON, APP, "run",
               "sqlite3", shop, check=0)
    doc = json.loads(proc.stdout)
    assert doc["keep_params"] is True
    lit = statement(doc, findings(doc, "literals")[0])
    texts = sorted(r["sql"] for r in lit["runs"])
    assert texts == [f"SELECT count(*) FROM author WHERE name = 'author {i}'"
                     for i in (1, 2, 3)]
    scan = statement(doc, [f for f in findings(doc, "scan")
                           if f["line"] == sql_app.line_of("SCAN")][0])
    params = scan["runs"][0]["params"]
    assert ["isbn-0000005"] in params and len(params) == 5


def test_fail_on(plumb, shop, tmp_path):
    out = str(tmp_path / "report.json")
    proc = sql(plumb, "--fail-on", "n+1,sort", "-f", "json", "-o", out, "--",
               PYTHON, APP, "run", "sqlite3", shop, check=3)
    assert "findings of kind n+1" in proc.stderr
    assert "sort" not in proc.stderr.split("kind", 1)[1]
    assert json.load(open(out))["kind"] == "sql"
    assert "written to " + out in proc.stderr
    sql(plumb, "--fail-on", "sort", "--no-advice", "--", PYTHON, APP, "run",
        "sqlite3", shop, check=0)
    proc = sql(plumb, "--fail-on", "all", "--no-explain", "--", PYTHON, APP,
               "run", "sqlite3", shop, check=3)
    # without the planner there is no scan finding
    assert "scan" not in proc.stderr


def test_no_explain_and_thresholds(plumb, shop):
    doc = json.loads(sql(plumb, "--no-explain", "--n-plus-one", "51",
                         "--slow-ms", "0.000001", "-f", "json", "--", PYTHON,
                         APP, "run", "sqlite3", shop, check=0).stdout)
    kinds = {f["kind"] for f in doc["findings"]}
    assert "n+1" not in kinds and "scan" not in kinds
    assert doc["indexes"] == []
    # every statement is slow at a nanosecond
    assert len(findings(doc, "slow")) == len(doc["statements"])
    assert all(s["plan"] is None for s in doc["statements"])


def test_program_that_fails_is_still_reported(plumb, shop, tmp_path):
    prog = tmp_path / "fail.py"
    prog.write_text(
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({shop!r})\n"
        "c.execute('SELECT count(*) FROM author').fetchone()\n"
        "sys.exit(4)\n")
    proc = sql(plumb, "-f", "json", "--", PYTHON, str(prog), check=0)
    doc = json.loads(proc.stdout)
    assert doc["queries"] == 1
    assert "exited with status 4" in proc.stderr


def test_in_memory_database_is_a_note(plumb, tmp_path):
    prog = tmp_path / "mem.py"
    prog.write_text(
        "import sqlite3\n"
        "c = sqlite3.connect(':memory:')\n"
        "c.execute('CREATE TABLE t (a INTEGER)')\n"
        "c.executemany('INSERT INTO t VALUES (?)', [(i,) for i in range(3000)])\n"
        "for i in range(20):\n"
        "    c.execute('SELECT a FROM t WHERE a = ?', (i,)).fetchall()\n")
    doc = json.loads(sql(plumb, "-f", "json", "--", PYTHON, str(prog),
                         check=0).stdout)
    assert any("in-memory" in n for n in doc["notes"]), doc["notes"]
    assert findings(doc, "n+1")
    assert doc["indexes"] == []


def test_analyze_a_script(plumb, shop, tmp_path):
    script = tmp_path / "queries.sql"
    script.write_text(
        "-- the lookups the report page makes\n"
        "SELECT id, title FROM book WHERE isbn = 'isbn-0000005';\n"
        "SELECT count(*) FROM author; /* small: no finding */\n"
        "SELECT title FROM book WHERE year = 1950 ORDER BY title;\n")
    before = sha256(shop)
    doc = json.loads(sql(plumb, "analyze", "--db", shop, "-f", "json",
                         str(script), check=0).stdout)
    assert doc["timed"] is False
    assert len(doc["statements"]) == 3
    scans = findings(doc, "scan")
    assert {f["line"] for f in scans} == {2, 4}
    assert [f["line"] for f in findings(doc, "sort")] == [4]
    isbn = [x for x in doc["indexes"] if x["columns"] == ["isbn"]]
    assert isbn and isbn[0]["advised"] and isbn[0]["reads"]["ratio"] >= 10
    assert isbn[0]["writes"] is None
    year = [x for x in doc["indexes"] if x["advised"] and
            x["columns"][0] == "year"]
    assert year, doc["indexes"]
    assert sha256(shop) == before


def test_errors(plumb, shop, tmp_path):
    proc = sql(plumb, check=2)
    assert "nothing to run" in proc.stderr
    proc = sql(plumb, "--fail-on", "slowish", "--", "true", check=2)
    assert "'slowish' is not a kind of finding" in proc.stderr
    proc = sql(plumb, "--format", "csv", "--", "true", check=2)
    assert "text or json" in proc.stderr
    proc = sql(plumb, "analyze", str(tmp_path / "q.sql"), check=2)
    assert "needs the database" in proc.stderr
    proc = sql(plumb, "analyze", "--db", shop, check=2)
    assert "needs a file of SQL statements" in proc.stderr
    proc = sql(plumb, "analyze", "--db", shop, str(tmp_path / "q.sql"),
               check=1)
    assert "cannot read" in proc.stderr and "q.sql" in proc.stderr
    (tmp_path / "empty.sql").write_text("-- nothing\n ; ;\n")
    proc = sql(plumb, "analyze", "--db", shop, str(tmp_path / "empty.sql"),
               check=1)
    assert "holds no SQL statement" in proc.stderr
    (tmp_path / "q.sql").write_text("SELECT 1;\n")
    proc = sql(plumb, "analyze", "--db", str(tmp_path / "gone.db"),
               str(tmp_path / "q.sql"), check=1)
    assert "cannot open the database" in proc.stderr
    assert "gone.db" in proc.stderr
    out = tmp_path / "no-such-dir" / "report.txt"
    proc = sql(plumb, "analyze", "--db", shop, "-o", str(out),
               str(tmp_path / "q.sql"), check=1)
    assert (f"cannot write {out}: No such file or directory; check the "
            "directory exists and is writable") in proc.stderr
    proc = sql(plumb, "--", "/bin/true", check=1)
    assert "without writing a SQL trace" in proc.stderr
    proc = sql(plumb, "--", "no-such-program-here", check=1)
    assert "command not found" in proc.stderr
    proc = sql(plumb, "--", PYTHON, "-c", "pass",
               env={"PLUMB_PYTHON_DIR": str(tmp_path)}, check=1)
    assert "PLUMB_PYTHON_DIR" in proc.stderr
    proc = sql(plumb, "--help", check=0)
    assert proc.stdout.startswith("usage: plumb sql")


def test_statement_that_fails_in_the_script_is_a_note(plumb, shop, tmp_path):
    script = tmp_path / "q.sql"
    script.write_text("SELECT nope FROM book;\nSELECT count(*) FROM author;\n")
    doc = json.loads(sql(plumb, "analyze", "--db", shop, "-f", "json",
                         str(script), check=0).stdout)
    assert any("line 1" in n and "nope" in n for n in doc["notes"]), doc


# ---- PostgreSQL ---------------------------------------------------------

@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        subprocess.run([PYTHON, APP, "setup", "psycopg2", server.dsn],
                       check=True, timeout=600)
        yield server


def pg_query(dsn, sql_text):
    import psycopg2
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql_text)
        return cur.fetchall()


def test_postgresql_app(plumb, pg):
    # a password in the connection string, which trust auth ignores, must
    # never reach the report
    dsn = pg.dsn + " password=sekrit-pw"
    proc = sql(plumb, "-f", "json", "--", PYTHON, APP, "run", "psycopg2",
               dsn, check=0)
    assert "sekrit-pw" not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["connections"][0]["driver"] == "psycopg2"
    x = check_shop_report(doc)
    assert "Seq Scan on book" in x["plan_before"]
    assert "Index" in x["plan_after"]
    # the server's database is as it was: no index left, no row added
    assert pg_query(pg.dsn, "SELECT indexname FROM pg_indexes WHERE "
                            "indexname LIKE 'plumb%'") == []
    assert pg_query(pg.dsn, "SELECT count(*) FROM book") == [(120_000,)]


def test_postgresql_text_report(plumb, pg):
    proc = sql(plumb, "--", PYTHON, APP, "run", "psycopg2", pg.dsn, check=0)
    assert "N+1 queries" in proc.stdout and "<- advised" in proc.stdout
    assert "Seq Scan on book" in proc.stdout


def test_postgresql_analyze(plumb, pg, tmp_path):
    script = tmp_path / "q.sql"
    script.write_text("SELECT id, title FROM book WHERE isbn = 'isbn-0000005';"
                      "\nSELECT $$a;b$$ AS text_with_semicolon;\n")
    doc = json.loads(sql(plumb, "analyze", "--db", pg.url, "-f", "json",
                         str(script), check=0).stdout)
    assert len(doc["statements"]) == 2
    isbn = [x for x in doc["indexes"] if x["columns"] == ["isbn"]]
    assert isbn and isbn[0]["advised"] and isbn[0]["same_results"]
    assert pg_query(pg.dsn, "SELECT indexname FROM pg_indexes WHERE "
                            "indexname LIKE 'plumb%'") == []


def test_postgresql_refused(plumb, tmp_path):
    script = tmp_path / "q.sql"
    script.write_text("SELECT 1;\n")
    proc = sql(plumb, "analyze", "--db",
               "postgresql://nobody:pw123@127.0.0.1:1/none", str(script),
               check=1)
    assert "cannot open the database" in proc.stderr
    assert "pw123" not in proc.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_postgresql_without_libpq(plumb, tmp_path):
    """plumb loads libpq when it first reaches PostgreSQL, not at start:
    a libpq.so.5 that is not libpq (a library with none of its functions,
    found first through LD_LIBRARY_PATH) makes only the PostgreSQL target
    fail, with what to install, while SQLite works on."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "nothing.c").write_text("int plumb_test_nothing(void);\n"
                                    "int plumb_test_nothing(void) "
                                    "{ return 0; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(fake / "libpq.so.5"),
                    str(fake / "nothing.c")], check=True)
    script = tmp_path / "q.sql"
    script.write_text("SELECT 1;\n")
    env = {"LD_LIBRARY_PATH": str(fake)}
    proc = sql(plumb, "analyze", "--db", "postgresql://127.0.0.1:1/none",
               str(script), env=env, check=1)
    assert "libpq" in proc.stderr and "apt-get install libpq5" in proc.stderr
    assert "PQconnectdbParams" in proc.stderr
    db = tmp_path / "ok.db"
    sqlite3.connect(db).close()
    sql(plumb, "analyze", "--db", str(db), str(script), env=env, check=0)
