/* sql_db_pg.c: the PostgreSQL engine of a scratch database, through libpq.
 * It owns the session: one connection, one transaction begun at open and
 * rolled back at close, so nothing done through it is ever committed. Each
 * statement (but transaction control) runs inside a savepoint of its own,
 * so that one that fails is undone alone and the transaction stays usable.
 * libpq is loaded at the first open (sql_pq.c); the Makefile builds
 * sql_db_nopg.c instead when libpq's header is missing.
 *
 * Connection strings may hold a password: no message repeats the target,
 * and libpq's own words (which name the host and the user, and quote a
 * malformed target back) have the target's password blotted out.
 */
#include "sql_db.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql_pq.h"

/* libpq's default would wait for TCP to give up; a target that sets its
 * own connect_timeout overrides this. */
#define PG_CONNECT_TIMEOUT_S "10"
#define PG_GUARD "plumb_guard"

typedef struct {
    struct plumb_sql_db base;
    PGconn *conn;
} pg_db_t;

static const plumb__sql_db_ops_t pg_ops;
/* libpq's functions, set by the first plumb__sql_pg_open: everything else
 * here runs on a database it opened. */
static const plumb__pq_t *pq;

/* The library never prints: libpq's default notice processor writes the
 * server's NOTICEs to stderr. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's message without its trailing newline, in buf. */
static const char *pg_words(const char *message, char *buf, size_t size)
{
    snprintf(buf, size, "%s", message && *message ? message : "unknown error");
    size_t n = strlen(buf);
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return buf;
}

/* Fails naming the statement, with the error of res (or of the
 * connection when res is NULL). */
static int fail_sql(pg_db_t *db, const PGresult *res, const char *sql,
                    char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET], words[1024];
    const char *message = res ? pq->resultErrorMessage(res) : "";
    if (!*message)
        message = pq->errorMessage(db->conn);
    return plumb__sql_fail(errmsg, res ? PLUMB_EIO : PLUMB_ENOMEM, "%s: %s",
                           plumb__sql_snippet(sql, snippet),
                           pg_words(message, words, sizeof words));
}

