/* test_sql_pg.c: scratch sessions on a real PostgreSQL server: connecting
 * (by key=value string and by URL, failures that keep the password
 * quiet), running statements with parameters, plans from EXPLAIN (FORMAT
 * JSON), index sizes, and index trials on a 120 000-row table, with the
 * proof that nothing is ever committed.
 *
 * The server is the one tests/pgserver.py starts: `make sql-pg-test` runs
 * this group with PLUMB_TEST_PG set to its dsn. The runner leaves this
 * group out unless asked for it by name; asked without a server, every
 * test fails saying so. The group commits its fixture tables once, through
 * libpq directly; the tests only read them through plumb, whose sessions
 * are always rolled back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_fixture.h"
#include "tests.h"

#ifdef PLUMB_HAVE_LIBPQ
#include <libpq-fe.h>

#define BOOKS 120000

static char setup_error[1024];

static const char *server(void)
{
    const char *dsn = getenv("PLUMB_TEST_PG");
    if (!dsn || !*dsn)
        fail_msg("PLUMB_TEST_PG is not set: these tests need a PostgreSQL "
                 "server; `make sql-pg-test` starts one (tests/pgserver.py) "
                 "and runs them");
    if (setup_error[0])
        fail_msg("%s", setup_error);
    return dsn;
}

/* ---- the fixture, committed through libpq -------------------------------- */

static const char fixture_sql[] =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS book; DROP TABLE IF EXISTS author;"
    "CREATE TABLE author(id integer PRIMARY KEY, name text NOT NULL);"
    "CREATE TABLE book(id integer PRIMARY KEY, author_id integer NOT NULL,"
    " title text NOT NULL, year integer, price double precision, cover bytea);"
    "INSERT INTO author SELECT i, 'author ' || i FROM generate_series(1, "
    "10007) i;"
    "INSERT INTO book SELECT i, (i::bigint * 7919) % 10007 + 1, 'title ' || i,"
    " 1900 + i % 120, (i % 1000) / 10.0, CASE WHEN i % 10 = 0 THEN NULL ELSE"
    " decode(lpad(to_hex(i), 8, '0'), 'hex') END FROM generate_series(1, "
    "120000) i;"
    "ANALYZE;";

static PGconn *raw_connect(const char *dsn)
{
    PGconn *conn = PQconnectdb(dsn);
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", dsn,
                 conn ? PQerrorMessage(conn) : "out of memory");
    return conn;
}

