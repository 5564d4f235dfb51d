/* sql_index.c: the indexes worth trying for a statement's accesses
 * (sql_access.c), each named and written as a CREATE INDEX. It does not try
 * them (sql_trial.c) nor know which database they are for beyond a name
 * that both SQLite and PostgreSQL accept.
 *
 * Index candidates, per access in order and without repeating one already
 * proposed (same table, same columns): (eq...), then (eq..., r) for each
 * range column r, then (eq..., order...) with the ORDER BY columns that are
 * not already equalities. A candidate that is a prefix of a later one is
 * kept: it is smaller and cheaper to write, and the trial decides.
 */
#include "plumb.h"
#include "sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's longest name (NAMEDATALEN - 1); SQLite has no limit. */
#define INDEX_NAME_MAX 63

typedef struct {
    char *v;
    size_t n, cap;
    int oom;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (grow((void **)&b->v, &b->cap, b->n + len + 1, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->v + b->n, s, len);
    b->n += len;
    b->v[b->n] = '\0';
}

static void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* "name" with embedded double quotes doubled. */
static void buf_quoted(buf_t *b, const char *name)
{
    buf_add(b, "\"", 1);
    for (const char *c = name; *c; c++) {
        buf_add(b, c, 1);
        if (*c == '"')
            buf_add(b, c, 1);
    }
    buf_add(b, "\"", 1);
}

/* Appends s reduced to [a-z0-9_]: letters lower-cased, any other byte an
 * underscore, a run of underscores one. */
static void buf_reduced(buf_t *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char r = (char)to_lower(*c);
        if (!((r >= 'a' && r <= 'z') || is_digit((unsigned char)r)))
            r = '_';
        if (r == '_' && b->n > 0 && b->v[b->n - 1] == '_')
            continue;
        buf_add(b, &r, 1);
    }
}

void plumb_sql_index_close(plumb_sql_index_t *ix)
{
    free(ix->table);
    for (size_t i = 0; i < ix->n_columns; i++)
        free(ix->columns[i]);
    free(ix->columns);
    free(ix->name);
    free(ix->create_sql);
    memset(ix, 0, sizeof *ix);
}

void plumb_sql_index_free(plumb_sql_index_t *ix, size_t n)
{
    if (!ix)
        return;
    for (size_t i = 0; i < n; i++)
        plumb_sql_index_close(&ix[i]);
    free(ix);
}

typedef struct {
    plumb_sql_index_t *v;
    size_t n, cap;
} indexes_t;

static int same_index(const plumb_sql_index_t *ix, const char *table,
                      const char *const *cols, size_t n_cols)
{
    if (strcmp(ix->table, table) != 0 || ix->n_columns != n_cols)
        return 0;
    for (size_t i = 0; i < n_cols; i++)
        if (strcmp(ix->columns[i], cols[i]) != 0)
            return 0;
    return 1;
}

/* The index's name: plumb_<table>_<col>_..., reduced; when that is longer
 * than 63 bytes or already taken by an earlier candidate, its first 54
 * bytes and _ and 8 hex digits of a hash of the table and columns. */
static char *index_name(const indexes_t *done, const char *table,
                        const char *const *cols, size_t n_cols)
{
    buf_t b = {0};
    buf_str(&b, "plumb_");
    buf_reduced(&b, table);
    for (size_t i = 0; i < n_cols; i++) {
        buf_reduced(&b, "_");
        buf_reduced(&b, cols[i]);
    }
    while (b.n > 0 && !b.oom && b.v[b.n - 1] == '_')
        b.v[--b.n] = '\0';
    if (b.oom) {
        free(b.v);
        return NULL;
    }
    int taken = 0;
    for (size_t i = 0; i < done->n && !taken; i++)
        taken = strcmp(done->v[i].name, b.v) == 0;
    if (b.n > INDEX_NAME_MAX || taken) {
        uint64_t h = fnv1a(table, strlen(table) + 1, FNV_OFFSET);
        for (size_t i = 0; i < n_cols; i++)
            h = fnv1a(cols[i], strlen(cols[i]) + 1, h);
        char tail[16];
        snprintf(tail, sizeof tail, "_%08x", (unsigned)(h ^ (h >> 32)));
        b.n = b.n < INDEX_NAME_MAX - 9 ? b.n : INDEX_NAME_MAX - 9;
        while (b.n > 0 && b.v[b.n - 1] == '_')
            b.n--;
        b.v[b.n] = '\0';
        buf_str(&b, tail);
        if (b.oom) {
            free(b.v);
            return NULL;
        }
    }
    return b.v;
}

