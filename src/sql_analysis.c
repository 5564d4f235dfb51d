/* sql_analysis.c: what a SQL trace says about a program. It groups the
 * statements by fingerprint, finds what costs time (slow statements, N+1
 * loops, values pasted into the SQL, full scans and temporary sorts in the
 * plans) and tries the indexes that could fix the scans and sorts on a
 * scratch copy of each database (sql_db.c, sql_trial.c). The user's
 * databases are only ever read.
 *
 * It owns the groups, findings, advice and notes; the texts of sites point
 * into the trace, which must outlive the analysis. Rendering is
 * report/sql.c's and report/sql_json.c's. */
#define _GNU_SOURCE
#include "plumb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements whose runs are replayed in a trial, at most. */
#define MAX_CALLS 8
/* Scans of tables smaller than this are not findings: reading a lookup
 * table whole is what an index would do anyway. */
#define MIN_SCAN_ROWS 1000
/* Rounds that time a statement of a script (which carries no timing). */
#define SCRIPT_ROUNDS 5

static const struct {
    const char *key, *label;
} finding_names[] = {
#define PLUMB_SQL_FINDING_GEN(name, key, label) {key, label},
    PLUMB_SQL_FINDING_MAP(PLUMB_SQL_FINDING_GEN)
#undef PLUMB_SQL_FINDING_GEN
};

const char *plumb_sql_finding_key(plumb_sql_finding_kind_t k)
{
    return (unsigned)k < PLUMB_SQL_N_FINDINGS ? finding_names[k].key : "?";
}

const char *plumb_sql_finding_label(plumb_sql_finding_kind_t k)
{
    return (unsigned)k < PLUMB_SQL_N_FINDINGS ? finding_names[k].label : "?";
}

int plumb_sql_finding_find(const char *key)
{
    for (int k = 0; key && k < PLUMB_SQL_N_FINDINGS; k++)
        if (strcmp(key, finding_names[k].key) == 0)
            return k;
    return -1;
}

void plumb_sql_analysis_opts_init(plumb_sql_analysis_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->explain = 1;
    o->advise = 1;
    o->slow_ms = 10;
    o->n_plus_one_calls = 10;
    o->max_candidates = 3;
    plumb_sql_trial_opts_init(&o->trial);
}

void plumb_sql_analysis_free(plumb_sql_analysis_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_groups; i++) {
        plumb_sql_fingerprint_close(&a->groups[i].fingerprint);
        free(a->groups[i].plan);
    }
    free(a->groups);
    free(a->statement_group);
    for (size_t i = 0; i < a->n_findings; i++)
        free(a->findings[i].detail);
    free(a->findings);
    for (size_t i = 0; i < a->n_advice; i++) {
        plumb_sql_index_close(&a->advice[i].index);
        free(a->advice[i].error);
        plumb_sql_trial_close(&a->advice[i].trial);
    }
    free(a->advice);
    for (size_t i = 0; i < a->n_notes; i++)
        free(a->notes[i]);
    free(a->notes);
    free(a);
}

int plumb_sql_analysis_has(const plumb_sql_analysis_t *a,
                           plumb_sql_finding_kind_t k)
{
    for (size_t i = 0; a && i < a->n_findings; i++)
        if (a->findings[i].kind == k)
            return 1;
    return 0;
}

/* ---- the work in progress ---------------------------------------------- */

/* A database opened for a target, shared by its connections. */
typedef struct {
    char *target;
    plumb_sql_db_t *db; /* NULL when it could not be opened */
} scratch_t;

typedef struct {
    const plumb_sql_trace_t *t;
    const plumb_sql_analysis_opts_t *o;
    plumb_sql_analysis_t *a;
    plumb_sql_fingerprint_t *fps; /* one per statement */
    size_t *group_of;             /* statement -> group */
    scratch_t *scratch;
    size_t n_scratch;
    size_t cap_findings, cap_advice, cap_notes;
    int err;
} work_t;

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t grown = *cap ? 2 * *cap : 8;
    void *p = realloc(*items, grown * size);
    if (!p)
        return PLUMB_ENOMEM;
    *items = p;
    *cap = grown;
    return 0;
}