/* The first column of the first row of sql, as an integer. */
static long long raw_int(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    long long v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static int group_setup(void **state)
{
    (void)state;
    const char *dsn = getenv("PLUMB_TEST_PG");
    if (!dsn || !*dsn)
        return 0; /* each test says so */
    PGconn *conn = PQconnectdb(dsn);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        snprintf(setup_error, sizeof setup_error,
                 "cannot connect to the test server (%s): %s", dsn,
                 conn ? PQerrorMessage(conn) : "out of memory");
    } else {
        PGresult *res = PQexec(conn, fixture_sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            snprintf(setup_error, sizeof setup_error,
                     "cannot make the test tables: %s",
                     PQresultErrorMessage(res));
        PQclear(res);
    }
    PQfinish(conn);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    const char *dsn = getenv("PLUMB_TEST_PG");
    if (dsn && *dsn && !setup_error[0]) {
        PGconn *conn = PQconnectdb(dsn);
        if (conn && PQstatus(conn) == CONNECTION_OK)
            PQclear(PQexec(conn, "DROP TABLE book; DROP TABLE author"));
        PQfinish(conn);
    }
    return 0;
}

/* ---- plumb helpers -------------------------------------------------------- */

static plumb_sql_db_t *pg_open(const char *target)
{
    plumb_sql_db_t *db = NULL;
    char *msg = NULL;
    int err = plumb_sql_db_open(target, &db, &msg);
    if (err)
        fail_msg("open %s: %s", target, msg ? msg : plumb_strerror(err));
    assert_int_equal(plumb_sql_db_engine(db), PLUMB_SQL_POSTGRESQL);
    return db;
}

/* The digest of one row holding true: what a check that holds returns. */
static uint64_t yes(plumb_sql_db_t *db)
{
    return run_ok(db, "SELECT true", NULL, 0).digest;
}

/* ---- connecting ----------------------------------------------------------- */

static void opens_by_dsn_and_by_url(void **state)
{
    (void)state;
    const char *dsn = server();
    plumb_sql_db_t *db = pg_open(dsn);
    assert_int_equal(run_rows(db, "SELECT id FROM book WHERE id <= 10"), 10);
    plumb_sql_db_close(db);

    /* The same server as a URL. */
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    assert_non_null(opts);
    const char *host = "", *port = "", *dbname = "", *user = "";
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
    }
    char url[512];
    snprintf(url, sizeof url, "postgresql://%s@%s:%s/%s", user, host, port,
             dbname);
    db = pg_open(url);
    assert_int_equal(run_rows(db, "SELECT id FROM author WHERE id <= 7"), 7);
    plumb_sql_db_close(db);

    /* A database the server lacks: libpq's words, without the password. */
    char wrong[1024];
    snprintf(wrong, sizeof wrong, "%s dbname=no_such_db password=hunter2-pw",
             dsn);
    char *msg = NULL;
    db = NULL;
    assert_int_equal(plumb_sql_db_open(wrong, &db, &msg), PLUMB_EIO);
    assert_null(db);
    assert_non_null(strstr(msg, "no_such_db"));
    if (strstr(msg, "hunter2"))
        fail_msg("the password leaked: %s", msg);
    free(msg);
    PQconninfoFree(opts);
}

/* ---- running statements ------------------------------------------------- */

static void runs_with_parameters(void **state)
{
    (void)state;
    plumb_sql_db_t *db = pg_open(server());
    char *msg = NULL;
    plumb_sql_result_t res;

    plumb_sql_result_t up = run_ok(db, "SELECT * FROM book WHERE id <= 1000 "
                                       "ORDER BY id", NULL, 0);
    plumb_sql_result_t down = run_ok(db, "SELECT * FROM book WHERE id <= "
                                         "1000 ORDER BY id DESC", NULL, 0);
    plumb_sql_result_t more = run_ok(db, "SELECT * FROM book WHERE id <= "
                                         "1001", NULL, 0);
    assert_int_equal(up.rows, 1000);
    assert_true(up.digest == down.digest);
    assert_true(more.digest != up.digest);
    assert_true(run_ok(db, "SELECT NULL::text", NULL, 0).digest !=
                run_ok(db, "SELECT ''::text", NULL, 0).digest);

    plumb_sql_value_t p[6] = {
        int_value(5),
        {PLUMB_SQL_TEXT, 0, 0, "abcdef", 3, NULL},
        {PLUMB_SQL_REAL, 0, 2.5, NULL, 0, NULL},
        {PLUMB_SQL_NULL, 0, 0, NULL, 0, NULL},
        {PLUMB_SQL_BLOB, 0, 0, "\x00\x01\x02", 3, NULL},
        {PLUMB_SQL_REAL, 0, -1.0 / 0.0, NULL, 0, NULL},
    };
    res = run_ok(db,
                 "SELECT $1::int = 5 AND $2::text = 'abc' AND $3::float8 = 2.5"
                 " AND $4::int IS NULL AND $5::bytea = '\\x000102'::bytea AND "
                 "$6::float8 = '-Infinity'",
                 p, 6);
    assert_true(res.digest == yes(db));
    /* A real keeps every digit. */
    plumb_sql_value_t third = {PLUMB_SQL_REAL, 0, 1.0 / 3, NULL, 0, NULL};
    res = run_ok(db, "SELECT $1::float8 = 1::float8 / 3", &third, 1);
    assert_true(res.digest == yes(db));
    res = run_ok(db, "SELECT title FROM book WHERE author_id = $1", p, 1);
    assert_true(res.rows >= 10);

    /* Rows changed, for statements that return none. */
    res = run_ok(db, "UPDATE book SET price = price WHERE author_id = $1", p,
                 1);
    assert_int_equal(res.rows,
                     run_ok(db, "SELECT 1 FROM book WHERE author_id = 5",
                            NULL, 0).rows);
    assert_true(res.digest == 0);

    /* Named parameters, NUL in text. */
    plumb_sql_value_t named = int_value(5);
    named.name = "id";
    assert_int_equal(plumb_sql_db_run(db, "SELECT $1", &named, 1, &res, &msg),
                     PLUMB_EINVAL);
    assert_non_null(strstr(msg, "by position"));
    free(msg);
    plumb_sql_value_t nul = {PLUMB_SQL_TEXT, 0, 0, "a\0b", 3, NULL};
    assert_int_equal(plumb_sql_db_run(db, "SELECT $1::text", &nul, 1, &res,
                                      &msg),
                     PLUMB_EINVAL);
    assert_non_null(strstr(msg, "NUL"));
    free(msg);
    plumb_sql_db_close(db);
}

