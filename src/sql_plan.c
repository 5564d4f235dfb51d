/* sql_plan.c: a query plan as a list of steps (scan, search, sort, other),
 * read from what the planners print: the detail column of SQLite's EXPLAIN
 * QUERY PLAN, in the wording of every version since 3.7 ("SCAN TABLE t
 * (~1000 rows)" up to "SCAN t"), and PostgreSQL's EXPLAIN (FORMAT JSON).
 * It does not run EXPLAIN (sql_db.c does) nor judge a plan (the findings
 * and the index trial do).
 *
 * Both readers take outside input: text they do not recognise becomes an
 * OTHER step (SQLite) or PLUMB_EPARSE with the plan left as it was
 * (PostgreSQL), never a crash.
 */
#include "sql_db.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Fills *plan with an empty plan. */
void plumb_sql_plan_init(plumb_sql_plan_t *plan)
{
    plan->steps = NULL;
    plan->n_steps = 0;
    plan->cap = 0;
}

static void step_close(plumb_sql_step_t *s)
{
    free(s->table);
    free(s->index);
    free(s->detail);
}

/* Frees the steps' strings and the steps; plan is empty afterwards. NULL is
 * a no-op. */
void plumb_sql_plan_close(plumb_sql_plan_t *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_steps; i++)
        step_close(&plan->steps[i]);
    free(plan->steps);
    plumb_sql_plan_init(plan);
}

/* Drops the steps from n on: how a reader that failed half-way leaves the
 * plan as it found it. */
void plumb__sql_plan_truncate(plumb_sql_plan_t *plan, size_t n)
{
    while (plan->n_steps > n)
        step_close(&plan->steps[--plan->n_steps]);
}

/* A copy of s[0..len), or NULL (len == 0 also gives NULL: no name). */
static char *copy_span(const char *s, size_t len)
{
    if (!s || len == 0)
        return NULL;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* Appends a step; the strings are copied. table/index of length 0 mean
 * none. PLUMB_ENOMEM. */
static int plan_push(plumb_sql_plan_t *plan, plumb_sql_step_kind_t kind,
                     const char *table, size_t table_len, const char *index,
                     size_t index_len, const char *detail, size_t detail_len,
                     double rows)
{
    if (plan->n_steps == plan->cap) {
        size_t cap = plan->cap ? plan->cap * 2 : 8;
        if (cap > SIZE_MAX / sizeof *plan->steps)
            return PLUMB_ENOMEM;
        plumb_sql_step_t *steps = realloc(plan->steps, cap * sizeof *steps);
        if (!steps)
            return PLUMB_ENOMEM;
        plan->steps = steps;
        plan->cap = cap;
    }
    plumb_sql_step_t s = {kind, NULL, NULL, NULL, rows};
    s.table = copy_span(table, table_len);
    s.index = copy_span(index, index_len);
    s.detail = malloc(detail_len + 1);
    if ((table_len && !s.table) || (index_len && !s.index) || !s.detail) {
        step_close(&s);
        return PLUMB_ENOMEM;
    }
    memcpy(s.detail, detail, detail_len);
    s.detail[detail_len] = '\0';
    plan->steps[plan->n_steps++] = s;
    return 0;
}

/* ---- SQLite ------------------------------------------------------------- */

/* If s starts with word, the text after it, else NULL. */
static const char *skip_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncmp(s, word, n) == 0 ? s + n : NULL;
}

/* Where the first of SQLite's words that can follow a table name starts in
 * s (the end of s when none does). Table names are printed bare, so the
 * name is what comes before them. */
static const char *table_name_end(const char *s)
{
    static const char *const followers[] = {
        " AS ", " USING ", " VIRTUAL TABLE ", " (",
    };
    const char *end = s + strlen(s);
    for (size_t i = 0; i < sizeof followers / sizeof *followers; i++) {
        const char *at = strstr(s, followers[i]);
        if (at && at < end)
            end = at;
    }
    return end;
}

/* The planner's estimate SQLite 3.7 and 3.8 printed at the end of a
 * detail: "(~1000 rows)". NAN when absent. */
static double sqlite_rows(const char *detail)
{
    const char *at = strstr(detail, "(~");
    if (!at)
        return NAN;
    char *end;
    double rows = strtod(at + 2, &end);
    if (end == at + 2 || strncmp(end, " rows)", 6) != 0)
        return NAN;
    return rows;
}

