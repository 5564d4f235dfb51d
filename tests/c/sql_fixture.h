/* sql_fixture.h: what the scratch-database tests (test_sql_db.c on SQLite,
 * test_sql_pg.c on PostgreSQL) share: statements that must succeed, and
 * parameter values. Opening stays each file's own (each checks its
 * engine). */
#ifndef PLUMB_TESTS_SQL_FIXTURE_H
#define PLUMB_TESTS_SQL_FIXTURE_H

#include <string.h>

#include "tests.h"

static inline void exec_ok(plumb_sql_db_t *db, const char *sql)
{
    char *msg = NULL;
    int err = plumb_sql_db_exec(db, sql, &msg);
    if (err)
        fail_msg("%s: %s", sql, msg ? msg : plumb_strerror(err));
}

/* The result of sql, which must succeed; res is poisoned first, so a
 * field the run leaves unset shows. */
static inline plumb_sql_result_t run_ok(plumb_sql_db_t *db, const char *sql,
                                        const plumb_sql_value_t *params,
                                        size_t n)
{
    plumb_sql_result_t res;
    char *msg = NULL;
    memset(&res, 0xAB, sizeof res);
    int err = plumb_sql_db_run(db, sql, params, n, &res, &msg);
    if (err)
        fail_msg("%s: %s", sql, msg ? msg : plumb_strerror(err));
    assert_true(res.wall_ns > 0);
    return res;
}

/* The rows sql returns (a digest cannot be read back: counts are asked
 * for as rows). */
static inline int64_t run_rows(plumb_sql_db_t *db, const char *sql)
{
    return run_ok(db, sql, NULL, 0).rows;
}

static inline plumb_sql_value_t int_value(int64_t v)
{
    plumb_sql_value_t p = {PLUMB_SQL_INTEGER, v, 0, NULL, 0, NULL};
    return p;
}

static inline plumb_sql_value_t text_value(const char *s)
{
    plumb_sql_value_t p = {PLUMB_SQL_TEXT, 0, 0, s, strlen(s), NULL};
    return p;
}

#endif
