#!/usr/bin/python3
"""What plumb sql's tracer (python/plumb/_sqltrace.py) adds to a query,
against the same query untraced, side by side in one process.

Two connections to one database: one opened before the tracer starts (so
it stays the driver's own, untraced) and one opened after (traced). Each
round runs a block of queries of one kind on each of them, in a random
order per round, so that the machine's drift hits both alike; a block's
time divided by its queries is one figure per connection per round. The
kinds:

  - sqlite point:   SELECT by primary key, fetchone (conn.execute);
  - sqlite range:   SELECT of 20 rows by a primary-key range, fetchall
                    (one cursor, re-executed);
  - sqlite insert:  INSERT of one row, the block in one transaction (the
                    commit's share included);
  - sqlite many:    executemany of 100 rows, the block in one transaction
                    (a figure per executemany call);
  - pg point:       SELECT by primary key, fetchone, on PostgreSQL over
                    loopback TCP, when a server is given (--pg DSN, or
                    PLUMB_TEST_PG) or started (--start-pg: tests/pgserver.py).

SQLite's database is a file in a temporary directory (WAL,
synchronous=NORMAL, as applications tend to set it); its table holds
20 000 rows, each query's key drawn at random. Every figure is printed
per query: the untraced and traced medians over the rounds, the time the
tracer adds (the median of the per-round differences traced - untraced,
with its distribution-free 95% CI from the order statistics, the sign
test's) and the ratio traced/untraced (the median of the per-round
ratios, its CI likewise). The tracer's aggregation runs in batches inside
the traced blocks (every 1024 calls), so its cost is in the figures.

Usage: /usr/bin/python3 bench/sql_overhead.py [--rounds 25]
           [--block-ms 25] [--pg DSN | --start-pg] [--json FILE]
(about 20 s with the defaults; psycopg2 for the PostgreSQL row:
apt-get install python3-psycopg2). Wait for other benchmarks (pgrep -f
BENCH) before running it: two CPUs shared make both wrong.
"""
import argparse
import importlib.util
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

from profile_overhead import median_ci

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRACER = os.path.join(ROOT, "python", "plumb", "_sqltrace.py")
ROWS = 20_000
_clock = time.perf_counter_ns