static void note(work_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(work_t *w, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0 || grow((void **)&w->a->notes, &w->cap_notes, w->a->n_notes,
                      sizeof *w->a->notes)) {
        if (n >= 0)
            free(text);
        w->err = PLUMB_ENOMEM;
        return;
    }
    w->a->notes[w->a->n_notes++] = text;
}

char *plumb_sql_redact(const char *target)
{
    /* every password of a URL (scheme://user:pw@) or a "password=" setting
     * (quoted or not): each adds at most 3 bytes and takes at least 4 */
    const char *p = target ? target : "";
    size_t n = strlen(p);
    char *out = malloc(n + 1 + 3 * (n / 4 + 1)), *o = out;
    if (!out)
        return NULL;
    while (*p) {
        const char *scheme = strstr(p, "://");
        const char *pw = strstr(p, "password=");
        if (scheme && (!pw || scheme < pw)) {
            const char *user = scheme + 3, *q = user;
            while (*q && *q != '@' && *q != '/' && *q != ' ' && *q != ':')
                q++;
            const char *at = *q == ':' ? strpbrk(q, "@/ ") : NULL;
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
            if (at && *at == '@') {
                memcpy(o, ":***", 4);
                o += 4;
                p = at;
            } else {
                p = q;
            }
            if (p == q && q == user) { /* no user: step past the scheme */
                *o++ = *p ? *p++ : '\0';
            }
            continue;
        }
        if (!pw) {
            size_t rest = strlen(p);
            memcpy(o, p, rest);
            o += rest;
            break;
        }
        const char *v = pw + 9, *end = v;
        if (*end == '\'') {
            for (end++; *end && *end != '\''; end++)
                if (*end == '\\' && end[1])
                    end++;
            if (*end)
                end++;
        } else {
            while (*end && *end != ' ' && *end != '\'' && *end != '"')
                end++;
        }
        memcpy(o, p, (size_t)(v - p));
        o += v - p;
        memcpy(o, "***", 3);
        o += 3;
        p = end;
    }
    *o = '\0';
    return out;
}

static const plumb_sql_connection_t *connection(const plumb_sql_trace_t *t,
                                                int64_t id)
{
    for (size_t i = 0; i < t->n_connections; i++)
        if (t->connections[i].id == id)
            return &t->connections[i];
    return NULL;
}

static int is_memory(const char *target)
{
    return !*target || strcmp(target, ":memory:") == 0 ||
           strstr(target, "mode=memory") != NULL ||
           strncmp(target, "file::memory:", 13) == 0;
}

/* The scratch database of connection id, opened on first use; NULL (with
 * a note, once) when there is none. */
static plumb_sql_db_t *scratch_of(work_t *w, int64_t id)
{
    const plumb_sql_connection_t *c = connection(w->t, id);
    const char *target = w->o->db ? w->o->db : c ? c->target : "";
    for (size_t i = 0; i < w->n_scratch; i++)
        if (strcmp(w->scratch[i].target, target) == 0)
            return w->scratch[i].db;
    scratch_t *grown = realloc(w->scratch,
                               (w->n_scratch + 1) * sizeof *w->scratch);
    if (!grown) {
        w->err = PLUMB_ENOMEM;
        return NULL;
    }
    w->scratch = grown;
    scratch_t *s = &w->scratch[w->n_scratch];
    if (!(s->target = strdup(target))) {
        w->err = PLUMB_ENOMEM;
        return NULL;
    }
    s->db = NULL;
    w->n_scratch++;
    char *shown = plumb_sql_redact(target);
    if (!shown) {
        w->err = PLUMB_ENOMEM;
        return NULL;
    }
    if (is_memory(target)) {
        note(w, "%s: an in-memory database is gone when the program ends, "
                "so its plans and indexes could not be looked at; to have "
                "them, let the program use a database file, or give one "
                "with --db",
             *shown ? shown : "a connection without a database");
    } else {
        char *errmsg = NULL;
        int err = plumb_sql_db_open(target, &s->db, &errmsg);
        if (err) {
            char *why = errmsg ? plumb_sql_redact(errmsg) : NULL;
            note(w, "cannot open %s to look at plans and indexes: %s", shown,
                 why ? why : plumb_strerror(err));
            free(why);
            s->db = NULL;
        }
        free(errmsg);
    }
    free(shown);
    return s->db;
}