static int result_ok(const PGresult *res)
{
    ExecStatusType status = res ? pq->resultStatus(res) : PGRES_FATAL_ERROR;
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

/* Runs sql without parameters, dropping its result. */
static int simple(pg_db_t *db, const char *sql, char **errmsg)
{
    PGresult *res = pq->exec(db->conn, sql);
    int err = result_ok(res) ? 0 : fail_sql(db, res, sql, errmsg);
    pq->clear(res);
    return err;
}

/* ---- the session -------------------------------------------------------- */

/* Appends the password(s) the target spells out to secrets (up to 3): as
 * libpq reads it, and as written in a URL or a key=value string, which is
 * what libpq's complaints about a malformed target quote. */
static size_t target_passwords(const char *conninfo, char *secrets[3])
{
    size_t n = 0;
    PQconninfoOption *opts = pq->conninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            secrets[n++] = strdup(o->val);
    pq->conninfoFree(opts);

    const char *scheme = strstr(conninfo, "://");
    if (scheme) {
        /* scheme://user:password@host... */
        const char *user = scheme + 3;
        size_t span = strcspn(user, "@/?");
        const char *colon = memchr(user, ':', span);
        if (user[span] == '@' && colon && colon + 1 < user + span)
            secrets[n++] = strndup(colon + 1,
                                   (size_t)(user + span - colon - 1));
    } else {
        /* password = value, or password = 'value with spaces' */
        for (const char *p = strstr(conninfo, "password"); p && n < 3;
             p = strstr(p + 1, "password")) {
            const char *v = p + 8;
            while (isspace((unsigned char)*v))
                v++;
            if (*v != '=')
                continue;
            v++;
            while (isspace((unsigned char)*v))
                v++;
            size_t len = *v == '\'' ? strcspn(v + 1, "'") : strcspn(v, " \t\n");
            if (*v == '\'')
                v++;
            if (len)
                secrets[n++] = strndup(v, len);
            break;
        }
    }
    return n;
}

/* message with every password of the target replaced by "***", into buf:
 * libpq quotes a malformed target back, password and all. */
static const char *without_passwords(const char *message,
                                     const char *conninfo, char *buf,
                                     size_t size)
{
    char *secrets[3] = {NULL, NULL, NULL};
    size_t n = target_passwords(conninfo, secrets);
    char words[1024];
    pg_words(message, words, sizeof words);
    size_t o = 0;
    for (const char *p = words; *p && o + 1 < size;) {
        size_t hit = 0;
        for (size_t i = 0; i < n && !hit; i++)
            if (secrets[i] && strncmp(p, secrets[i], strlen(secrets[i])) == 0)
                hit = strlen(secrets[i]);
        if (hit) {
            for (const char *r = "***"; *r && o + 1 < size; r++)
                buf[o++] = *r;
            p += hit;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    for (size_t i = 0; i < n; i++)
        free(secrets[i]);
    return buf;
}

static void pg_close(plumb_sql_db_t *base)
{
    pg_db_t *db = (pg_db_t *)base;
    if (db->conn) {
        if (pq->status(db->conn) == CONNECTION_OK &&
            pq->transactionStatus(db->conn) != PQTRANS_IDLE)
            pq->clear(pq->exec(db->conn, "ROLLBACK"));
        pq->finish(db->conn);
    }
    free(db);
}

int plumb__sql_pg_open(const char *conninfo, plumb_sql_db_t **out,
                       char **errmsg)
{
    /* expand_dbname: the target's own settings (a URL or key=value string
     * given as dbname) override those before it. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name",
                                "dbname", NULL};
    const char *const values[] = {PG_CONNECT_TIMEOUT_S, "plumb sql", conninfo,
                                  NULL};
    char words[1024];
    int err = plumb__pq_load(&pq, errmsg);
    if (err)
        return err;
    pg_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    db->base.ops = &pg_ops;
    db->base.engine = PLUMB_SQL_POSTGRESQL;
    db->conn = pq->connectdbParams(keys, values, 1);
    if (!db->conn) {
        err = plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    if (pq->status(db->conn) != CONNECTION_OK) {
        err = plumb__sql_fail(errmsg, PLUMB_EIO,
                              "cannot connect to PostgreSQL: %s",
                              without_passwords(pq->errorMessage(db->conn),
                                                conninfo, words,
                                                sizeof words));
        goto out;
    }
    pq->setNoticeProcessor(db->conn, ignore_notice, NULL);
    err = simple(db, "BEGIN", errmsg);
out:
    if (err) {
        pg_close(&db->base);
        return err;
    }
    *out = &db->base;
    return 0;
}

/* ---- statements --------------------------------------------------------- */

/* Whether the session is still inside the transaction open began: a
 * statement outside it would be committed. */
static int in_transaction(pg_db_t *db, char **errmsg)
{
    char words[1024];
    switch (pq->transactionStatus(db->conn)) {
    case PQTRANS_INTRANS:
        return 0;
    case PQTRANS_INERROR:
        return plumb__sql_fail(errmsg, PLUMB_EIO,
                               "the session's transaction failed; roll back "
                               "to a savepoint first");
    case PQTRANS_IDLE:
        return plumb__sql_fail(errmsg, PLUMB_EIO,
                               "the session's transaction has ended");
    default:
        return plumb__sql_fail(errmsg, PLUMB_EIO,
                               "the connection to PostgreSQL is lost: %s",
                               pg_words(pq->errorMessage(db->conn), words,
                                        sizeof words));
    }
}

/* Begins the savepoint a statement runs in; checks that the session is
 * still in its transaction first. */
static int guard_begin(pg_db_t *db, char **errmsg)
{
    int err = in_transaction(db, errmsg);
    return err ? err : simple(db, "SAVEPOINT " PG_GUARD, errmsg);
}

/* Keeps what the statement did, or undoes it when it failed (failed: the
 * caller's error, which a failure here does not replace). */
static int guard_end(pg_db_t *db, int failed, char **errmsg)
{
    if (failed) {
        pq->clear(pq->exec(db->conn, "ROLLBACK TO SAVEPOINT " PG_GUARD
                                 "; RELEASE SAVEPOINT " PG_GUARD));
        return failed;
    }
    return simple(db, "RELEASE SAVEPOINT " PG_GUARD, errmsg);
}

/* One statement without parameters: the extended protocol refuses
 * several, so that no COMMIT can hide behind a first statement that
 * plumb_sql_db_exec looked at. */
static int single(pg_db_t *db, const char *sql, char **errmsg)
{
    PGresult *res = pq->execParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    int err = result_ok(res) ? 0 : fail_sql(db, res, sql, errmsg);
    pq->clear(res);
    return err;
}

static int pg_exec(plumb_sql_db_t *base, const char *sql, char **errmsg)
{
    pg_db_t *db = (pg_db_t *)base;
    /* The caller's savepoints must not nest inside ours, and ROLLBACK TO is
     * how a failed transaction is taken up again. */
    if (plumb__sql_transaction_control(sql) == PLUMB__SQL_TXN_SAVEPOINT) {
        if (pq->transactionStatus(db->conn) == PQTRANS_IDLE)
            return in_transaction(db, errmsg);
        return single(db, sql, errmsg);
    }
    int err = guard_begin(db, errmsg);
    if (err)
        return err;
    err = single(db, sql, errmsg);
    return guard_end(db, err, errmsg);
}

/* The parameters as libpq sends them: text for numbers and text (NULL for
 * SQL NULL), binary for blobs. */
typedef struct {
    const char **values;
    int *lengths;
    int *formats;
    char **owned; /* what values points into that is ours */
    size_t n;
} pg_params_t;

static void params_free(pg_params_t *p)
{
    for (size_t i = 0; p->owned && i < p->n; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->values);
    free(p->lengths);
    free(p->formats);
}

static char *format_real(double v)
{
    char buf[40];
    if (isnan(v))
        snprintf(buf, sizeof buf, "NaN");
    else if (isinf(v))
        snprintf(buf, sizeof buf, "%sInfinity", v < 0 ? "-" : "");
    else
        snprintf(buf, sizeof buf, "%.17g", v);
    return strdup(buf);
}

static int params_make(const char *sql, const plumb_sql_value_t *params,
                       size_t n, pg_params_t *p, char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET];
    memset(p, 0, sizeof *p);
    if (n > INT32_MAX)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "too many parameters");
    p->n = n;
    if (n == 0)
        return 0;
    p->values = calloc(n, sizeof *p->values);
    p->lengths = calloc(n, sizeof *p->lengths);
    p->formats = calloc(n, sizeof *p->formats);
    p->owned = calloc(n, sizeof *p->owned);
    if (!p->values || !p->lengths || !p->formats || !p->owned)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const plumb_sql_value_t *v = &params[i];
        char buf[32];
        if (v->name)
            return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                   "%s: PostgreSQL takes parameters by "
                                   "position ($1, $2, ...), not by name (%s)",
                                   plumb__sql_snippet(sql, snippet), v->name);
        switch (v->type) {
        case PLUMB_SQL_NULL:
            break;
        case PLUMB_SQL_INTEGER:
            snprintf(buf, sizeof buf, "%lld", (long long)v->integer);
            p->owned[i] = strdup(buf);
            break;
        case PLUMB_SQL_REAL:
            p->owned[i] = format_real(v->real);
            break;
        case PLUMB_SQL_TEXT:
            /* Text parameters end at their first NUL. */
            if (v->len && memchr(v->bytes, '\0', v->len))
                return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                       "%s: parameter %zu holds a NUL byte, "
                                       "which PostgreSQL text cannot",
                                       plumb__sql_snippet(sql, snippet),
                                       i + 1);
            p->owned[i] = malloc(v->len + 1);
            if (p->owned[i]) {
                if (v->len)
                    memcpy(p->owned[i], v->bytes, v->len);
                p->owned[i][v->len] = '\0';
            }
            break;
        case PLUMB_SQL_BLOB:
            if (v->len > INT32_MAX)
                return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                       "parameter %zu is too long", i + 1);
            p->values[i] = v->len ? v->bytes : "";
            p->lengths[i] = (int)v->len;
            p->formats[i] = 1;
            continue;
        }
        if (v->type != PLUMB_SQL_NULL && !p->owned[i])
            return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
        p->values[i] = p->owned[i];
    }
    return 0;
}