/* Adds the candidate (table, cols) unless it is there already. */
static int add_candidate(indexes_t *done, const char *table,
                         const char *const *cols, size_t n_cols)
{
    if (n_cols == 0)
        return 0;
    for (size_t i = 0; i < done->n; i++)
        if (same_index(&done->v[i], table, cols, n_cols))
            return 0;
    if (grow((void **)&done->v, &done->cap, done->n + 1, sizeof *done->v))
        return PLUMB_ENOMEM;
    plumb_sql_index_t *ix = &done->v[done->n];
    memset(ix, 0, sizeof *ix);
    buf_t sql = {0};
    int err = PLUMB_ENOMEM;
    if (!(ix->table = sql_strdup(table)) ||
        !(ix->columns = sql_calloc(n_cols, sizeof *ix->columns)))
        goto out;
    for (; ix->n_columns < n_cols; ix->n_columns++)
        if (!(ix->columns[ix->n_columns] = sql_strdup(cols[ix->n_columns])))
            goto out;
    if (!(ix->name = index_name(done, table, cols, n_cols)))
        goto out;
    buf_str(&sql, "CREATE INDEX ");
    buf_quoted(&sql, ix->name);
    buf_str(&sql, " ON ");
    buf_quoted(&sql, table);
    buf_str(&sql, " (");
    for (size_t i = 0; i < n_cols; i++) {
        if (i > 0)
            buf_str(&sql, ", ");
        buf_quoted(&sql, cols[i]);
    }
    buf_str(&sql, ")");
    if (sql.oom)
        goto out;
    ix->create_sql = sql.v;
    sql.v = NULL;
    done->n++;
    err = 0;
out:
    free(sql.v);
    if (err)
        plumb_sql_index_close(ix);
    return err;
}

/* Whether name is among the first n of cols. */
static int among(const char *const *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i], name) == 0)
            return 1;
    return 0;
}

int plumb_sql_index_candidates(const plumb_sql_access_t *a, size_t n_access,
                               plumb_sql_index_t **out, size_t *n)
{
    if (!out || !n || (!a && n_access > 0))
        return PLUMB_EINVAL;
    *out = NULL;
    *n = 0;
    indexes_t done = {0};
    const char **cols = NULL;
    int err = 0;
    for (size_t i = 0; i < n_access && !err; i++) {
        const plumb_sql_access_t *ac = &a[i];
        if (!ac->table)
            continue;
        free(cols);
        cols =
            sql_calloc(ac->n_eq + ac->n_range + ac->n_order + 1, sizeof *cols);
        if (!cols) {
            err = PLUMB_ENOMEM;
            break;
        }
        size_t n_eq = 0;
        for (size_t k = 0; k < ac->n_eq; k++)
            if (ac->eq[k] && !among(cols, n_eq, ac->eq[k]))
                cols[n_eq++] = ac->eq[k];
        err = add_candidate(&done, ac->table, cols, n_eq);
        for (size_t k = 0; k < ac->n_range && !err; k++) {
            if (!ac->range[k] || among(cols, n_eq, ac->range[k]))
                continue;
            cols[n_eq] = ac->range[k];
            err = add_candidate(&done, ac->table, cols, n_eq + 1);
        }
        size_t n_cols = n_eq;
        for (size_t k = 0; k < ac->n_order; k++)
            if (ac->order[k] && !among(cols, n_cols, ac->order[k]))
                cols[n_cols++] = ac->order[k];
        if (!err && n_cols > n_eq)
            err = add_candidate(&done, ac->table, cols, n_cols);
    }
    free(cols);
    if (err) {
        plumb_sql_index_free(done.v, done.n);
        return err;
    }
    if (done.n == 0) {
        free(done.v);
        return 0;
    }
    *out = done.v;
    *n = done.n;
    return 0;
}