/* The statement's first sample as a call: the text as sent (psycopg2) or
 * the text with its parameters; a statement without samples runs as it is
 * written. */
static plumb_sql_call_t call_of(const plumb_sql_statement_t *s, size_t k)
{
    plumb_sql_call_t c = {s->sql, NULL, 0};
    if (k < s->n_samples) {
        const plumb_sql_sample_t *x = &s->samples[k];
        if (x->sent) {
            c.sql = x->sent;
        } else {
            c.params = x->params;
            c.n_params = x->n_params;
        }
    }
    return c;
}

/* Runs c inside a savepoint rolled back afterwards, so that neither its
 * writes nor (PostgreSQL) its failure touch what follows. */
static int run_isolated(plumb_sql_db_t *db, const plumb_sql_call_t *c,
                        plumb_sql_result_t *res, plumb_sql_plan_t *plan,
                        char **errmsg)
{
    char *ignored = NULL;
    int err = plumb_sql_db_exec(db, "SAVEPOINT plumb_look", errmsg);
    if (err)
        return err;
    if (plan)
        err = plumb_sql_db_explain(db, c->sql, c->params, c->n_params, plan,
                                   errmsg);
    else
        err = plumb_sql_db_run(db, c->sql, c->params, c->n_params, res,
                               errmsg);
    int undo = plumb_sql_db_exec(db, "ROLLBACK TO SAVEPOINT plumb_look",
                                 &ignored);
    free(ignored);
    ignored = NULL;
    if (!undo)
        undo = plumb_sql_db_exec(db, "RELEASE SAVEPOINT plumb_look",
                                 &ignored);
    free(ignored);
    return err ? err : undo;
}

/* ---- grouping ------------------------------------------------------------ */

static const plumb_sql_statement_t *stmt_sort_base;
static const plumb_sql_fingerprint_t *fp_sort_base;

static int by_group_key(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    const plumb_sql_statement_t *a = &stmt_sort_base[i], *b = &stmt_sort_base[j];
    if (a->conn != b->conn)
        return a->conn < b->conn ? -1 : 1;
    if (fp_sort_base[i].id != fp_sort_base[j].id)
        return fp_sort_base[i].id < fp_sort_base[j].id ? -1 : 1;
    int c = strcmp(fp_sort_base[i].text, fp_sort_base[j].text);
    if (c)
        return c;
    c = strcmp(a->sql, b->sql);
    if (c)
        return c;
    return i < j ? -1 : i > j;
}

static int same_group(const work_t *w, size_t i, size_t j)
{
    const plumb_sql_statement_t *s = w->t->statements;
    return s[i].conn == s[j].conn && w->fps[i].id == w->fps[j].id &&
           strcmp(w->fps[i].text, w->fps[j].text) == 0;
}

/* One site of a group: the statements sent from one line. */
typedef struct {
    const char *file;
    int64_t line;
    uint64_t calls, distinct;
    int64_t total_ns;
    size_t first; /* its costliest statement */
} site_t;