static uint64_t result_digest(const PGresult *res)
{
    uint64_t digest = 0;
    int rows = pq->ntuples(res), columns = pq->nfields(res);
    for (int r = 0; r < rows; r++) {
        plumb__sql_row_hash_t h;
        plumb__sql_row_begin(&h);
        for (int c = 0; c < columns; c++) {
            if (pq->getisnull(res, r, c))
                plumb__sql_row_add(&h, PLUMB_SQL_NULL, NULL, 0);
            else
                plumb__sql_row_add(&h, PLUMB_SQL_TEXT, pq->getvalue(res, r, c),
                                   (size_t)pq->getlength(res, r, c));
        }
        digest += plumb__sql_row_end(&h);
    }
    return digest;
}

static int pg_run(plumb_sql_db_t *base, const char *sql,
                  const plumb_sql_value_t *params, size_t n_params,
                  plumb_sql_result_t *res, char **errmsg)
{
    pg_db_t *db = (pg_db_t *)base;
    pg_params_t p;
    PGresult *result = NULL;
    int err = params_make(sql, params, n_params, &p, errmsg);
    if (err)
        goto out;
    err = guard_begin(db, errmsg);
    if (err)
        goto out;
    /* The savepoints around it are not timed. */
    int64_t start = plumb_clock_now_ns();
    result = pq->execParams(db->conn, sql, (int)p.n, NULL, p.values, p.lengths,
                          p.formats, 0);
    if (!result_ok(result)) {
        err = fail_sql(db, result, sql, errmsg);
    } else if (pq->resultStatus(result) == PGRES_TUPLES_OK) {
        res->digest = result_digest(result);
        res->rows = pq->ntuples(result);
    } else {
        const char *changed = pq->cmdTuples(result);
        res->digest = 0;
        res->rows = *changed ? strtoll(changed, NULL, 10) : 0;
    }
    if (!err)
        res->wall_ns = plumb_clock_now_ns() - start;
    err = guard_end(db, err, errmsg);
out:
    pq->clear(result);
    params_free(&p);
    return err;
}