/* The index a SCAN or SEARCH names after its table: "USING INDEX i",
 * "USING COVERING INDEX i", "USING INDEX i (a=?)". The rowid ("USING
 * INTEGER PRIMARY KEY"), a WITHOUT ROWID table's key ("USING PRIMARY KEY")
 * and the indexes SQLite builds for one statement ("USING AUTOMATIC
 * [PARTIAL] COVERING INDEX (a=?)") name none: *len = 0. */
static const char *sqlite_index(const char *after_table, size_t *len)
{
    const char *p = strstr(after_table, " USING ");
    *len = 0;
    if (!p)
        return NULL;
    p += strlen(" USING ");
    const char *rest = skip_word(p, "COVERING INDEX ");
    if (!rest)
        rest = skip_word(p, "INDEX ");
    if (!rest)
        return NULL;
    /* Index names, like table names, are printed bare; the column
     * constraints follow in parentheses. */
    const char *end = strstr(rest, " (");
    *len = end ? (size_t)(end - rest) : strlen(rest);
    return rest;
}

/* Appends one detail of EXPLAIN QUERY PLAN:
 * - "SCAN t", "SCAN TABLE t", "SCAN t AS a", "SCAN t USING COVERING INDEX
 *   i" (the whole index: SCAN with index set), "SCAN t VIRTUAL TABLE INDEX
 *   0:": SCAN. "SCAN (subquery-1)", "SCAN SUBQUERY 1" (a materialised
 *   subquery, no table) are SCANs without a table; "SCAN CONSTANT ROW"
 *   reads nothing and is OTHER.
 * - "SEARCH t USING INDEX i (a=?)", "SEARCH TABLE t USING INTEGER PRIMARY
 *   KEY (rowid=?)", "SEARCH t USING AUTOMATIC COVERING INDEX (a=?)": SEARCH.
 * - "USE TEMP B-TREE FOR ORDER BY / GROUP BY / DISTINCT / RIGHT PART OF
 *   ORDER BY / LAST TERM OF ORDER BY": SORT.
 * - everything else (CO-ROUTINE, MATERIALIZE, SCALAR SUBQUERY, LIST
 *   SUBQUERY, COMPOUND QUERY, MULTI-INDEX OR, BLOOM FILTER ON t, ...):
 *   OTHER; "BLOOM FILTER ON t" keeps its table.
 * The detail is kept as given, without surrounding whitespace; rows is the
 * "(~N rows)" of old versions, else NAN. PLUMB_EINVAL for NULL,
 * PLUMB_ENOMEM. */
int plumb_sql_plan_add_sqlite(plumb_sql_plan_t *plan, const char *detail)
{
    if (!plan || !detail)
        return PLUMB_EINVAL;
    while (isspace((unsigned char)*detail))
        detail++;
    size_t detail_len = strlen(detail);
    while (detail_len && isspace((unsigned char)detail[detail_len - 1]))
        detail_len--;
    /* A private, trimmed copy, so that the searches below stop at its
     * end. */
    char *d = copy_span(detail, detail_len);
    if (detail_len && !d)
        return PLUMB_ENOMEM;
    if (!d)
        return plan_push(plan, PLUMB_SQL_STEP_OTHER, NULL, 0, NULL, 0, "", 0,
                         NAN);

    plumb_sql_step_kind_t kind = PLUMB_SQL_STEP_OTHER;
    const char *table = NULL, *index = NULL, *rest;
    size_t table_len = 0, index_len = 0;
    double rows = sqlite_rows(d);

    if (strcmp(d, "SCAN CONSTANT ROW") == 0) {
        kind = PLUMB_SQL_STEP_OTHER;
    } else if ((rest = skip_word(d, "SCAN ")) ||
               (rest = skip_word(d, "SEARCH "))) {
        kind = skip_word(d, "SCAN ") ? PLUMB_SQL_STEP_SCAN
                                     : PLUMB_SQL_STEP_SEARCH;
        const char *name = skip_word(rest, "TABLE ");
        if (!name)
            name = rest;
        if (skip_word(name, "SUBQUERY ") || skip_word(name, "(subquery-")) {
            /* A materialised subquery: no table of the database. */
        } else {
            const char *end = table_name_end(name);
            table = name;
            table_len = (size_t)(end - name);
            index = sqlite_index(end, &index_len);
        }
    } else if (skip_word(d, "USE TEMP B-TREE FOR ")) {
        kind = PLUMB_SQL_STEP_SORT;
    } else if ((rest = skip_word(d, "BLOOM FILTER ON "))) {
        table = rest;
        table_len = (size_t)(table_name_end(rest) - rest);
    }
    int err = plan_push(plan, kind, table, table_len, index, index_len, d,
                        detail_len, rows);
    free(d);
    return err;
}