static int make_groups(work_t *w)
{
    const plumb_sql_trace_t *t = w->t;
    size_t n = t->n_statements;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    stmt_sort_base = t->statements;
    fp_sort_base = w->fps;
    qsort(order, n, sizeof *order, by_group_key);
    plumb_sql_analysis_t *a = w->a;
    if (n && !(a->groups = calloc(n, sizeof *a->groups))) {
        free(order);
        return PLUMB_ENOMEM;
    }
    for (size_t k = 0; k < n;) {
        size_t end = k + 1;
        while (end < n && same_group(w, order[k], order[end]))
            end++;
        plumb_sql_group_t *g = &a->groups[a->n_groups];
        const plumb_sql_statement_t *first = &t->statements[order[k]];
        /* the fingerprint moves to the group */
        g->fingerprint = w->fps[order[k]];
        w->fps[order[k]].text = NULL;
        g->conn = first->conn;
        g->min_ns = INT64_MAX;
        g->n_texts = 0;
        int64_t best = -1;
        for (size_t m = k; m < end; m++) {
            const plumb_sql_statement_t *s = &t->statements[order[m]];
            w->group_of[order[m]] = a->n_groups;
            g->calls += s->calls;
            g->errors += s->errors;
            g->total_ns += s->total_ns;
            g->rows += s->rows > 0 ? s->rows : 0;
            if (s->min_ns < g->min_ns)
                g->min_ns = s->min_ns;
            if (s->max_ns > g->max_ns)
                g->max_ns = s->max_ns;
            if (m == k || strcmp(s->sql, t->statements[order[m - 1]].sql))
                g->n_texts++;
            if (s->total_ns > best) {
                best = s->total_ns;
                g->statement = order[m];
            }
        }
        if (g->min_ns == INT64_MAX)
            g->min_ns = 0;
        a->n_groups++;
        k = end;
    }
    free(order);
    return 0;
}

/* The sites of group gi: per (file, line), the calls, time and distinct
 * parameter sets (a pasted text counts as one set of its own). */
static int sites_of(work_t *w, size_t gi, site_t **out, size_t *n_out)
{
    const plumb_sql_trace_t *t = w->t;
    site_t *sites = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < t->n_statements; i++) {
        if (w->group_of[i] != gi)
            continue;
        const plumb_sql_statement_t *s = &t->statements[i];
        site_t *x = NULL;
        for (size_t j = 0; j < n && !x; j++)
            if (sites[j].line == s->line && !strcmp(sites[j].file, s->file))
                x = &sites[j];
        if (!x) {
            if (grow((void **)&sites, &cap, n, sizeof *sites)) {
                free(sites);
                return PLUMB_ENOMEM;
            }
            x = &sites[n++];
            memset(x, 0, sizeof *x);
            x->file = s->file;
            x->line = s->line;
            x->first = i;
        }
        x->calls += s->calls;
        x->total_ns += s->total_ns;
        x->distinct += s->distinct_params ? s->distinct_params : 1;
        if (s->total_ns > t->statements[x->first].total_ns)
            x->first = i;
    }
    *out = sites;
    *n_out = n;
    return 0;
}

static int add_finding(work_t *w, plumb_sql_finding_kind_t kind, size_t gi,
                       int64_t cost_ns, uint64_t calls, uint64_t distinct,
                       size_t stmt, char *detail)
{
    plumb_sql_analysis_t *a = w->a;
    if (grow((void **)&a->findings, &w->cap_findings, a->n_findings,
             sizeof *a->findings)) {
        free(detail);
        return w->err = PLUMB_ENOMEM;
    }
    const plumb_sql_statement_t *s = &w->t->statements[stmt];
    plumb_sql_finding_t *f = &a->findings[a->n_findings++];
    f->kind = kind;
    f->group = gi;
    f->cost_ns = cost_ns;
    f->calls = calls;
    f->distinct = distinct;
    f->file = s->file;
    f->func = s->func;
    f->line = s->line;
    f->detail = detail;
    return 0;
}

/* ---- timing a script ---------------------------------------------------- */

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* A script's statements carry no time: each group's is measured here,
 * SCRIPT_ROUNDS runs after one to warm the cache, the median kept. */
static void time_script(work_t *w)
{
    for (size_t gi = 0; gi < w->a->n_groups && !w->err; gi++) {
        plumb_sql_group_t *g = &w->a->groups[gi];
        const plumb_sql_statement_t *s = &w->t->statements[g->statement];
        plumb_sql_db_t *db = scratch_of(w, g->conn);
        if (!db)
            continue;
        plumb_sql_call_t c = call_of(s, 0);
        double ns[SCRIPT_ROUNDS];
        plumb_sql_result_t res;
        char *errmsg = NULL;
        int err = 0;
        for (int r = 0; r <= SCRIPT_ROUNDS && !err; r++) {
            err = run_isolated(db, &c, &res, NULL, &errmsg);
            if (!err && r > 0)
                ns[r - 1] = (double)res.wall_ns;
        }
        if (err) {
            g->errors = g->calls;
            note(w, "line %lld of %s failed: %s", (long long)s->line,
                 s->file, errmsg ? errmsg : plumb_strerror(err));
            free(errmsg);
            continue;
        }
        qsort(ns, SCRIPT_ROUNDS, sizeof *ns, by_value);
        g->total_ns = g->min_ns = g->max_ns = (int64_t)ns[SCRIPT_ROUNDS / 2];
        g->rows = res.rows;
    }
}

