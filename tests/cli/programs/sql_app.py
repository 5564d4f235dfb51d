"""A small shop application with the three classic query problems, for
plumb sql's tests. Usage: sql_app.py setup|run DRIVER TARGET

setup makes the database: 500 authors, 120 000 books (author_id, isbn,
title, year), no index but the primary keys. run does, on purpose:
- an N+1 loop: the author of each of 50 books, one query per book
  (line N_PLUS_ONE), by primary key;
- a scan: books looked up by isbn, which has no index (line SCAN), 5 times;
- pasted literals: authors counted by a name written into the SQL
  (line LITERALS), 3 names;
- writes: 3 books inserted (line INSERT), then rolled back, so that the
  database ends as it began.
DRIVER is sqlite3 (TARGET a file) or psycopg2 (TARGET a libpq dsn)."""
import sys

BOOKS = 120_000
AUTHORS = 500


def connect(driver, target):
    if driver == "sqlite3":
        import sqlite3
        return sqlite3.connect(target), "?"
    import psycopg2
    return psycopg2.connect(target), "%s"


def setup(driver, target):
    conn, p = connect(driver, target)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS book")
    cur.execute("DROP TABLE IF EXISTS author")
    cur.execute("CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT)")
    cur.execute("CREATE TABLE book (id INTEGER PRIMARY KEY, author_id "
                "INTEGER, isbn TEXT, title TEXT, year INTEGER)")
    cur.executemany(f"INSERT INTO author (id, name) VALUES ({p}, {p})",
                    [(i, f"author {i}") for i in range(AUTHORS)])
    cur.executemany(f"INSERT INTO book (id, author_id, isbn, title, year) "
                    f"VALUES ({p}, {p}, {p}, {p}, {p})",
                    [(i, (i * 7919) % AUTHORS, f"isbn-{(i * 104729) % BOOKS:07d}",
                      f"title {i}", 1900 + i % 120) for i in range(BOOKS)])
    conn.commit()
    if driver == "psycopg2":
        cur.execute("ANALYZE")
        conn.commit()
    conn.close()


def run(driver, target):
    conn, p = connect(driver, target)
    cur = conn.cursor()
    cur.execute("SELECT id, author_id FROM book WHERE year = 1950 LIMIT 50")
    books = cur.fetchall()
    for _, author_id in books:
        cur.execute(f"SELECT name FROM author WHERE id = {p}", (author_id,))  # N_PLUS_ONE
        cur.fetchone()
    for i in (5, 500, 5000, 50000, 100000):
        cur.execute(f"SELECT id, title FROM book WHERE isbn = {p}",  # SCAN
                    (f"isbn-{i:07d}",))
        cur.fetchall()
    for name in ("author 1", "author 2", "author 3"):
        cur.execute(f"SELECT count(*) FROM author WHERE name = '{name}'")  # LITERALS
        cur.fetchone()
    for i in range(3):
        cur.execute(f"INSERT INTO book (id, author_id, isbn, title, year) "  # INSERT
                    f"VALUES ({p}, {p}, {p}, {p}, {p})",
                    (BOOKS + i, 1, f"new-{i}", "new", 2024))
    conn.rollback()
    conn.close()


def line_of(marker):
    with open(__file__, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + marker):
                return n
    raise LookupError(marker)


if __name__ == "__main__":
    {"setup": setup, "run": run}[sys.argv[1]](sys.argv[2], sys.argv[3])