static int pg_explain(plumb_sql_db_t *base, const char *sql,
                      const plumb_sql_value_t *params, size_t n_params,
                      plumb_sql_plan_t *plan, char **errmsg)
{
    static const char prefix[] = "EXPLAIN (FORMAT JSON) ";
    pg_db_t *db = (pg_db_t *)base;
    pg_params_t p;
    PGresult *result = NULL;
    char snippet[PLUMB__SQL_SNIPPET];
    size_t n = strlen(sql);
    char *explain = malloc(sizeof prefix + n);
    int err = params_make(sql, params, n_params, &p, errmsg);
    if (!err && !explain)
        err = plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    if (err)
        goto out;
    memcpy(explain, prefix, sizeof prefix - 1);
    memcpy(explain + sizeof prefix - 1, sql, n + 1);
    err = guard_begin(db, errmsg);
    if (err)
        goto out;
    result = pq->execParams(db->conn, explain, (int)p.n, NULL, p.values,
                          p.lengths, p.formats, 0);
    if (!result_ok(result))
        err = fail_sql(db, result, sql, errmsg);
    else if (pq->ntuples(result) < 1 || pq->nfields(result) < 1)
        err = plumb__sql_fail(errmsg, PLUMB_EPARSE, "%s: EXPLAIN gave no plan",
                              plumb__sql_snippet(sql, snippet));
    else if ((err = plumb_sql_plan_add_pg(plan, pq->getvalue(result, 0, 0))))
        plumb__sql_fail(errmsg, err, "%s: %s", plumb__sql_snippet(sql, snippet),
                        err == PLUMB_EPARSE ? "cannot read the plan"
                                            : plumb_strerror(err));
    err = guard_end(db, err, errmsg);
out:
    pq->clear(result);
    params_free(&p);
    free(explain);
    return err;
}

static int pg_index_bytes(plumb_sql_db_t *base, const char *name,
                          int64_t *bytes, char **errmsg)
{
    static const char sql[] =
        "SELECT pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = $1 "
        "AND c.relkind IN ('i', 'I') AND pg_table_is_visible(c.oid)";
    pg_db_t *db = (pg_db_t *)base;
    const char *values[] = {name};
    int err = guard_begin(db, errmsg);
    if (err)
        return err;
    PGresult *result =
        pq->execParams(db->conn, sql, 1, NULL, values, NULL, NULL, 0);
    if (!result_ok(result))
        err = fail_sql(db, result, sql, errmsg);
    else if (pq->ntuples(result) < 1)
        err = plumb__sql_fail(errmsg, PLUMB_ENOTFOUND, "no index named %s",
                              name);
    else
        *bytes = strtoll(pq->getvalue(result, 0, 0), NULL, 10);
    pq->clear(result);
    return guard_end(db, err, errmsg);
}

static const plumb__sql_db_ops_t pg_ops = {
    pg_close, pg_exec, pg_run, pg_explain, pg_index_bytes,
};