/* ---- plans ---------------------------------------------------------------- */

/* Rows in table (-1 when they cannot be counted). */
static int64_t table_rows(plumb_sql_db_t *db, const char *table)
{
    char *sql = NULL, *errmsg = NULL;
    plumb_sql_result_t res;
    size_t n = strlen(table);
    char *quoted = malloc(2 * n + 3), *q = quoted;
    if (!quoted)
        return -1;
    *q++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (table[i] == '"')
            *q++ = '"';
        *q++ = table[i];
    }
    *q++ = '"';
    *q = '\0';
    int64_t rows = -1;
    if (asprintf(&sql, "SELECT 1 FROM %s LIMIT %d", quoted,
                 MIN_SCAN_ROWS) >= 0) {
        plumb_sql_call_t c = {sql, NULL, 0};
        if (run_isolated(db, &c, &res, NULL, &errmsg) == 0)
            rows = res.rows;
    }
    free(errmsg);
    free(sql);
    free(quoted);
    return rows;
}

static int explain_group(work_t *w, size_t gi, int *scan, int *sort)
{
    plumb_sql_group_t *g = &w->a->groups[gi];
    const plumb_sql_statement_t *s = &w->t->statements[g->statement];
    *scan = *sort = 0;
    if (g->fingerprint.kind != PLUMB_SQL_SELECT &&
        g->fingerprint.kind != PLUMB_SQL_UPDATE &&
        g->fingerprint.kind != PLUMB_SQL_DELETE)
        return 0;
    plumb_sql_db_t *db = scratch_of(w, g->conn);
    if (!db)
        return w->err;
    if (g->fingerprint.n_placeholders && !s->n_samples) {
        note(w, "%s:%lld: no parameters of `%s` were recorded, so its plan "
                "could not be asked for",
             s->file, (long long)s->line, g->fingerprint.text);
        return w->err;
    }
    plumb_sql_call_t c = call_of(s, 0);
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    char *errmsg = NULL;
    int err = run_isolated(db, &c, NULL, &plan, &errmsg);
    if (err) {
        note(w, "%s:%lld: the plan of `%s` could not be had: %s", s->file,
             (long long)s->line, g->fingerprint.text,
             errmsg ? errmsg : plumb_strerror(err));
        free(errmsg);
        plumb_sql_plan_close(&plan);
        return w->err;
    }
    if (plumb_sql_plan_text(&plan, &g->plan)) {
        plumb_sql_plan_close(&plan);
        return w->err = PLUMB_ENOMEM;
    }
    for (size_t i = 0; i < plan.n_steps && !w->err; i++) {
        const plumb_sql_step_t *st = &plan.steps[i];
        char *detail = NULL;
        if (st->kind == PLUMB_SQL_STEP_SCAN && st->table && !st->index &&
            table_rows(db, st->table) >= MIN_SCAN_ROWS) {
            if (!(detail = strdup(st->detail)))
                return w->err = PLUMB_ENOMEM;
            add_finding(w, PLUMB_SQL_FINDING_SCAN, gi, g->total_ns, g->calls,
                        0, g->statement, detail);
            *scan = 1;
        } else if (st->kind == PLUMB_SQL_STEP_SORT && !*sort) {
            if (!(detail = strdup(st->detail)))
                return w->err = PLUMB_ENOMEM;
            add_finding(w, PLUMB_SQL_FINDING_SORT, gi, g->total_ns, g->calls,
                        0, g->statement, detail);
            *sort = 1;
        }
    }
    plumb_sql_plan_close(&plan);
    return w->err;
}

/* ---- index advice --------------------------------------------------------- */