static void errors_leave_the_session_usable(void **state)
{
    (void)state;
    plumb_sql_db_t *db = pg_open(server());
    plumb_sql_result_t res;
    char *msg = NULL;
    exec_ok(db, "CREATE TABLE scratch(x int)");
    assert_int_equal(plumb_sql_db_run(db, "SELEC 1", NULL, 0, &res, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "SELEC 1: "));
    assert_non_null(strstr(msg, "syntax error"));
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT * FROM nope", NULL, 0, &res,
                                      &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "relation \"nope\" does not exist"));
    free(msg);
    assert_int_equal(plumb_sql_db_exec(db, "INSERT INTO scratch VALUES ('x')",
                                       &msg),
                     PLUMB_EIO);
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT 1; SELECT 2", NULL, 0,
                                      &res, &msg),
                     PLUMB_EIO);
    free(msg);
    /* What came before the errors is still there. */
    exec_ok(db, "INSERT INTO scratch VALUES (1)");
    assert_int_equal(run_rows(db, "SELECT x FROM scratch"), 1);
    /* Savepoints of the caller's own. */
    exec_ok(db, "SAVEPOINT mine");
    exec_ok(db, "INSERT INTO scratch VALUES (2)");
    exec_ok(db, "ROLLBACK TO SAVEPOINT mine");
    exec_ok(db, "RELEASE SAVEPOINT mine");
    assert_int_equal(run_rows(db, "SELECT x FROM scratch"), 1);
    int64_t bytes;
    assert_int_equal(plumb_sql_db_index_bytes(db, "nope", &bytes, &msg),
                     PLUMB_ENOTFOUND);
    free(msg);
    plumb_sql_db_close(db);
}

/* ---- plans and sizes ------------------------------------------------------- */

static int has_step(const plumb_sql_plan_t *plan, plumb_sql_step_kind_t kind,
                    const char *table)
{
    for (size_t i = 0; i < plan->n_steps; i++)
        if (plan->steps[i].kind == kind &&
            (!table ||
             (plan->steps[i].table &&
              strcmp(plan->steps[i].table, table) == 0)))
            return 1;
    return 0;
}