def load_tracer():
    """_sqltrace.py by its path, as plumb sql's boot loads it."""
    spec = importlib.util.spec_from_file_location("plumb._sqltrace", TRACER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["plumb._sqltrace"] = module
    spec.loader.exec_module(module)
    return module


# ---- the query kinds: each makes a block runner for one connection ----------

def sqlite_setup(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, "
                 "price REAL)")
    conn.executemany("INSERT INTO item VALUES (?, ?, ?)",
                     [(i, f"item {i}", i * 0.25) for i in range(ROWS)])
    for who in ("untraced", "traced"):
        conn.execute(f"CREATE TABLE log_{who} (at INTEGER, what TEXT)")
        conn.execute(f"CREATE TABLE many_{who} (at INTEGER, what TEXT)")
    conn.commit()
    conn.close()


def sqlite_connect(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def sqlite_point(conn, who):
    keys = [random.randrange(ROWS) for _ in range(4096)]

    def block(n):
        execute = conn.execute
        t0 = _clock()
        for i in range(n):
            execute("SELECT name, price FROM item WHERE id = ?",
                    (keys[i & 4095],)).fetchone()
        return _clock() - t0
    return block


def sqlite_range(conn, who):
    starts = [random.randrange(ROWS - 20) for _ in range(4096)]
    cur = conn.cursor()

    def block(n):
        t0 = _clock()
        for i in range(n):
            lo = starts[i & 4095]
            cur.execute("SELECT id, name, price FROM item "
                        "WHERE id BETWEEN ? AND ?", (lo, lo + 19))
            cur.fetchall()
        return _clock() - t0
    return block


def sqlite_insert(conn, who):
    sql = f"INSERT INTO log_{who} VALUES (?, ?)"

    def block(n):
        cur = conn.cursor()
        t0 = _clock()
        for i in range(n):
            cur.execute(sql, (i, "event"))
        conn.commit()
        return _clock() - t0
    return block


def sqlite_many(conn, who):
    sql = f"INSERT INTO many_{who} VALUES (?, ?)"
    rows = [(i, "event") for i in range(100)]

    def block(n):
        cur = conn.cursor()
        t0 = _clock()
        for _ in range(n):
            cur.executemany(sql, rows)
        conn.commit()
        return _clock() - t0
    return block


def pg_setup(psycopg2, dsn):
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS plumb_bench_item")
        cur.execute("CREATE TABLE plumb_bench_item (id int PRIMARY KEY, "
                    "name text, price float8)")
        cur.execute("INSERT INTO plumb_bench_item SELECT i, 'item ' || i, "
                    "i * 0.25 FROM generate_series(0, %s) i", (ROWS - 1,))
        cur.execute("ANALYZE plumb_bench_item")
    conn.commit()
    conn.close()


def pg_drop(psycopg2, dsn):
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS plumb_bench_item")
    conn.commit()
    conn.close()


def pg_point(conn, who):
    keys = [random.randrange(ROWS) for _ in range(4096)]
    conn.autocommit = True
    cur = conn.cursor()

    def block(n):
        t0 = _clock()
        for i in range(n):
            cur.execute("SELECT name, price FROM plumb_bench_item "
                        "WHERE id = %s", (keys[i & 4095],))
            cur.fetchone()
        return _clock() - t0
    return block


# ---- measuring --------------------------------------------------------------

def calibrate(block, block_ms):
    """Queries per block so that an untraced block takes about block_ms."""
    n = 16
    while True:
        ns = block(n)
        if ns >= block_ms * 1e6 / 4 or n >= 1 << 20:
            return max(16, int(n * block_ms * 1e6 / max(ns, 1)))
        n *= 4


def measure(name, untraced, traced, rounds, block_ms):
    n = calibrate(untraced, block_ms)
    untraced(n)        # warm both: caches, the tracer's statement tables
    traced(n)
    plain, with_tracer = [], []
    for _ in range(rounds):
        pair = [("u", untraced), ("t", traced)]
        random.shuffle(pair)
        got = {}
        for who, block in pair:
            got[who] = block(n) / n
        plain.append(got["u"])
        with_tracer.append(got["t"])
    diff = median_ci([t - u for u, t in zip(plain, with_tracer)])
    ratio = median_ci([t / u for u, t in zip(plain, with_tracer)])
    return {"kind": name, "queries_per_block": n, "rounds": rounds,
            "untraced_ns": statistics.median(plain),
            "traced_ns": statistics.median(with_tracer),
            "added_ns": diff, "ratio": ratio}


def fmt_ci(est, lo, hi, scale, digits):
    if lo is None:
        return f"{est / scale:.{digits}f} [CI needs more rounds]"
    return (f"{est / scale:.{digits}f} [{lo / scale:.{digits}f}, "
            f"{hi / scale:.{digits}f}]")


def print_table(results):
    print(f"{'query':<14} {'untraced':>10} {'traced':>10}  "
          f"{'added per query (95% CI)':<28} {'ratio (95% CI)':<22}")
    for r in results:
        print(f"{r['kind']:<14} {r['untraced_ns'] / 1e3:>8.2f}us "
              f"{r['traced_ns'] / 1e3:>8.2f}us  "
              f"{fmt_ci(*r['added_ns'], 1e3, 2) + ' us':<28} "
              f"{fmt_ci(*r['ratio'], 1, 2) + 'x':<22}")
    print(f"({results[0]['rounds']} rounds; per query the median over the "
          f"rounds; 'many' is one executemany of 100 rows)")


def main():
    parser = argparse.ArgumentParser(
        description="plumb sql's tracer overhead per query")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--block-ms", type=float, default=25.0,
                        help="the untraced time of one block (ms)")
    parser.add_argument("--pg", default=os.environ.get("PLUMB_TEST_PG"),
                        help="a PostgreSQL libpq dsn for the pg row")
    parser.add_argument("--start-pg", action="store_true",
                        help="start a server with tests/pgserver.py")
    parser.add_argument("--json", help="also write the figures there")
    args = parser.parse_args()
    if args.rounds < 6:
        parser.error("--rounds: at least 6 for a 95% CI")
    random.seed(12345)
    sqltrace = load_tracer()
    results = []
    server = None
    with tempfile.TemporaryDirectory(prefix="plumb-sql-bench-") as tmp:
        path = os.path.join(tmp, "bench.db")
        sqlite_setup(path)
        plain = sqlite_connect(path)
        pg_dsn, psycopg2 = args.pg, None
        if pg_dsn or args.start_pg:
            try:
                import psycopg2
            except ImportError as e:
                sys.exit(f"sql_overhead.py: the pg row needs psycopg2 ({e});"
                         f" apt-get install python3-psycopg2")
        if args.start_pg and not pg_dsn:
            sys.path.insert(0, os.path.join(ROOT, "tests"))
            from pgserver import PgServer
            server = PgServer()
            server.__enter__()
            pg_dsn = server.dsn
        try:
            if pg_dsn:
                pg_setup(psycopg2, pg_dsn)
                pg_plain = psycopg2.connect(pg_dsn)
            tracer = sqltrace.start()
            traced = sqlite_connect(path)
            if pg_dsn:
                pg_traced = psycopg2.connect(pg_dsn)
            kinds = [("sqlite point", sqlite_point),
                     ("sqlite range", sqlite_range),
                     ("sqlite insert", sqlite_insert),
                     ("sqlite many", sqlite_many)]
            for name, make in kinds:
                results.append(measure(name, make(plain, "untraced"),
                                       make(traced, "traced"), args.rounds,
                                       args.block_ms))
            if pg_dsn:
                results.append(measure("pg point",
                                       pg_point(pg_plain, "untraced"),
                                       pg_point(pg_traced, "traced"),
                                       args.rounds, args.block_ms))
            trace = tracer.stop()
            if pg_dsn:
                pg_plain.close()
                pg_traced.close()
                pg_drop(psycopg2, pg_dsn)
        finally:
            if server is not None:
                server.__exit__(None, None, None)
    traced_calls = sum(s["calls"] for s in trace["statements"])
    print(f"plumb sql tracer overhead, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}"
          + (f", psycopg2 {psycopg2.__version__.split()[0]}" if pg_dsn
             else ", no PostgreSQL (--pg DSN or --start-pg)"))
    print_table(results)
    print(f"(the tracer counted {traced_calls} traced calls in "
          f"{len(trace['statements'])} statements)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"python": sys.version.split()[0],
                       "sqlite": sqlite3.sqlite_version,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