/* Whether statement s writes to table (INSERT INTO table, UPDATE table,
 * DELETE FROM table), from its fingerprint's words. */
static int writes_to(const plumb_sql_fingerprint_t *fp, const char *table)
{
    const char *p = fp->text;
    static const char *const heads[] = {"insert into ", "insert or replace "
                                                        "into ",
                                        "insert or ignore into ",
                                        "replace into ", "update ",
                                        "delete from "};
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        size_t n = strlen(heads[i]);
        if (strncmp(p, heads[i], n) != 0)
            continue;
        const char *name = p + n;
        size_t len = strlen(table);
        if (*name == '"' && strncmp(name + 1, table, len) == 0 &&
            name[len + 1] == '"')
            return 1;
        if (strncmp(name, table, len) == 0 &&
            (name[len] == ' ' || name[len] == '(' || name[len] == '\0'))
            return 1;
    }
    return 0;
}

/* Up to MAX_CALLS calls of the group's statements (their samples), and of
 * the writes to table on the same connection. */
static void calls_for(work_t *w, size_t gi, const char *table,
                      plumb_sql_call_t *reads, size_t *n_reads,
                      plumb_sql_call_t *writes, size_t *n_writes)
{
    const plumb_sql_trace_t *t = w->t;
    const plumb_sql_group_t *g = &w->a->groups[gi];
    *n_reads = *n_writes = 0;
    /* the costliest statement's samples first */
    const plumb_sql_statement_t *s = &t->statements[g->statement];
    for (size_t k = 0; k < s->n_samples && *n_reads < MAX_CALLS; k++)
        reads[(*n_reads)++] = call_of(s, k);
    for (size_t i = 0; i < t->n_statements && *n_reads < MAX_CALLS; i++)
        if (w->group_of[i] == gi && i != g->statement)
            for (size_t k = 0; k < t->statements[i].n_samples &&
                               *n_reads < MAX_CALLS;
                 k++)
                reads[(*n_reads)++] = call_of(&t->statements[i], k);
    if (!*n_reads)
        reads[(*n_reads)++] = call_of(s, 0);
    for (size_t i = 0; i < t->n_statements && *n_writes < MAX_CALLS; i++) {
        const plumb_sql_group_t *o = &w->a->groups[w->group_of[i]];
        const plumb_sql_statement_t *x = &t->statements[i];
        if (x->conn != g->conn || !writes_to(&o->fingerprint, table))
            continue;
        if (o->fingerprint.n_placeholders && !x->n_samples)
            continue;
        for (size_t k = 0; k < (x->n_samples ? x->n_samples : 1) &&
                           *n_writes < MAX_CALLS;
             k++)
            writes[(*n_writes)++] = call_of(x, k);
    }
}

static int add_advice(work_t *w, size_t gi, const plumb_sql_index_t *ix,
                      plumb_sql_advice_t **out)
{
    plumb_sql_analysis_t *a = w->a;
    if (grow((void **)&a->advice, &w->cap_advice, a->n_advice,
             sizeof *a->advice))
        return w->err = PLUMB_ENOMEM;
    plumb_sql_advice_t *x = &a->advice[a->n_advice];
    memset(x, 0, sizeof *x);
    x->group = gi;
    plumb_sql_index_t *c = &x->index;
    if (!(c->table = strdup(ix->table)) || !(c->name = strdup(ix->name)) ||
        !(c->create_sql = strdup(ix->create_sql)) ||
        !(c->columns = calloc(ix->n_columns, sizeof *c->columns))) {
        plumb_sql_index_close(c);
        return w->err = PLUMB_ENOMEM;
    }
    for (; c->n_columns < ix->n_columns; c->n_columns++)
        if (!(c->columns[c->n_columns] = strdup(ix->columns[c->n_columns]))) {
            plumb_sql_index_close(c);
            return w->err = PLUMB_ENOMEM;
        }
    a->n_advice++;
    *out = x;
    return 0;
}

