/* sql_db.c: the scratch database the index advice is tried on, whatever
 * its engine. It owns telling a PostgreSQL target from a SQLite file,
 * checking arguments, the row digest and the messages; the engines
 * (sql_db_sqlite.c, sql_db_pg.c) own copying, connecting and running
 * statements. It does not decide what to run: the index trial
 * (sql_trial.c) and the findings do.
 */
#include "sql_db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ----------------------------------------------------------- */

int plumb__sql_fail(char **errmsg, int err, const char *fmt, ...)
{
    if (!errmsg)
        return err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    free(*errmsg);
    *errmsg = NULL;
    if (n < 0)
        return err;
    char *msg = malloc((size_t)n + 1);
    if (!msg)
        return err;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *errmsg = msg;
    return err;
}

const char *plumb__sql_snippet(const char *sql, char *buf)
{
    enum { KEEP = 100 };
    size_t n = 0;
    int space = 0;
    const char *p = sql;
    while (isspace((unsigned char)*p))
        p++;
    for (; *p && n < KEEP; p++) {
        if (isspace((unsigned char)*p)) {
            space = 1;
            continue;
        }
        if (space && n < KEEP - 1)
            buf[n++] = ' ';
        space = 0;
        buf[n++] = *p;
    }
    if (((unsigned char)*p & 0xC0) == 0x80) {
        /* Cut inside a UTF-8 sequence: drop its first bytes too. */
        while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0)
            n--;
    }
    while (*p && isspace((unsigned char)*p))
        p++;
    if (*p) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- row digest --------------------------------------------------------- */

/* splitmix64's finaliser: every input bit reaches every output bit, which
 * a sum of row hashes needs (a weak hash would let rows cancel out). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

void plumb__sql_row_begin(plumb__sql_row_hash_t *h)
{
    h->state = UINT64_C(0x9e3779b97f4a7c15);
}

/* One column: its type and length first, so that ("ab", "c") and ("a",
 * "bc") differ, then its bytes eight at a time. */
void plumb__sql_row_add(plumb__sql_row_hash_t *h, plumb_sql_type_t type,
                        const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    uint64_t s = mix64(h->state ^ ((uint64_t)type + 1));
    s = mix64(s ^ (uint64_t)len);
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        s = mix64(s ^ word);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t word = 0;
        memcpy(&word, p, len);
        s = mix64(s ^ word ^ (UINT64_C(0xff) << 56));
    }
    h->state = s;
}

void plumb__sql_row_add_int(plumb__sql_row_hash_t *h, int64_t v)
{
    plumb__sql_row_add(h, PLUMB_SQL_INTEGER, &v, sizeof v);
}

void plumb__sql_row_add_real(plumb__sql_row_hash_t *h, double v)
{
    plumb__sql_row_add(h, PLUMB_SQL_REAL, &v, sizeof v);
}

uint64_t plumb__sql_row_end(plumb__sql_row_hash_t *h)
{
    return mix64(h->state ^ UINT64_C(0x2545f4914f6cdd1d));
}

/* ---- SQL text ----------------------------------------------------------- */

int plumb__sql_has_more(const char *tail)
{
    const char *p = tail;
    while (p && *p) {
        if (isspace((unsigned char)*p) || *p == ';') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p = strchr(p, '\n');
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : NULL;
        } else {
            return 1;
        }
    }
    return 0;
}

