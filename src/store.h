/* store.h: what store.c lends the other files of the store (store_mem.c,
 * store_profile.c): the checks, statements and error messages every save
 * and load goes through, so that a memory profile or a sampled profile is
 * kept exactly as a session is. Internal: not part of plumb.h. Each call
 * that fails leaves its sentence in plumb_store_errmsg(st) and returns the
 * PLUMB_E* code.
 */
#ifndef PLUMB_STORE_H
#define PLUMB_STORE_H

#include <sqlite3.h>

#include "plumb.h"

/* The open database of st. */
sqlite3 *plumb__store_db(plumb_store_t *st);
/* The file of st, for messages. */
const char *plumb__store_path(const plumb_store_t *st);
/* Clears the last error and checks that st is open: 0 or PLUMB_EINVAL. */
int plumb__store_begin_call(plumb_store_t *st);
/* Sets the last error to `what` and returns err. */
int plumb__store_fail(plumb_store_t *st, int err, const char *what);
/* Sets the last error to "PATH: what: SQLite's words" for the error SQLite
 * just reported (call it before any other SQLite call) and returns
 * PLUMB_ESTORE, or PLUMB_ENOMEM when SQLite ran out of memory. */
int plumb__store_fail_sqlite(plumb_store_t *st, const char *what);
int plumb__store_prepare(plumb_store_t *st, const char *sql,
                         sqlite3_stmt **stmt);
/* Steps an INSERT to its end and resets it; on failure the error names
 * `what`. */
int plumb__store_step_done(plumb_store_t *st, sqlite3_stmt *stmt,
                           const char *what);
/* Runs SQL without results; SQLite's code. */
int plumb__store_exec(plumb_store_t *st, const char *sql);
/* Undoes the open transaction, if SQLite has not already done so. */
void plumb__store_rollback(plumb_store_t *st);
/* Inserts the row of session s (its environment, invocation, partial
 * flag...; not its runs) in the open transaction; its id in *id. */
int plumb__store_insert_session(plumb_store_t *st, const plumb_session_t *s,
                                int64_t *id);
/* Inserts session s and its one run, of kind `kind` ('profile', 'mem'),
 * named name and running cmd, with its python (a fixed-size field) and
 * sample count, in the open transaction; the run's id in *run_id. A
 * failure says "cannot save WHAT's run". */
int plumb__store_insert_lone_run(plumb_store_t *st, const plumb_session_t *s,
                                 const char *kind, const char *name,
                                 const char *cmd, const char *python,
                                 size_t python_size, uint64_t n_samples,
                                 const char *what, int64_t *run_id);
/* Binds text, or NULL as SQL NULL. SQLite's code. */
int plumb__store_bind_text(sqlite3_stmt *stmt, int i, const char *text);
/* Binds a fixed-size char field that need not hold its NUL when full.
 * SQLite's code. */
int plumb__store_bind_field(sqlite3_stmt *stmt, int i, const char *field,
                            size_t size);
/* Copies column i into a fixed-size char field, cut to fit. */
void plumb__store_copy_field(char *field, size_t size, sqlite3_stmt *stmt,
                             int i);
/* Steps q, bound to the header of run run_id of a `kind` ("profile",
 * "memory profile"), to its row: 0; PLUMB_ENOTFOUND when there is none
 * ("PATH holds no KIND run N"); SQLite's error as "cannot read KIND N". */
int plumb__store_step_head(plumb_store_t *st, sqlite3_stmt *q,
                           const char *kind, int64_t run_id);
/* Reads the rows of q, (thread, frames, count 0, ..., count n-1), into the
 * n stacks: each row adds its positive count k to stacks[k] at the path
 * "thread;frames". On failure the error names `what`. */
int plumb__store_read_stacks(plumb_store_t *st, sqlite3_stmt *q,
                             plumb_stack_t *const *stacks, int n,
                             const char *what);
/* A text column as a string that is never NULL. */
const char *plumb__store_column_text(sqlite3_stmt *stmt, int i);

#endif