static int advise_group(work_t *w, size_t gi)
{
    plumb_sql_group_t *g = &w->a->groups[gi];
    const plumb_sql_statement_t *s = &w->t->statements[g->statement];
    plumb_sql_db_t *db = scratch_of(w, g->conn);
    if (!db)
        return w->err;
    /* the accesses of the text as sent, whose values show which columns
     * are compared with what */
    const char *sql = s->n_samples && s->samples[0].sent ? s->samples[0].sent
                                                         : s->sql;
    plumb_sql_access_t *acc = NULL;
    plumb_sql_index_t *cands = NULL;
    size_t n_acc = 0, n_cands = 0;
    int err = plumb_sql_accesses(sql, &acc, &n_acc);
    if (!err)
        err = plumb_sql_index_candidates(acc, n_acc, &cands, &n_cands);
    if (err) {
        plumb_sql_accesses_free(acc, n_acc);
        return w->err = err;
    }
    plumb_sql_call_t reads[MAX_CALLS], writes[MAX_CALLS];
    plumb_sql_advice_t *best = NULL;
    for (size_t i = 0; i < n_cands && i < w->o->max_candidates && !w->err;
         i++) {
        size_t n_reads, n_writes;
        calls_for(w, gi, cands[i].table, reads, &n_reads, writes, &n_writes);
        plumb_sql_advice_t *x = NULL;
        if (add_advice(w, gi, &cands[i], &x))
            break;
        char *errmsg = NULL;
        err = plumb_sql_trial_run(db, &cands[i], reads, n_reads, writes,
                                  n_writes, &w->o->trial, &x->trial, &errmsg);
        if (err == PLUMB_ENOMEM) {
            free(errmsg);
            w->err = err;
            break;
        }
        if (err) {
            x->error = errmsg ? errmsg : strdup(plumb_strerror(err));
            continue;
        }
        free(errmsg);
        x->tried = 1;
        if (x->trial.same_results &&
            x->trial.reads.verdict == PLUMB_VERDICT_LOWER &&
            (!best || x->trial.reads.ratio > best->trial.reads.ratio))
            best = x;
    }
    if (best)
        best->advised = 1;
    plumb_sql_index_free(cands, n_cands);
    plumb_sql_accesses_free(acc, n_acc);
    return w->err;
}

/* ---- the findings that need no database ---------------------------------- */

static void find_in_trace(work_t *w, size_t gi)
{
    plumb_sql_group_t *g = &w->a->groups[gi];
    const plumb_sql_analysis_opts_t *o = w->o;
    if (g->calls && (double)g->total_ns / (double)g->calls >=
                        o->slow_ms * 1e6)
        add_finding(w, PLUMB_SQL_FINDING_SLOW, gi, g->total_ns, g->calls, 0,
                    g->statement, NULL);
    if (g->fingerprint.n_literals && g->n_texts >= 2)
        add_finding(w, PLUMB_SQL_FINDING_LITERALS, gi, g->total_ns, g->calls,
                    g->n_texts, g->statement, NULL);
    site_t *sites = NULL;
    size_t n = 0;
    if (sites_of(w, gi, &sites, &n)) {
        w->err = PLUMB_ENOMEM;
        return;
    }
    g->n_sites = n;
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (sites[i].total_ns > sites[top].total_ns)
            top = i;
    if (n) {
        const plumb_sql_statement_t *s = &w->t->statements[sites[top].first];
        g->file = s->file;
        g->func = s->func;
        g->line = s->line;
    }
    for (size_t i = 0; i < n && !w->err; i++) {
        if (g->fingerprint.kind != PLUMB_SQL_SELECT ||
            sites[i].calls < o->n_plus_one_calls || sites[i].distinct < 2)
            continue;
        char *batched = NULL;
        int err = plumb_sql_batched(g->fingerprint.text, &batched);
        if (err && err != PLUMB_ENOTFOUND) {
            w->err = err;
            break;
        }
        add_finding(w, PLUMB_SQL_FINDING_N_PLUS_ONE, gi, sites[i].total_ns,
                    sites[i].calls, sites[i].distinct, sites[i].first,
                    batched);
    }
    free(sites);
}

/* ---- putting it together ------------------------------------------------- */

static int by_cost(const void *x, const void *y)
{
    const plumb_sql_finding_t *a = x, *b = y;
    if (a->cost_ns != b->cost_ns)
        return a->cost_ns > b->cost_ns ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    return (int)a->kind - (int)b->kind;
}

