/* sql_db.h: what sql_db.c shares with the engines behind a scratch
 * database (sql_db_sqlite.c, sql_db_pg.c or sql_db_nopg.c, chosen by the
 * Makefile): the table of operations each engine fills in, the row digest
 * both compute the same way, and the error messages. Internal: not part of
 * plumb.h.
 *
 * Each engine allocates its own struct with struct plumb_sql_db first;
 * sql_db.c checks the arguments, clears *errmsg and calls through ops. The
 * operations may assume non-NULL arguments.
 */
#ifndef PLUMB_SQL_DB_H
#define PLUMB_SQL_DB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "plumb.h"

#if defined(__GNUC__)
#define SQL_DB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SQL_DB_PRINTF(fmt, args)
#endif

typedef struct {
    void (*close)(plumb_sql_db_t *db);
    int (*exec)(plumb_sql_db_t *db, const char *sql, char **errmsg);
    int (*run)(plumb_sql_db_t *db, const char *sql,
               const plumb_sql_value_t *params, size_t n_params,
               plumb_sql_result_t *res, char **errmsg);
    int (*explain)(plumb_sql_db_t *db, const char *sql,
                   const plumb_sql_value_t *params, size_t n_params,
                   plumb_sql_plan_t *plan, char **errmsg);
    int (*index_bytes)(plumb_sql_db_t *db, const char *name, int64_t *bytes,
                       char **errmsg);
} plumb__sql_db_ops_t;

struct plumb_sql_db {
    const plumb__sql_db_ops_t *ops;
    plumb_sql_engine_t engine;
};

/* Opens a scratch copy of the SQLite file at path (a plain path). */
int plumb__sql_sqlite_open(const char *path, plumb_sql_db_t **out,
                           char **errmsg);
/* Connects to PostgreSQL (a URL or key=value string) and begins the
 * transaction close rolls back; PLUMB_EUNSUPPORTED without libpq. */
int plumb__sql_pg_open(const char *conninfo, plumb_sql_db_t **out,
                       char **errmsg);

/* The second way to measure an index on SQLite, which works without the
 * dbstat table: the pages a DROP INDEX frees inside a savepoint that is
 * rolled back. index_bytes uses it when dbstat is missing; the tests check
 * it against dbstat. */
int plumb__sql_sqlite_index_bytes_by_drop(plumb_sql_db_t *db,
                                          const char *name, int64_t *bytes,
                                          char **errmsg);

/* Sets *errmsg (when errmsg is not NULL) to the formatted message and
 * returns err. An out-of-memory while formatting leaves *errmsg NULL. */
SQL_DB_PRINTF(3, 4)
int plumb__sql_fail(char **errmsg, int err, const char *fmt, ...);

/* The start of sql for messages: at most 100 bytes, whitespace folded,
 * "..." when cut, in buf (of at least PLUMB__SQL_SNIPPET bytes). */
#define PLUMB__SQL_SNIPPET 112
const char *plumb__sql_snippet(const char *sql, char *buf);

/* The digest of a result: each row hashed (each column's type and value,
 * in order) into 64 bits, and the row hashes summed, so that the same rows
 * in another order give the same digest. */
typedef struct {
    uint64_t state;
} plumb__sql_row_hash_t;

/* A row is begun, given its columns in order, and ended into its hash.
 * SQLite hashes each column as its storage class holds it; PostgreSQL's
 * columns arrive as text or NULL and are hashed as such. */
void plumb__sql_row_begin(plumb__sql_row_hash_t *h);
void plumb__sql_row_add(plumb__sql_row_hash_t *h, plumb_sql_type_t type,
                        const void *bytes, size_t len);
void plumb__sql_row_add_int(plumb__sql_row_hash_t *h, int64_t v);
void plumb__sql_row_add_real(plumb__sql_row_hash_t *h, double v);
uint64_t plumb__sql_row_end(plumb__sql_row_hash_t *h);

/* Drops plan's steps from n on (sql_plan.c): how explain leaves a plan it
 * failed to add to. */
void plumb__sql_plan_truncate(plumb_sql_plan_t *plan, size_t n);

/* Whether sql, after the statement a prepare call consumed, holds another
 * statement (anything but whitespace, ';' and comments). */
int plumb__sql_has_more(const char *tail);

/* Statements that control transactions, by their first words: none, the
 * savepoint family (SAVEPOINT, RELEASE, ROLLBACK TO), which nests inside a
 * transaction, and the statements that begin or end one (BEGIN, START,
 * COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION), which a scratch
 * database refuses: a PostgreSQL COMMIT would write the user's database. */
typedef enum {
    PLUMB__SQL_TXN_NONE,
    PLUMB__SQL_TXN_SAVEPOINT,
    PLUMB__SQL_TXN_BOUNDARY
} plumb__sql_txn_t;
plumb__sql_txn_t plumb__sql_transaction_control(const char *sql);

/* name as a quoted identifier, "a""b" for a"b; a dotted name is quoted part
 * by part ("s"."t"). malloc'd; NULL when out of memory. */
char *plumb__sql_quote_ident(const char *name);

#endif