static void explains_in_json(void **state)
{
    (void)state;
    plumb_sql_db_t *db = pg_open(server());
    plumb_sql_value_t five = int_value(5);
    plumb_sql_plan_t plan;
    char *msg = NULL;
    const char *by_author = "SELECT title FROM book WHERE author_id = $1";

    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_db_explain(db, by_author, &five, 1, &plan,
                                          &msg),
                     0);
    assert_true(has_step(&plan, PLUMB_SQL_STEP_SCAN, "book"));
    assert_false(has_step(&plan, PLUMB_SQL_STEP_SEARCH, NULL));
    plumb_sql_plan_close(&plan);

    assert_int_equal(plumb_sql_db_explain(db, "SELECT title FROM book ORDER "
                                              "BY title",
                                          NULL, 0, &plan, &msg),
                     0);
    assert_true(has_step(&plan, PLUMB_SQL_STEP_SORT, NULL));
    plumb_sql_plan_close(&plan);

    exec_ok(db, "CREATE INDEX ix_author ON book(author_id)");
    exec_ok(db, "ANALYZE book");
    assert_int_equal(plumb_sql_db_explain(db, by_author, &five, 1, &plan,
                                          &msg),
                     0);
    assert_true(has_step(&plan, PLUMB_SQL_STEP_SEARCH, NULL));
    assert_false(has_step(&plan, PLUMB_SQL_STEP_SCAN, "book"));
    int named = 0;
    for (size_t i = 0; i < plan.n_steps; i++)
        named |= plan.steps[i].index &&
                 strcmp(plan.steps[i].index, "ix_author") == 0;
    assert_true(named);
    /* A statement that fails leaves the plan as it was. */
    size_t n = plan.n_steps;
    assert_int_equal(plumb_sql_db_explain(db, "SELECT nope FROM book", NULL, 0,
                                          &plan, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "column \"nope\" does not exist"));
    free(msg);
    assert_int_equal(plan.n_steps, n);
    plumb_sql_plan_close(&plan);

    /* The index's size, as pg_relation_size says it. */
    int64_t bytes = 0;
    assert_int_equal(plumb_sql_db_index_bytes(db, "ix_author", &bytes, &msg),
                     0);
    assert_true(bytes > (int64_t)BOOKS * 4);
    assert_true(bytes % 8192 == 0);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %lld::bigint", (long long)bytes);
    assert_true(run_ok(db, "SELECT pg_relation_size('ix_author')", NULL, 0)
                    .digest == run_ok(db, sql, NULL, 0).digest);
    plumb_sql_db_close(db);
}

/* ---- index trials --------------------------------------------------------- */

static const plumb_sql_value_t author5 = {PLUMB_SQL_INTEGER, 5, 0, NULL, 0,
                                          NULL};
static const plumb_sql_value_t author77 = {PLUMB_SQL_INTEGER, 77, 0, NULL, 0,
                                           NULL};
static const plumb_sql_call_t by_author[] = {
    {"SELECT id, title, price FROM book WHERE author_id = $1", &author5, 1},
    {"SELECT id, title, price FROM book WHERE author_id = $1", &author77, 1},
};
static const plumb_sql_value_t insert_values[] = {
    {PLUMB_SQL_INTEGER, 200001, 0, NULL, 0, NULL},
    {PLUMB_SQL_INTEGER, 5, 0, NULL, 0, NULL},
    {PLUMB_SQL_TEXT, 0, 0, "a new book", 10, NULL},
};
static const plumb_sql_call_t writes[] = {
    {"INSERT INTO book(id, author_id, title) VALUES ($1, $2, $3)",
     insert_values, 3},
    {"UPDATE book SET author_id = 77 WHERE id = 1000", NULL, 0},
};
static char *index_columns[] = {"author_id"};
static plumb_sql_index_t author_index = {
    "book", index_columns, 1, "plumb_book_author_id",
    "CREATE INDEX \"plumb_book_author_id\" ON \"book\"(\"author_id\")"};

static int64_t index_count(plumb_sql_db_t *db)
{
    return run_rows(db, "SELECT 1 FROM pg_indexes WHERE tablename = 'book'");
}