static int by_total(const void *x, const void *y)
{
    const plumb_sql_group_t *a = x, *b = y;
    if (a->total_ns != b->total_ns)
        return a->total_ns > b->total_ns ? -1 : 1;
    return a->fingerprint.id < b->fingerprint.id ? -1
           : a->fingerprint.id > b->fingerprint.id;
}

/* Orders the groups by total time, and renumbers what points at them. */
static int sort_groups(work_t *w)
{
    plumb_sql_analysis_t *a = w->a;
    size_t n = a->n_groups;
    if (n < 2)
        return 0;
    size_t *perm = malloc(n * sizeof *perm), *where = malloc(n * sizeof *where);
    plumb_sql_group_t *sorted = malloc(n * sizeof *sorted);
    if (!perm || !where || !sorted) {
        free(perm);
        free(where);
        free(sorted);
        return PLUMB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    /* insertion by total then id: stable and n is small enough */
    for (size_t i = 1; i < n; i++) {
        size_t v = perm[i], j = i;
        while (j > 0 && by_total(&a->groups[v], &a->groups[perm[j - 1]]) < 0) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = v;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = a->groups[perm[i]];
        where[perm[i]] = i;
    }
    free(a->groups);
    a->groups = sorted;
    for (size_t i = 0; i < a->n_findings; i++)
        a->findings[i].group = where[a->findings[i].group];
    for (size_t i = 0; i < a->n_advice; i++)
        a->advice[i].group = where[a->advice[i].group];
    for (size_t i = 0; i < w->t->n_statements; i++)
        w->group_of[i] = where[w->group_of[i]];
    free(perm);
    free(where);
    return 0;
}

int plumb_sql_analyze(const plumb_sql_trace_t *t,
                      const plumb_sql_analysis_opts_t *o,
                      plumb_sql_analysis_t **out)
{
    plumb_sql_analysis_opts_t defaults;
    if (!t || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!o) {
        plumb_sql_analysis_opts_init(&defaults);
        o = &defaults;
    }
    work_t w = {t, o, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0};
    size_t n = t->n_statements;
    if (!(w.a = calloc(1, sizeof *w.a)) ||
        !(w.fps = calloc(n ? n : 1, sizeof *w.fps)) ||
        !(w.group_of = calloc(n ? n : 1, sizeof *w.group_of))) {
        w.err = PLUMB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !w.err; i++) {
        w.err = plumb_sql_fingerprint(t->statements[i].sql, &w.fps[i]);
        w.a->queries += t->statements[i].calls;
        w.a->query_ns += t->statements[i].total_ns;
    }
    if (w.err || (w.err = make_groups(&w)))
        goto out;
    if (!t->timed) {
        time_script(&w);
        w.a->query_ns = 0;
        for (size_t gi = 0; gi < w.a->n_groups; gi++)
            w.a->query_ns += w.a->groups[gi].total_ns;
    }
    for (size_t gi = 0; gi < w.a->n_groups && !w.err; gi++)
        find_in_trace(&w, gi);
    for (size_t gi = 0; gi < w.a->n_groups && !w.err && o->explain; gi++) {
        int scan = 0, sort = 0;
        if (explain_group(&w, gi, &scan, &sort) == 0 && o->advise &&
            (scan || sort))
            advise_group(&w, gi);
    }
    if (w.err || (w.err = sort_groups(&w)))
        goto out;
    qsort(w.a->findings, w.a->n_findings, sizeof *w.a->findings, by_cost);
    w.a->statement_group = w.group_of;
    w.group_of = NULL;
    *out = w.a;
    w.a = NULL;
out:
    for (size_t i = 0; i < w.n_scratch; i++) {
        plumb_sql_db_close(w.scratch[i].db);
        free(w.scratch[i].target);
    }
    free(w.scratch);
    for (size_t i = 0; w.fps && i < n; i++)
        plumb_sql_fingerprint_close(&w.fps[i]);
    free(w.fps);
    free(w.group_of);
    plumb_sql_analysis_free(w.a);
    return w.err;
}