/* ---- PostgreSQL --------------------------------------------------------- */

/* A growing string for the details. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} text_t;

static void text_add(text_t *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_str(text_t *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* A string member of a node, or NULL. */
static const char *node_text(json_t *node, const char *key)
{
    return json_string_value(json_object_get(node, key));
}

typedef enum {
    PG_OTHER,
    PG_SEQ_SCAN,
    PG_INDEX_SCAN,        /* Index Scan, Index Only Scan */
    PG_BITMAP_HEAP_SCAN,
    PG_BITMAP_INDEX_SCAN,
    PG_SORT               /* Sort, Incremental Sort */
} pg_node_t;

static pg_node_t pg_node_kind(const char *type)
{
    if (strcmp(type, "Seq Scan") == 0)
        return PG_SEQ_SCAN;
    if (strcmp(type, "Index Scan") == 0 ||
        strcmp(type, "Index Only Scan") == 0)
        return PG_INDEX_SCAN;
    if (strcmp(type, "Bitmap Heap Scan") == 0)
        return PG_BITMAP_HEAP_SCAN;
    if (strcmp(type, "Bitmap Index Scan") == 0)
        return PG_BITMAP_INDEX_SCAN;
    if (strcmp(type, "Sort") == 0 || strcmp(type, "Incremental Sort") == 0)
        return PG_SORT;
    return PG_OTHER;
}

/* The detail of a node in the words of PostgreSQL's text format: "Seq Scan
 * on book", "Parallel Seq Scan on book b", "Index Scan using i on book",
 * "Bitmap Index Scan on i", "Sort (author_id, title)", "Hash Join". */
static void pg_detail(text_t *t, json_t *node, const char *type,
                      pg_node_t kind)
{
    const char *rel = node_text(node, "Relation Name");
    const char *alias = node_text(node, "Alias");
    const char *index = node_text(node, "Index Name");

    if (json_is_true(json_object_get(node, "Parallel Aware")))
        text_str(t, "Parallel ");
    text_str(t, type);
    if (kind == PG_SORT) {
        json_t *keys = json_object_get(node, "Sort Key");
        if (json_is_array(keys) && json_array_size(keys) > 0) {
            size_t i;
            json_t *key;
            text_str(t, " (");
            json_array_foreach(keys, i, key)
            {
                if (i)
                    text_str(t, ", ");
                text_str(t, json_is_string(key) ? json_string_value(key)
                                                : "?");
            }
            text_str(t, ")");
        }
        return;
    }
    if (kind == PG_BITMAP_INDEX_SCAN) {
        if (index) {
            text_str(t, " on ");
            text_str(t, index);
        }
        return;
    }
    if (index) {
        text_str(t, " using ");
        text_str(t, index);
    }
    if (rel) {
        text_str(t, " on ");
        text_str(t, rel);
        if (alias && strcmp(alias, rel) != 0) {
            text_str(t, " ");
            text_str(t, alias);
        }
    }
}