static void trial_of_a_useful_index(void **state)
{
    (void)state;
    plumb_sql_db_t *db = pg_open(server());
    const char *all = "SELECT * FROM book";
    plumb_sql_result_t data = run_ok(db, all, NULL, 0);
    int64_t indexes = index_count(db);
    plumb_sql_trial_t t;
    char *msg = NULL;
    int err = plumb_sql_trial_run(db, &author_index, by_author, 2, writes, 2,
                                  NULL, &t, &msg);
    if (err)
        fail_msg("trial: %s", msg ? msg : plumb_strerror(err));
    print_message("      useful index: %.0f ns a round before, %.0f after: "
                  "%.0fx faster (95%% CI %.0f-%.0f); writes %.2fx\n",
                  t.before_round_ns, t.after_round_ns, t.reads.ratio,
                  t.reads.ci_low, t.reads.ci_high, t.writes.ratio);
    print_message("      plans: %s -> %s\n", t.plan_before, t.plan_after);
    assert_true(t.reads.ratio >= 10);
    assert_int_equal(t.reads.verdict, PLUMB_VERDICT_LOWER);
    assert_int_equal(t.same_results, 1);
    assert_int_equal(t.scan_removed, 1);
    assert_non_null(strstr(t.plan_before, "Seq Scan on book"));
    assert_non_null(strstr(t.plan_after, "plumb_book_author_id"));
    assert_true(t.index_bytes > (int64_t)BOOKS * 4);
    assert_int_equal(t.has_writes, 1);
    assert_true(t.writes.baseline_median > 0 && t.writes.candidate_median > 0);
    plumb_sql_trial_close(&t);

    /* Gone again: the index, the writes. */
    assert_int_equal(index_count(db), indexes);
    plumb_sql_result_t now = run_ok(db, all, NULL, 0);
    assert_int_equal(now.rows, data.rows);
    assert_true(now.digest == data.digest);
    plumb_sql_db_close(db);
}

static void trial_failures_leave_the_session_as_it_was(void **state)
{
    (void)state;
    plumb_sql_db_t *db = pg_open(server());
    exec_ok(db, "CREATE INDEX users_own ON book(title)");
    int64_t indexes = index_count(db);
    plumb_sql_trial_t t;
    char *msg = NULL;

    static char *nope[] = {"nope"};
    plumb_sql_index_t bad = {"book", nope, 1, "plumb_book_nope",
                             "CREATE INDEX plumb_book_nope ON book(nope)"};
    assert_int_equal(plumb_sql_trial_run(db, &bad, by_author, 2, NULL, 0, NULL,
                                         &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "cannot create the index"));
    assert_non_null(strstr(msg, "column \"nope\" does not exist"));
    free(msg);
    assert_int_equal(index_count(db), indexes);

    plumb_sql_index_t clash = {"book", nope, 1, "users_own",
                               "CREATE INDEX users_own ON book(author_id)"};
    assert_int_equal(plumb_sql_trial_run(db, &clash, by_author, 2, NULL, 0,
                                         NULL, &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "already exists"));
    free(msg);
    assert_int_equal(index_count(db), indexes);
    assert_int_equal(run_rows(db, "SELECT 1 FROM pg_indexes WHERE indexname "
                                  "= 'users_own'"),
                     1);

    const plumb_sql_call_t dup[] = {
        {"INSERT INTO book(id, author_id, title) VALUES (1, 1, 'x')", NULL,
         0}};
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 1, dup,
                                         1, NULL, &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "write 1: "));
    assert_non_null(strstr(msg, "duplicate key"));
    free(msg);
    assert_int_equal(index_count(db), indexes);
    assert_int_equal(run_rows(db, "SELECT 1 FROM book"), BOOKS);
    plumb_sql_db_close(db);
}