/* Skips whitespace and comments. */
static const char *skip_blank(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

/* The next word of sql, lower-cased, in word (cut to size - 1 letters);
 * where it ends. */
static const char *next_word(const char *p, char *word, size_t size)
{
    size_t n = 0;
    p = skip_blank(p);
    while (isalpha((unsigned char)*p)) {
        if (n + 1 < size)
            word[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    word[n] = '\0';
    return p;
}

plumb__sql_txn_t plumb__sql_transaction_control(const char *sql)
{
    char first[16], second[16], third[16];
    const char *p = next_word(sql, first, sizeof first);
    p = next_word(p, second, sizeof second);
    next_word(p, third, sizeof third);
    if (strcmp(first, "savepoint") == 0 || strcmp(first, "release") == 0)
        return PLUMB__SQL_TXN_SAVEPOINT;
    if (strcmp(first, "rollback") == 0)
        /* ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name */
        return strcmp(second, "to") == 0 ||
                       ((strcmp(second, "work") == 0 ||
                         strcmp(second, "transaction") == 0) &&
                        strcmp(third, "to") == 0)
                   ? PLUMB__SQL_TXN_SAVEPOINT
                   : PLUMB__SQL_TXN_BOUNDARY;
    if (strcmp(first, "begin") == 0 || strcmp(first, "start") == 0 ||
        strcmp(first, "commit") == 0 || strcmp(first, "end") == 0 ||
        strcmp(first, "abort") == 0 ||
        (strcmp(first, "prepare") == 0 && strcmp(second, "transaction") == 0))
        return PLUMB__SQL_TXN_BOUNDARY;
    return PLUMB__SQL_TXN_NONE;
}

char *plumb__sql_quote_ident(const char *name)
{
    size_t n = strlen(name);
    /* At worst every byte a doubled quote, plus two quotes per part. */
    if (n > (SIZE_MAX - 1) / 4)
        return NULL;
    char *out = malloc(4 * n + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            *o++ = '"';
            *o++ = '.';
            *o++ = '"';
        } else if (*p == '"') {
            *o++ = '"';
            *o++ = '"';
        } else {
            *o++ = *p;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* ---- opening ------------------------------------------------------------ */

/* A libpq key=value string starts with a keyword and '=' ("host=...",
 * "dbname = x"); a URL with its scheme. */
static int is_postgresql(const char *target)
{
    if (strncmp(target, "postgresql://", 13) == 0 ||
        strncmp(target, "postgres://", 11) == 0)
        return 1;
    const char *p = target;
    while (isspace((unsigned char)*p))
        p++;
    const char *word = p;
    while (isalpha((unsigned char)*p) || *p == '_')
        p++;
    if (p == word)
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    return *p == '=';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The file of a SQLite "file:" URI as sqlite3_open_v2 reads it: the path
 * before '?' or '#', %HH decoded, after "file://" or "file://localhost";
 * *in_memory when it names no file (":memory:", mode=memory). malloc'd;
 * NULL when out of memory or for an authority other than localhost
 * (*bad_authority). */
static char *uri_path(const char *uri, int *in_memory, int *bad_authority)
{
    const char *p = uri + 5; /* "file:" */
    *in_memory = 0;
    *bad_authority = 0;
    if (strncmp(p, "//", 2) == 0) {
        p += 2;
        const char *slash = strchr(p, '/');
        size_t host = slash ? (size_t)(slash - p) : strlen(p);
        if (host && !(host == 9 && strncmp(p, "localhost", 9) == 0)) {
            *bad_authority = 1;
            return NULL;
        }
        p += host;
    }
    size_t len = strcspn(p, "?#");
    const char *query = p[len] == '?' ? p + len + 1 : NULL;
    if (query) {
        const char *q = query, *end = query + strcspn(query, "#");
        while (q < end) {
            size_t n = strcspn(q, "&#");
            if (n == 11 && strncmp(q, "mode=memory", 11) == 0)
                *in_memory = 1;
            q += n;
            if (*q != '&')
                break;
            q++;
        }
    }
    char *path = malloc(len + 1), *o = path;
    if (!path)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < len && (hi = hex_digit(p[i + 1])) >= 0 &&
            (lo = hex_digit(p[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
        *in_memory = 1;
    return path;
}

/* Opens target: a PostgreSQL URL or key=value string, else a SQLite file
 * by path or "file:" URI (its query, such as mode=ro, is not used: the
 * file is always opened read-only). *out is the scratch database (NULL on
 * failure), closed with plumb_sql_db_close. PLUMB_EINVAL for NULL,
 * PLUMB_ENOTFOUND (no such file, or an in-memory database, which no other
 * process can reach), PLUMB_EACCESS, PLUMB_EIO (cannot copy or connect),
 * PLUMB_EUNSUPPORTED (built without libpq), PLUMB_ENOMEM; *errmsg says
 * why (the caller frees it; NULL on success). */
int plumb_sql_db_open(const char *target, plumb_sql_db_t **out,
                      char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (out)
        *out = NULL;
    if (!target || !out)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                               "no database given");
    if (is_postgresql(target))
        return plumb__sql_pg_open(target, out, errmsg);
    if (strcmp(target, ":memory:") == 0 || target[0] == '\0')
        return plumb__sql_fail(errmsg, PLUMB_ENOTFOUND,
                               "an in-memory SQLite database lives only in "
                               "the program that made it; give a file");
    if (strncmp(target, "file:", 5) != 0)
        return plumb__sql_sqlite_open(target, out, errmsg);

    int in_memory, bad_authority;
    char *path = uri_path(target, &in_memory, &bad_authority);
    int err;
    if (bad_authority)
        err = plumb__sql_fail(errmsg, PLUMB_ENOTFOUND,
                              "%s: SQLite opens only local files", target);
    else if (!path)
        err = plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    else if (in_memory)
        err = plumb__sql_fail(errmsg, PLUMB_ENOTFOUND,
                              "%s: an in-memory SQLite database lives only "
                              "in the program that made it; give a file",
                              target);
    else
        err = plumb__sql_sqlite_open(path, out, errmsg);
    free(path);
    return err;
}

/* Closes db: SQLite's copy and its journals are removed, PostgreSQL's
 * transaction rolled back. NULL is a no-op. */
void plumb_sql_db_close(plumb_sql_db_t *db)
{
    if (db)
        db->ops->close(db);
}

/* The engine behind db. */
plumb_sql_engine_t plumb_sql_db_engine(const plumb_sql_db_t *db)
{
    return db->engine;
}

static int refuse_boundary(const char *sql, char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET];
    return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                           "%s: a scratch database keeps its own transaction;"
                           " use SAVEPOINT, RELEASE and ROLLBACK TO",
                           plumb__sql_snippet(sql, snippet));
}

/* Runs sql, which takes no parameters; results are dropped. SQLite runs
 * every statement in it, PostgreSQL one only. Statements that begin or end
 * a transaction (BEGIN, COMMIT, ROLLBACK, ...) are refused with
 * PLUMB_EINVAL: the session's transaction is what keeps a PostgreSQL
 * database unwritten (on SQLite only the first statement is looked at).
 * On PostgreSQL a failed statement is undone alone and the session stays
 * usable, except for a failed SAVEPOINT, RELEASE or ROLLBACK TO. PLUMB_EIO
 * on an SQL error (*errmsg names the statement). */
int plumb_sql_db_exec(plumb_sql_db_t *db, const char *sql, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (!db || !sql)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "no database or SQL");
    if (plumb__sql_transaction_control(sql) == PLUMB__SQL_TXN_BOUNDARY)
        return refuse_boundary(sql, errmsg);
    return db->ops->exec(db, sql, errmsg);
}

static int check_params(const plumb_sql_value_t *params, size_t n_params,
                        char **errmsg)
{
    if (n_params && !params)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "parameters missing");
    for (size_t i = 0; i < n_params; i++) {
        const plumb_sql_value_t *v = &params[i];
        if ((unsigned)v->type > PLUMB_SQL_BLOB)
            return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                   "parameter %zu has no type", i + 1);
        if ((v->type == PLUMB_SQL_TEXT || v->type == PLUMB_SQL_BLOB) &&
            v->len && !v->bytes)
            return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                   "parameter %zu has a length but no bytes",
                                   i + 1);
    }
    return 0;
}

/* Runs one statement with its parameters and reads every row into *res:
 * the time, the rows, the digest. Parameters with a name are bound by name
 * (SQLite tries ":name", "@name" and "$name"); the others by position, in
 * order. PostgreSQL takes positional parameters only ($1, $2, ...).
 * PLUMB_EINVAL for NULL arguments, named parameters on PostgreSQL and
 * transaction control (SAVEPOINT and COMMIT alike: a replay is not the
 * place for them),
 * PLUMB_EIO on an SQL error or a parameter the statement does not have
 * (*errmsg names the statement). */
int plumb_sql_db_run(plumb_sql_db_t *db, const char *sql,
                     const plumb_sql_value_t *params, size_t n_params,
                     plumb_sql_result_t *res, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (!db || !sql || !res)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "no database or SQL");
    if (plumb__sql_transaction_control(sql) != PLUMB__SQL_TXN_NONE) {
        char snippet[PLUMB__SQL_SNIPPET];
        return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                               "%s: transaction control is not replayed",
                               plumb__sql_snippet(sql, snippet));
    }
    int err = check_params(params, n_params, errmsg);
    if (err)
        return err;
    return db->ops->run(db, sql, params, n_params, res, errmsg);
}