/* The node and, depth first, its children ("Plans"). */
static int pg_add_node(plumb_sql_plan_t *plan, json_t *node, int depth)
{
    /* jansson itself refuses documents nested deeper than 2048. */
    if (!json_is_object(node) || depth > 2048)
        return PLUMB_EPARSE;
    const char *type = node_text(node, "Node Type");
    if (!type)
        return PLUMB_EPARSE;
    json_t *rows_value = json_object_get(node, "Plan Rows");
    if (rows_value && !json_is_number(rows_value))
        return PLUMB_EPARSE;
    double rows = rows_value ? json_number_value(rows_value) : NAN;

    pg_node_t kind = pg_node_kind(type);
    plumb_sql_step_kind_t step = PLUMB_SQL_STEP_OTHER;
    const char *table = node_text(node, "Relation Name");
    const char *index = node_text(node, "Index Name");
    switch (kind) {
    case PG_SEQ_SCAN:
        step = PLUMB_SQL_STEP_SCAN;
        break;
    case PG_INDEX_SCAN:
        /* Without an Index Cond the index is read whole (an ORDER BY served
         * from it): a scan, as SQLite's "SCAN t USING INDEX i". */
        step = json_object_get(node, "Index Cond") ? PLUMB_SQL_STEP_SEARCH
                                                   : PLUMB_SQL_STEP_SCAN;
        break;
    case PG_BITMAP_HEAP_SCAN:
    case PG_BITMAP_INDEX_SCAN:
        step = PLUMB_SQL_STEP_SEARCH;
        break;
    case PG_SORT:
        step = PLUMB_SQL_STEP_SORT;
        break;
    case PG_OTHER:
        break;
    }

    text_t detail = {NULL, 0, 0, 0};
    pg_detail(&detail, node, type, kind);
    if (detail.failed) {
        free(detail.s);
        return PLUMB_ENOMEM;
    }
    int err = plan_push(plan, step, table, table ? strlen(table) : 0, index,
                        index ? strlen(index) : 0, detail.s, detail.len,
                        rows);
    free(detail.s);
    if (err)
        return err;

    json_t *children = json_object_get(node, "Plans");
    if (!children)
        return 0;
    if (!json_is_array(children))
        return PLUMB_EPARSE;
    size_t i;
    json_t *child;
    json_array_foreach(children, i, child)
    {
        err = pg_add_node(plan, child, depth + 1);
        if (err)
            return err;
    }
    return 0;
}

/* Appends the nodes of EXPLAIN (FORMAT JSON) output, depth first: the
 * document is an array of one object per statement ({"Plan": {...}}); a
 * lone such object is taken too. Seq Scan is a SCAN of its Relation Name;
 * Index Scan and Index Only Scan are SEARCHes (SCANs of the index when they
 * have no Index Cond), Bitmap Heap Scan and Bitmap Index Scan SEARCHes;
 * Sort and Incremental Sort SORTs; every other node OTHER. rows is "Plan
 * Rows". PLUMB_EPARSE (plan unchanged) for text that is not such a
 * document, PLUMB_EINVAL for NULL, PLUMB_ENOMEM. */
int plumb_sql_plan_add_pg(plumb_sql_plan_t *plan, const char *json)
{
    if (!plan || !json)
        return PLUMB_EINVAL;
    json_error_t jerr;
    json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return PLUMB_EPARSE;
    size_t start = plan->n_steps;
    int err = 0;
    if (json_is_object(doc)) {
        json_t *root = json_object_get(doc, "Plan");
        err = root ? pg_add_node(plan, root, 0) : PLUMB_EPARSE;
    } else if (json_is_array(doc) && json_array_size(doc) > 0) {
        size_t i;
        json_t *stmt;
        json_array_foreach(doc, i, stmt)
        {
            json_t *root = json_object_get(stmt, "Plan");
            err = root ? pg_add_node(plan, root, 0) : PLUMB_EPARSE;
            if (err)
                break;
        }
    } else {
        err = PLUMB_EPARSE;
    }
    json_decref(doc);
    if (err)
        plumb__sql_plan_truncate(plan, start);
    return err;
}

/* ---- text --------------------------------------------------------------- */

/* The details joined with "; " into *out (malloc'd, the caller frees; "" for
 * an empty plan). PLUMB_EINVAL for NULL, PLUMB_ENOMEM. */
int plumb_sql_plan_text(const plumb_sql_plan_t *plan, char **out)
{
    if (!plan || !out)
        return PLUMB_EINVAL;
    text_t t = {NULL, 0, 0, 0};
    text_add(&t, "", 0);
    for (size_t i = 0; i < plan->n_steps; i++) {
        if (i)
            text_str(&t, "; ");
        text_str(&t, plan->steps[i].detail);
    }
    if (t.failed) {
        free(t.s);
        return PLUMB_ENOMEM;
    }
    *out = t.s;
    return 0;
}