/* Whatever a session did, the server never sees it. */
static void nothing_is_ever_committed(void **state)
{
    (void)state;
    const char *dsn = server();
    PGconn *raw = raw_connect(dsn);
    long long indexes = raw_int(raw, "SELECT count(*) FROM pg_indexes WHERE "
                                     "tablename = 'book'");
    long long sum = raw_int(raw, "SELECT sum(author_id + length(title)) FROM "
                                 "book");

    plumb_sql_db_t *db = pg_open(dsn);
    exec_ok(db, "CREATE TABLE scratch(x int)");
    exec_ok(db, "CREATE INDEX ix_year ON book(year)");
    exec_ok(db, "UPDATE book SET author_id = 1, title = 'x'");
    plumb_sql_trial_t t;
    char *msg = NULL;
    plumb_sql_trial_opts_t opts;
    plumb_sql_trial_opts_init(&opts);
    opts.rounds = 3;
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 1,
                                         writes, 2, &opts, &t, &msg),
                     0);
    plumb_sql_trial_close(&t);
    /* Nothing that would end the transaction gets through, hidden behind
     * another statement or not. */
    plumb_sql_result_t res;
    static const char *const commits[] = {
        "COMMIT", "COMMIT AND CHAIN", "END", "-- done\ncommit work",
        "PREPARE TRANSACTION 'plumb'", "ROLLBACK", "ABORT",
    };
    for (size_t i = 0; i < sizeof commits / sizeof *commits; i++) {
        assert_int_equal(plumb_sql_db_exec(db, commits[i], &msg),
                         PLUMB_EINVAL);
        free(msg);
        assert_int_equal(plumb_sql_db_run(db, commits[i], NULL, 0, &res,
                                          &msg),
                         PLUMB_EINVAL);
        free(msg);
    }
    assert_int_equal(plumb_sql_db_exec(db, "SELECT 1; COMMIT", &msg),
                     PLUMB_EIO);
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT 1; COMMIT", NULL, 0, &res,
                                      &msg),
                     PLUMB_EIO);
    free(msg);
    /* A procedure may not commit inside the session's transaction. */
    assert_int_equal(plumb_sql_db_exec(db, "DO $$ BEGIN COMMIT; END $$",
                                       &msg),
                     PLUMB_EIO);
    free(msg);
    assert_int_equal(run_rows(db, "SELECT 1 FROM book WHERE title = 'x'"),
                     BOOKS);
    plumb_sql_db_close(db);

    long long now_indexes = raw_int(raw, "SELECT count(*) FROM pg_indexes "
                                         "WHERE tablename = 'book'");
    long long now_sum = raw_int(raw, "SELECT sum(author_id + length(title)) "
                                     "FROM book");
    long long scratch = raw_int(raw, "SELECT count(*) FROM pg_tables WHERE "
                                     "tablename = 'scratch'");
    PQfinish(raw);
    if (now_indexes != indexes || now_sum != sum || scratch != 0)
        fail_msg("the server kept the session's work: %lld indexes (was "
                 "%lld), sum %lld (was %lld), scratch table %lld",
                 now_indexes, indexes, now_sum, sum, scratch);
}

int test_sql_pg_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_by_dsn_and_by_url),
        cmocka_unit_test(runs_with_parameters),
        cmocka_unit_test(errors_leave_the_session_usable),
        cmocka_unit_test(explains_in_json),
        cmocka_unit_test(trial_of_a_useful_index),
        cmocka_unit_test(trial_failures_leave_the_session_as_it_was),
        cmocka_unit_test(nothing_is_ever_committed),
    };
    return cmocka_run_group_tests_name("sql_pg", tests, group_setup,
                                       group_teardown);
}

#else /* without libpq */

static void built_with_libpq(void **state)
{
    (void)state;
    plumb_sql_db_t *db = NULL;
    char *msg = NULL;
    assert_int_equal(plumb_sql_db_open("host=127.0.0.1 dbname=x", &db, &msg),
                     PLUMB_EUNSUPPORTED);
    free(msg);
    fail_msg("plumb was built without libpq: install libpq-dev (Debian) and "
             "rebuild to test PostgreSQL");
}

int test_sql_pg_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(built_with_libpq),
    };
    return cmocka_run_group_tests_name("sql_pg", tests, NULL, NULL);
}
#endif