/* Appends the planner's plan for sql, with the same parameters as run
 * takes, to plan (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN
 * (FORMAT JSON); the statement is not run). PLUMB_EINVAL, PLUMB_EIO,
 * PLUMB_EPARSE for a plan plumb cannot read. */
int plumb_sql_db_explain(plumb_sql_db_t *db, const char *sql,
                         const plumb_sql_value_t *params, size_t n_params,
                         plumb_sql_plan_t *plan, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (!db || !sql || !plan)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "no database or SQL");
    int err = check_params(params, n_params, errmsg);
    if (err)
        return err;
    return db->ops->explain(db, sql, params, n_params, plan, errmsg);
}

/* The bytes on disk of the index called name into *bytes. SQLite counts
 * its pages in the dbstat table when SQLite was built with it, else the
 * pages a DROP INDEX would free (measured in a savepoint that is rolled
 * back); PostgreSQL asks pg_relation_size. PLUMB_ENOTFOUND when there is no
 * such index, PLUMB_EINVAL, PLUMB_EIO. */
int plumb_sql_db_index_bytes(plumb_sql_db_t *db, const char *name,
                             int64_t *bytes, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    if (!db || !name || !bytes)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "no database or index");
    return db->ops->index_bytes(db, name, bytes, errmsg);
}
