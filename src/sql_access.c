/* sql_access.c: the tables a SQL statement reaches and what its WHERE,
 * JOIN ... ON and ORDER BY say about their columns, read from its text
 * alone (the statement is never run). It does not propose indexes for
 * them (sql_index.c).
 *
 * The access reader is a small recursive descent over sql_token.c's
 * tokens. It reads SELECT (compounds, subqueries in FROM, WHERE and the
 * select list, WITH), UPDATE, DELETE and the SELECT of INSERT ... SELECT. A
 * statement it cannot read whole (another statement, a syntax it does not
 * know, nesting past MAX_DEPTH) yields no access rather than a guess.
 * - An access is one table named in FROM, JOIN, UPDATE or DELETE FROM, in
 *   the order they are read (a self-join gives two; the select list's
 *   subqueries come after FROM); a schema qualifier is dropped. Subqueries
 *   in FROM, CTE names and table functions are not tables and get none.
 * - A column compared with a value, or with a column of another table (or
 *   of a derived table), is constrained; a column inside a function, cast
 *   or COLLATE is not, nor one whose table is unknown (an unqualified
 *   column when there are several tables, an unknown qualifier). Values
 *   are literals, placeholders, NULL/TRUE/FALSE, subqueries, ARRAY[...] and
 *   any expression of them.
 * - =, IN (anything but a list of columns), = ANY(...), IS NULL, IS ? and
 *   IS NOT DISTINCT FROM are equalities; <, <=, >, >=, BETWEEN, and LIKE or
 *   GLOB with a literal that does not start with a wildcard are ranges.
 *   NOT, <>, NOT IN, NOT LIKE, ILIKE say nothing. JOIN ... ON a.x = b.y
 *   constrains both sides; JOIN ... USING (c) is an equality on c for the
 *   joined table and the one before it.
 * - AND joins what both sides say; an OR keeps only the columns that every
 *   branch constrains (a = 1 OR a = 2 is an equality on a, a = 1 OR b = 2
 *   says nothing: no one index serves it), as an equality when every branch
 *   has one, else as a range.
 * - Seen from a subquery, a column of an enclosing query is a value: the
 *   correlated subquery looks its own table up by it, so c.t_id = t.id
 *   inside one constrains c alone.
 * - ORDER BY counts the longest run of leading plain columns of one table
 *   (of a single SELECT, not of a compound); ASC, DESC, NULLS FIRST/LAST
 *   do not matter.
 */
#include "plumb.h"
#include "sql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nesting deeper than this is not read (it would only cost stack). */
#define MAX_DEPTH 200

typedef struct {
    const char **v;
    size_t n, cap;
} names_t;

typedef struct {
    const char *table;
    names_t eq, range, order;
} access_build_t;

/* A table named in FROM (or UPDATE, DELETE FROM). */
typedef struct {
    const char *name;  /* canonical; NULL for a subquery */
    const char *alias; /* canonical; NULL when it has none */
    long access;       /* its access, or DERIVED */
} table_ref_t;

/* The access of a column of a subquery in FROM, a CTE or a table function:
 * another row source than any table, but no table to index. */
#define DERIVED (-2L)
/* The access of a column whose table is not known. */
#define UNKNOWN (-1L)

typedef struct scope {
    const struct scope *parent;
    table_ref_t *refs;
    size_t n, cap;
} scope_t;

/* What a WHERE says about one column. */
typedef struct {
    long access;
    const char *column;
    int range; /* 0: equality */
} fact_t;

typedef struct {
    const char *sql;
    const token_t *t;
    size_t n, pos;
    int failed; /* cannot read it: no access */
    int oom;
    unsigned depth;
    char **strings; /* every canonical name, freed at the end */
    size_t n_strings, cap_strings;
    access_build_t *acc;
    size_t n_acc, cap_acc;
    /* The facts of the expressions being read, innermost last: an
     * expression's own facts are the tail from where it started. */
    fact_t *facts;
    size_t n_facts, cap_facts;
    names_t ctes;
} parser_t;

enum { X_VALUE, X_COLUMN, X_OTHER };

/* An expression read: what it is to a comparison, and its facts, the
 * parser's facts from index `facts` on. */
typedef struct {
    int kind;
    long access;        /* X_COLUMN: -1 when it resolves to no table */
    const char *column; /* X_COLUMN */
    long literal;       /* token index when it is one string literal, else -1 */
    size_t facts;
} expr_t;

static void fail(parser_t *p)
{
    p->failed = 1;
}

static void no_memory(parser_t *p)
{
    p->oom = 1;
    p->failed = 1;
}

static const token_t *peek(const parser_t *p, size_t ahead)
{
    return p->pos + ahead < p->n ? &p->t[p->pos + ahead] : NULL;
}

static int word_at(const parser_t *p, size_t ahead, const char *word)
{
    const token_t *t = peek(p, ahead);
    return t && tok_is_word(p->sql, t, word);
}

static int op_at(const parser_t *p, size_t ahead, const char *op)
{
    const token_t *t = peek(p, ahead);
    return t && tok_is_op(p->sql, t, op);
}

static int accept_word(parser_t *p, const char *word)
{
    if (p->failed || !word_at(p, 0, word))
        return 0;
    p->pos++;
    return 1;
}

static int accept_op(parser_t *p, const char *op)
{
    if (p->failed || !op_at(p, 0, op))
        return 0;
    p->pos++;
    return 1;
}

static void expect_word(parser_t *p, const char *word)
{
    if (!accept_word(p, word))
        fail(p);
}

static void expect_op(parser_t *p, const char *op)
{
    if (!accept_op(p, op))
        fail(p);
}

static int name_at(const parser_t *p, size_t ahead)
{
    const token_t *t = peek(p, ahead);
    return t && is_name(p->sql, t);
}

/* A subquery starts here: SELECT, WITH or VALUES. */
static int query_at(const parser_t *p, size_t ahead)
{
    return word_at(p, ahead, "select") || word_at(p, ahead, "with") ||
           word_at(p, ahead, "values");
}

static int enter(parser_t *p)
{
    if (p->failed)
        return 0;
    if (++p->depth > MAX_DEPTH) {
        p->depth--;
        fail(p);
        return 0;
    }
    return 1;
}

static void leave(parser_t *p)
{
    p->depth--;
}

/* The canonical name of a name token: unquoted ones lower-cased, quoted
 * ones without their quotes, a doubled closing quote read as one. Owned by
 * the parser. */
static const char *canonical(parser_t *p, const token_t *t)
{
    if (p->failed)
        return NULL;
    const char *s = p->sql + t->start;
    size_t len = t->len;
    char *name = sql_malloc(len + 1);
    if (!name || grow((void **)&p->strings, &p->cap_strings, p->n_strings + 1,
                      sizeof *p->strings)) {
        free(name);
        no_memory(p);
        return NULL;
    }
    p->strings[p->n_strings++] = name;
    size_t at = 0;
    if (t->kind == T_WORD) {
        for (size_t i = 0; i < len; i++)
            name[at++] = (char)to_lower((unsigned char)s[i]);
    } else {
        char close = s[0] == '[' ? ']' : s[0];
        size_t end = len;
        if (len >= 2 && s[len - 1] == close)
            end = len - 1;
        for (size_t i = 1; i < end; i++) {
            name[at++] = s[i];
            if (s[i] == close && i + 1 < end && s[i + 1] == close)
                i++;
        }
    }
    name[at] = '\0';
    return name;
}

static void names_add(parser_t *p, names_t *list, const char *name)
{
    if (p->failed || !name)
        return;
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->v[i], name) == 0)
            return;
    if (grow((void **)&list->v, &list->cap, list->n + 1, sizeof *list->v)) {
        no_memory(p);
        return;
    }
    list->v[list->n++] = name;
}

static int names_has(const names_t *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->v[i], name) == 0)
            return 1;
    return 0;
}

static long new_access(parser_t *p, const char *table)
{
    if (p->failed)
        return -1;
    if (grow((void **)&p->acc, &p->cap_acc, p->n_acc + 1, sizeof *p->acc)) {
        no_memory(p);
        return -1;
    }
    p->acc[p->n_acc] = (access_build_t){table, {0}, {0}, {0}};
    return (long)p->n_acc++;
}

static void scope_add(parser_t *p, scope_t *sc, const char *name, long access)
{
    if (p->failed)
        return;
    if (grow((void **)&sc->refs, &sc->cap, sc->n + 1, sizeof *sc->refs)) {
        no_memory(p);
        return;
    }
    sc->refs[sc->n++] = (table_ref_t){name, NULL, access};
}

/* The access of the table a column names (qualifier NULL: the only table
 * of the innermost scope), UNKNOWN when there is none; *outer is set when
 * the table is an enclosing query's. */
static long resolve(const scope_t *sc, const char *qualifier, int *outer)
{
    *outer = 0;
    if (!qualifier)
        return sc && sc->n == 1 ? sc->refs[0].access : UNKNOWN;
    for (; sc; sc = sc->parent, *outer = 1) {
        for (size_t i = 0; i < sc->n; i++)
            if (sc->refs[i].alias && strcmp(sc->refs[i].alias, qualifier) == 0)
                return sc->refs[i].access;
        for (size_t i = 0; i < sc->n; i++)
            if (!sc->refs[i].alias && sc->refs[i].name &&
                strcmp(sc->refs[i].name, qualifier) == 0)
                return sc->refs[i].access;
    }
    *outer = 0;
    return UNKNOWN;
}

static void add_fact(parser_t *p, long access, const char *column, int range)
{
    if (p->failed || access < 0 || !column)
        return;
    if (grow((void **)&p->facts, &p->cap_facts, p->n_facts + 1,
             sizeof *p->facts)) {
        no_memory(p);
        return;
    }
    p->facts[p->n_facts++] = (fact_t){access, column, range};
}

/* Makes the facts from `from` on part of the statement's accesses. */
static void commit_facts(parser_t *p, size_t from)
{
    for (size_t i = from; i < p->n_facts && !p->failed; i++) {
        access_build_t *a = &p->acc[p->facts[i].access];
        names_add(p, p->facts[i].range ? &a->range : &a->eq,
                  p->facts[i].column);
    }
    p->n_facts = from;
}

/* OR of the facts [a, b) and [b, end): what both branches constrain. */
static void facts_or(parser_t *p, size_t a, size_t b)
{
    size_t w = a;
    for (size_t i = a; i < b; i++) {
        fact_t f = p->facts[i];
        int found = 0, eq = 0;
        for (size_t j = b; j < p->n_facts; j++) {
            if (p->facts[j].access == f.access &&
                strcmp(p->facts[j].column, f.column) == 0) {
                found = 1;
                eq |= !p->facts[j].range;
            }
        }
        if (!found)
            continue;
        f.range = f.range || !eq;
        size_t k = a;
        while (k < w && !(p->facts[k].access == f.access &&
                          strcmp(p->facts[k].column, f.column) == 0))
            k++;
        if (k < w)
            p->facts[k].range = p->facts[k].range && f.range;
        else
            p->facts[w++] = f;
    }
    p->n_facts = w;
}

static void x_set(parser_t *p, expr_t *x, int kind)
{
    p->n_facts = x->facts;
    x->kind = kind;
    x->access = -1;
    x->column = NULL;
    x->literal = -1;
}

/* x and y combined by an operator that yields no fact: a value if both are. */
static void x_combine(parser_t *p, expr_t *x, const expr_t *y)
{
    x_set(p, x, x->kind == X_VALUE && y->kind == X_VALUE ? X_VALUE : X_OTHER);
}

/* Facts of a comparison between a and b (range 0: equality): a column
 * against a value, or against a column of another table or of a derived
 * table (not against one whose table is unknown: it may be its own). */
static void relate(parser_t *p, const expr_t *a, const expr_t *b, int range)
{
    if (a->kind == X_COLUMN && b->kind == X_VALUE) {
        add_fact(p, a->access, a->column, range);
    } else if (b->kind == X_COLUMN && a->kind == X_VALUE) {
        add_fact(p, b->access, b->column, range);
    } else if (a->kind == X_COLUMN && b->kind == X_COLUMN &&
               a->access != UNKNOWN && b->access != UNKNOWN &&
               a->access != b->access) {
        add_fact(p, a->access, a->column, range);
        add_fact(p, b->access, b->column, range);
    }
}

/* Skips a group opened by the "(" or "[" here, nested groups included. */
static void skip_group(parser_t *p)
{
    size_t depth = 0;
    if (!op_at(p, 0, "(") && !op_at(p, 0, "[")) {
        fail(p);
        return;
    }
    while (!p->failed && p->pos < p->n) {
        const token_t *t = &p->t[p->pos++];
        if (tok_is_op(p->sql, t, "(") || tok_is_op(p->sql, t, "["))
            depth++;
        else if ((tok_is_op(p->sql, t, ")") || tok_is_op(p->sql, t, "]")) &&
                 --depth == 0)
            return;
    }
    fail(p); /* unbalanced */
}

static void parse_expr(parser_t *p, const scope_t *sc, expr_t *x);
static void parse_select(parser_t *p, const scope_t *parent);

/* An expression whose facts do not count: a SET value, a function
 * argument, GROUP BY. */
static void parse_expr_value(parser_t *p, const scope_t *sc, expr_t *x)
{
    parse_expr(p, sc, x);
    if (!p->failed)
        p->n_facts = x->facts;
}

/* ( SELECT ... ) with the "(" here: a subquery, its accesses its own. */
static void parse_subquery(parser_t *p, const scope_t *sc)
{
    expect_op(p, "(");
    parse_select(p, sc);
    expect_op(p, ")");
}

/* Steps over a name, maybe qualified (schema.table); with none there the
 * statement cannot be read. 1 when it stepped over one. */
static int skip_name(parser_t *p)
{
    if (!name_at(p, 0)) {
        fail(p);
        return 0;
    }
    p->pos++;
    while (op_at(p, 0, ".") && name_at(p, 1))
        p->pos += 2;
    return 1;
}

/* A type after :: or CAST ... AS: a name, maybe qualified, with its
 * modifiers, array brackets and the words of the SQL types of several. */
static void parse_type(parser_t *p)
{
    if (!skip_name(p))
        return;
    /* character varying(255), timestamp(3) with time zone, int[] */
    for (;;) {
        if (word_at(p, 0, "precision") || word_at(p, 0, "varying")) {
            p->pos++;
        } else if ((word_at(p, 0, "with") || word_at(p, 0, "without")) &&
                   word_at(p, 1, "time") && word_at(p, 2, "zone")) {
            p->pos += 3;
        } else if (op_at(p, 0, "(") && !p->failed) {
            skip_group(p);
        } else if (op_at(p, 0, "[") && op_at(p, 1, "]")) {
            p->pos += 2;
        } else {
            return;
        }
    }
}

/* Words that can sit inside a call's parentheses between its arguments:
 * count(DISTINCT x), extract(year FROM d), substring(s FOR 2), ... */
static const char *const call_words[] = {
    "distinct", "all", "from",    "for",       "as",    "order",
    "by",       "asc", "desc",    "separator", "using", "nulls",
    "placing",  "in",  "similar", "escape",
};

/* name( ... ) [FILTER (...)] [WITHIN GROUP (...)] [OVER ...] with the name
 * here: a value when no argument names a column. */
static void parse_call(parser_t *p, const scope_t *sc, expr_t *x)
{
    int columns = 0;
    p->pos++;
    expect_op(p, "(");
    while (!p->failed && !op_at(p, 0, ")")) {
        const token_t *t = peek(p, 0);
        if (!t) {
            fail(p);
            break;
        }
        int skip = tok_is_op(p->sql, t, ",") || tok_is_op(p->sql, t, "*");
        for (size_t i = 0; i < sizeof call_words / sizeof *call_words && !skip;
             i++)
            skip = tok_is_word(p->sql, t, call_words[i]);
        if (skip) {
            p->pos++;
            continue;
        }
        expr_t arg;
        parse_expr_value(p, sc, &arg);
        columns |= arg.kind != X_VALUE;
    }
    expect_op(p, ")");
    if (accept_word(p, "filter")) {
        if (op_at(p, 0, "("))
            skip_group(p);
        else
            fail(p);
    }
    if (accept_word(p, "within")) {
        expect_word(p, "group");
        if (op_at(p, 0, "("))
            skip_group(p);
        else
            fail(p);
    }
    if (accept_word(p, "over")) {
        if (op_at(p, 0, "("))
            skip_group(p);
        else if (name_at(p, 0))
            p->pos++;
        else
            fail(p);
    }
    x_set(p, x, columns ? X_OTHER : X_VALUE);
}

/* CASE [x] WHEN a THEN b ... [ELSE c] END */
static void parse_case(parser_t *p, const scope_t *sc, expr_t *x)
{
    int columns = 0;
    expr_t part;
    p->pos++;
    if (!word_at(p, 0, "when")) {
        parse_expr_value(p, sc, &part);
        columns |= part.kind != X_VALUE;
    }
    while (!p->failed && accept_word(p, "when")) {
        parse_expr_value(p, sc, &part);
        columns |= part.kind != X_VALUE;
        expect_word(p, "then");
        parse_expr_value(p, sc, &part);
        columns |= part.kind != X_VALUE;
    }
    if (accept_word(p, "else")) {
        parse_expr_value(p, sc, &part);
        columns |= part.kind != X_VALUE;
    }
    expect_word(p, "end");
    x_set(p, x, columns ? X_OTHER : X_VALUE);
}

/* name[.name[.name]] or name.*: a column, resolved through the scopes. */
static void parse_column(parser_t *p, const scope_t *sc, expr_t *x)
{
    const token_t *parts[3];
    size_t n_parts = 0;
    parts[n_parts++] = peek(p, 0);
    p->pos++;
    while (op_at(p, 0, ".")) {
        if (op_at(p, 1, "*")) {
            p->pos += 2;
            x_set(p, x, X_OTHER);
            return;
        }
        const token_t *t = peek(p, 1);
        if (!t || !(t->kind == T_WORD || t->kind == T_QIDENT) || n_parts == 3) {
            fail(p);
            return;
        }
        parts[n_parts++] = t;
        p->pos += 2;
    }
    const char *column = canonical(p, parts[n_parts - 1]);
    const char *qualifier =
        n_parts > 1 ? canonical(p, parts[n_parts - 2]) : NULL;
    int outer = 0;
    long access = resolve(sc, qualifier, &outer);
    /* an enclosing query's column is, to this one, a value per row */
    x_set(p, x, outer ? X_VALUE : X_COLUMN);
    if (!outer) {
        x->column = column;
        x->access = access;
    }
}

/* [a, b, ...] of ARRAY[...] (or nested in one): a value when its elements
 * are. */
static void parse_array(parser_t *p, const scope_t *sc, expr_t *x)
{
    int columns = 0;
    expect_op(p, "[");
    while (!p->failed && !op_at(p, 0, "]")) {
        expr_t item;
        parse_expr_value(p, sc, &item);
        columns |= item.kind != X_VALUE;
        if (!accept_op(p, ","))
            break;
    }
    expect_op(p, "]");
    x_set(p, x, columns ? X_OTHER : X_VALUE);
}

/* Keywords that are also functions: left(s, 2), x = ANY(?), replace(...). */
static int keyword_call(const char *s, const token_t *t)
{
    static const char *const words[] = {"left",  "right",   "any",  "some",
                                        "all",   "replace", "glob", "like",
                                        "match", "regexp"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (tok_is_word(s, t, words[i]))
            return 1;
    return 0;
}

static void parse_primary(parser_t *p, const scope_t *sc, expr_t *x)
{
    const token_t *t = peek(p, 0);
    x->facts = p->n_facts;
    x_set(p, x, X_OTHER);
    if (!t) {
        fail(p);
        return;
    }
    const char *s = p->sql;
    switch (t->kind) {
    case T_STRING:
    case T_BLOB:
    case T_NUMBER:
    case T_PARAM:
        x_set(p, x, X_VALUE);
        if (t->kind == T_STRING)
            x->literal = (long)p->pos;
        p->pos++;
        return;
    case T_QIDENT:
        if (op_at(p, 1, "("))
            parse_call(p, sc, x);
        else
            parse_column(p, sc, x);
        return;
    case T_OP:
        if (tok_is_op(s, t, "*")) {
            p->pos++;
        } else if (tok_is_op(s, t, "(") && query_at(p, 1)) {
            parse_subquery(p, sc);
            x_set(p, x, X_VALUE);
        } else if (tok_is_op(s, t, "[")) {
            parse_array(p, sc, x);
        } else if (tok_is_op(s, t, "(")) {
            p->pos++;
            parse_expr(p, sc, x);
            if (op_at(p, 0, ",")) { /* a row value */
                int columns = x->kind != X_VALUE;
                while (accept_op(p, ",")) {
                    expr_t item;
                    parse_expr_value(p, sc, &item);
                    columns |= item.kind != X_VALUE;
                }
                x_set(p, x, columns ? X_OTHER : X_VALUE);
            }
            expect_op(p, ")");
        } else {
            fail(p);
        }
        return;
    default:
        break;
    }
    /* T_WORD */
    if (tok_is_word(s, t, "case")) {
        parse_case(p, sc, x);
    } else if (tok_is_word(s, t, "cast") && op_at(p, 1, "(")) {
        p->pos += 2;
        parse_expr_value(p, sc, x);
        int kind = x->kind == X_VALUE ? X_VALUE : X_OTHER;
        expect_word(p, "as");
        parse_type(p);
        expect_op(p, ")");
        x_set(p, x, kind);
    } else if (tok_is_word(s, t, "exists")) {
        p->pos++;
        parse_subquery(p, sc);
        x_set(p, x, X_OTHER);
    } else if (tok_is_word(s, t, "null") || tok_is_word(s, t, "true") ||
               tok_is_word(s, t, "false") || tok_is_word(s, t, "default") ||
               tok_is_word(s, t, "current_date") ||
               tok_is_word(s, t, "current_time") ||
               tok_is_word(s, t, "current_timestamp") ||
               tok_is_word(s, t, "localtime") ||
               tok_is_word(s, t, "localtimestamp")) {
        p->pos++;
        x_set(p, x, X_VALUE);
    } else if ((tok_is_word(s, t, "date") || tok_is_word(s, t, "time") ||
                tok_is_word(s, t, "timestamp") ||
                tok_is_word(s, t, "interval")) &&
               peek(p, 1) && peek(p, 1)->kind == T_STRING) {
        p->pos += 2; /* DATE '2024-01-01' */
        x_set(p, x, X_VALUE);
    } else if (tok_is_word(s, t, "array") && op_at(p, 1, "[")) {
        p->pos++;
        parse_array(p, sc, x);
    } else if (op_at(p, 1, "(") &&
               (!plumb__sql_is_keyword(s + t->start, t->len) ||
                keyword_call(s, t))) {
        parse_call(p, sc, x);
    } else if (plumb__sql_is_keyword(s + t->start, t->len)) {
        fail(p);
    } else {
        parse_column(p, sc, x);
    }
}

/* A primary followed by ::type, COLLATE name or a [subscript]: any of them
 * makes a column something an index on it does not serve. */
static void parse_unary(parser_t *p, const scope_t *sc, expr_t *x);

static void parse_postfix(parser_t *p, const scope_t *sc, expr_t *x)
{
    parse_primary(p, sc, x);
    while (!p->failed) {
        if (word_at(p, 0, "at") && word_at(p, 1, "time") &&
            word_at(p, 2, "zone")) {
            expr_t zone;
            p->pos += 3;
            parse_unary(p, sc, &zone);
            x_combine(p, x, &zone);
            continue;
        }
        if (accept_op(p, "::")) {
            parse_type(p);
        } else if (accept_word(p, "collate")) {
            if (name_at(p, 0) || (peek(p, 0) && peek(p, 0)->kind == T_STRING))
                p->pos++;
            else
                fail(p);
        } else if (op_at(p, 0, "[")) {
            skip_group(p);
        } else {
            return;
        }
        x_set(p, x, x->kind == X_VALUE ? X_VALUE : X_OTHER);
    }
}

static void parse_unary(parser_t *p, const scope_t *sc, expr_t *x)
{
    if (!enter(p)) {
        x->facts = p->n_facts;
        x_set(p, x, X_OTHER);
        return;
    }
    if (op_at(p, 0, "-") || op_at(p, 0, "+") || op_at(p, 0, "~") ||
        op_at(p, 0, "!") || word_at(p, 0, "not")) {
        p->pos++;
        parse_unary(p, sc, x);
        x_set(p, x, x->kind == X_VALUE ? X_VALUE : X_OTHER);
    } else {
        parse_postfix(p, sc, x);
    }
    leave(p);
}

static const char *const arith_ops[] = {
    "+",  "-",  "*",  "/",   "%",  "%%",  "||", "&",  "|",
    "<<", ">>", "->", "->>", "#>", "#>>", "@>", "<@", "&&",
    "~",  "!~", "~*", "!~*", "~~", "^",   "#",
};

static int arith_at(const parser_t *p)
{
    for (size_t i = 0; i < sizeof arith_ops / sizeof *arith_ops; i++)
        if (op_at(p, 0, arith_ops[i]))
            return 1;
    return 0;
}

static void parse_arith(parser_t *p, const scope_t *sc, expr_t *x)
{
    parse_unary(p, sc, x);
    while (!p->failed && arith_at(p)) {
        p->pos++;
        expr_t y;
        parse_unary(p, sc, &y);
        x_combine(p, x, &y);
    }
}

/* Whether the string literal at token index i starts with a character that
 * is not a wildcard of LIKE (glob 0) or GLOB (glob 1). */
static int constant_prefix(const parser_t *p, long i, int glob)
{
    const token_t *t = &p->t[i];
    const char *s = p->sql + t->start;
    size_t at = 0, len = t->len;
    int backslash = 0;
    if (s[0] == '$') {
        at = 1;
        while (at < len && s[at] != '$')
            at++;
        at++;
        if (at >= len || s[at] == '$')
            return 0;
    } else {
        if (s[0] != '\'') {
            backslash = s[0] == 'e' || s[0] == 'E';
            at = 1;
        }
        at++;
        if (at >= len ||
            (s[at] == '\'' && !(at + 1 < len && s[at + 1] == '\'')))
            return 0;
    }
    char c = s[at];
    if (backslash && c == '\\')
        return 0;
    return glob ? c != '*' && c != '?' && c != '[' : c != '%' && c != '_';
}

/* The right of IN: a list, a subquery or one value (IN %s, IN ?). */
static void parse_in_list(parser_t *p, const scope_t *sc, expr_t *y)
{
    if (op_at(p, 0, "(") && op_at(p, 1, ")")) {
        y->facts = p->n_facts;
        x_set(p, y, X_VALUE);
        p->pos += 2;
    } else {
        parse_postfix(p, sc, y);
    }
}

static void parse_compare(parser_t *p, const scope_t *sc, expr_t *x)
{
    parse_arith(p, sc, x);
    while (!p->failed) {
        expr_t a = *x, y, hi;
        int negated = 0;
        if (op_at(p, 0, "=") || op_at(p, 0, "==") || op_at(p, 0, "<=>")) {
            p->pos++;
            parse_arith(p, sc, &y);
            x_set(p, x, X_OTHER);
            relate(p, &a, &y, 0);
            continue;
        }
        if (op_at(p, 0, "<") || op_at(p, 0, "<=") || op_at(p, 0, ">") ||
            op_at(p, 0, ">=")) {
            p->pos++;
            parse_arith(p, sc, &y);
            x_set(p, x, X_OTHER);
            relate(p, &a, &y, 1);
            continue;
        }
        if (op_at(p, 0, "<>") || op_at(p, 0, "!=")) {
            p->pos++;
            parse_arith(p, sc, &y);
            x_set(p, x, X_OTHER);
            continue;
        }
        if (word_at(p, 0, "isnull") || word_at(p, 0, "notnull")) {
            int eq = word_at(p, 0, "isnull");
            p->pos++;
            x_set(p, x, X_OTHER);
            if (eq && a.kind == X_COLUMN)
                add_fact(p, a.access, a.column, 0);
            continue;
        }
        if (accept_word(p, "is")) {
            int is_not = accept_word(p, "not"), distinct = 0;
            if (accept_word(p, "distinct")) {
                expect_word(p, "from");
                distinct = 1;
            }
            parse_arith(p, sc, &y);
            x_set(p, x, X_OTHER);
            if (is_not == distinct)
                relate(p, &a, &y, 0);
            continue;
        }
        if (word_at(p, 0, "not") &&
            (word_at(p, 1, "in") || word_at(p, 1, "like") ||
             word_at(p, 1, "ilike") || word_at(p, 1, "glob") ||
             word_at(p, 1, "regexp") || word_at(p, 1, "match") ||
             word_at(p, 1, "between") || word_at(p, 1, "similar") ||
             word_at(p, 1, "null"))) {
            p->pos++;
            negated = 1;
        }
        if (accept_word(p, "null")) { /* x NOT NULL */
            x_set(p, x, X_OTHER);
            continue;
        }
        if (accept_word(p, "in")) {
            parse_in_list(p, sc, &y);
            x_set(p, x, X_OTHER);
            if (!negated && a.kind == X_COLUMN && y.kind == X_VALUE)
                add_fact(p, a.access, a.column, 0);
            continue;
        }
        if (accept_word(p, "between")) {
            accept_word(p, "symmetric");
            parse_arith(p, sc, &y);
            expect_word(p, "and");
            parse_arith(p, sc, &hi);
            x_set(p, x, X_OTHER);
            if (!negated) {
                relate(p, &a, &y, 1);
                relate(p, &a, &hi, 1);
            }
            continue;
        }
        if (word_at(p, 0, "like") || word_at(p, 0, "glob") ||
            word_at(p, 0, "ilike") || word_at(p, 0, "regexp") ||
            word_at(p, 0, "match") || word_at(p, 0, "similar")) {
            int usable = word_at(p, 0, "like") || word_at(p, 0, "glob");
            int glob = word_at(p, 0, "glob");
            if (accept_word(p, "similar"))
                expect_word(p, "to");
            else
                p->pos++;
            parse_arith(p, sc, &y);
            if (accept_word(p, "escape")) {
                expr_t escape;
                parse_arith(p, sc, &escape);
            }
            x_set(p, x, X_OTHER);
            if (!negated && usable && a.kind == X_COLUMN && y.literal >= 0 &&
                constant_prefix(p, y.literal, glob))
                add_fact(p, a.access, a.column, 1);
            continue;
        }
        if (negated)
            fail(p);
        return;
    }
}

static void parse_not(parser_t *p, const scope_t *sc, expr_t *x)
{
    if (!enter(p)) {
        x->facts = p->n_facts;
        x_set(p, x, X_OTHER);
        return;
    }
    if (accept_word(p, "not")) {
        parse_not(p, sc, x);
        x_set(p, x, X_OTHER);
    } else {
        parse_compare(p, sc, x);
    }
    leave(p);
}

static void parse_and(parser_t *p, const scope_t *sc, expr_t *x)
{
    parse_not(p, sc, x);
    while (!p->failed && accept_word(p, "and")) {
        expr_t y;
        parse_not(p, sc, &y);
        x->kind = X_OTHER; /* both sides' facts stay */
        x->literal = -1;
    }
}

static void parse_expr(parser_t *p, const scope_t *sc, expr_t *x)
{
    x->facts = p->n_facts;
    x->kind = X_OTHER;
    x->access = -1;
    x->column = NULL;
    x->literal = -1;
    if (!enter(p))
        return;
    parse_and(p, sc, x);
    while (!p->failed && accept_word(p, "or")) {
        expr_t y;
        parse_and(p, sc, &y);
        facts_or(p, x->facts, y.facts);
        x->kind = X_OTHER;
        x->literal = -1;
    }
    leave(p);
}

/* WHERE, ON: the facts of a condition, made part of the accesses. */
static void parse_condition(parser_t *p, const scope_t *sc)
{
    expr_t x;
    parse_expr(p, sc, &x);
    if (!p->failed)
        commit_facts(p, x.facts);
}

/* [AS] alias [(columns)] */
static void parse_alias(parser_t *p, table_ref_t *ref)
{
    int as = accept_word(p, "as");
    if (name_at(p, 0)) {
        const char *alias = canonical(p, peek(p, 0));
        p->pos++;
        if (ref)
            ref->alias = alias;
    } else if (as) {
        fail(p);
    }
    if (op_at(p, 0, "("))
        skip_group(p);
}

static void parse_from_list(parser_t *p, scope_t *sc);

static void parse_table_ref(parser_t *p, scope_t *sc)
{
    if (!enter(p))
        return;
    accept_word(p, "lateral");
    accept_word(p, "only");
    if (op_at(p, 0, "(") && query_at(p, 1)) {
        parse_subquery(p, sc);
        scope_add(p, sc, NULL, DERIVED);
        if (!p->failed)
            parse_alias(p, &sc->refs[sc->n - 1]);
    } else if (accept_op(p, "(")) { /* (a JOIN b ON ...) */
        parse_from_list(p, sc);
        expect_op(p, ")");
        parse_alias(p, NULL);
    } else if (name_at(p, 0)) {
        const token_t *last = peek(p, 0);
        int qualified = 0;
        p->pos++;
        while (op_at(p, 0, ".") && name_at(p, 1)) {
            last = peek(p, 1);
            qualified = 1;
            p->pos += 2;
        }
        const char *name = canonical(p, last);
        long access = DERIVED;
        if (op_at(p, 0, "(")) /* a table-valued function */
            skip_group(p);
        else if (qualified || !name || !names_has(&p->ctes, name))
            access = new_access(p, name);
        scope_add(p, sc, name, access);
        if (!p->failed)
            parse_alias(p, &sc->refs[sc->n - 1]);
        if (accept_word(p, "indexed")) {
            expect_word(p, "by");
            if (name_at(p, 0))
                p->pos++;
            else
                fail(p);
        } else if (word_at(p, 0, "not") && word_at(p, 1, "indexed")) {
            p->pos += 2;
        }
    } else {
        fail(p);
    }
    leave(p);
}

/* The table refs of FROM with their joins: (a JOIN b ON c), a, b ... */
static void parse_from_list(parser_t *p, scope_t *sc)
{
    parse_table_ref(p, sc);
    while (!p->failed) {
        if (accept_op(p, ",")) {
            parse_table_ref(p, sc);
            continue;
        }
        size_t start = p->pos;
        while (word_at(p, 0, "natural") || word_at(p, 0, "left") ||
               word_at(p, 0, "right") || word_at(p, 0, "full") ||
               word_at(p, 0, "outer") || word_at(p, 0, "inner") ||
               word_at(p, 0, "cross"))
            p->pos++;
        if (!accept_word(p, "join") && !accept_word(p, "straight_join")) {
            if (p->pos != start)
                fail(p);
            return;
        }
        size_t before = sc->n;
        parse_table_ref(p, sc);
        if (accept_word(p, "on")) {
            parse_condition(p, sc);
        } else if (accept_word(p, "using")) {
            expect_op(p, "(");
            do {
                if (!name_at(p, 0)) {
                    fail(p);
                    break;
                }
                const char *column = canonical(p, peek(p, 0));
                p->pos++;
                size_t from = p->n_facts;
                if (!p->failed && sc->n > before && before > 0) {
                    add_fact(p, sc->refs[before].access, column, 0);
                    add_fact(p, sc->refs[before - 1].access, column, 0);
                }
                commit_facts(p, from);
            } while (accept_op(p, ","));
            expect_op(p, ")");
        }
    }
}

/* Words that end a select list. */
static const char *const select_list_enders[] = {
    "from",  "where",     "group",  "having", "order", "limit", "offset",
    "union", "intersect", "except", "window", "fetch", "for",   "returning",
};

typedef struct {
    size_t *v;
    size_t n, cap;
} positions_t;

/* Skips the select list, noting where its subqueries start (outermost
 * only) so that they can be read once FROM has made the scope. */
static void skip_select_list(parser_t *p, positions_t *subqueries)
{
    size_t depth = 0;
    while (!p->failed && p->pos < p->n) {
        const token_t *t = peek(p, 0);
        if (tok_is_op(p->sql, t, "(")) {
            if (query_at(p, 1)) {
                if (grow((void **)&subqueries->v, &subqueries->cap,
                         subqueries->n + 1, sizeof *subqueries->v)) {
                    no_memory(p);
                    return;
                }
                subqueries->v[subqueries->n++] = p->pos;
                skip_group(p);
                continue;
            }
            depth++;
        } else if (tok_is_op(p->sql, t, ")")) {
            if (depth == 0)
                return;
            depth--;
        } else if (depth == 0) {
            if (tok_is_op(p->sql, t, ";"))
                return;
            for (size_t i = 0;
                 i < sizeof select_list_enders / sizeof *select_list_enders;
                 i++)
                if (tok_is_word(p->sql, t, select_list_enders[i]))
                    return;
        }
        p->pos++;
    }
}

/* ORDER BY items; record: note the leading plain columns of one table. */
static void parse_order_by(parser_t *p, const scope_t *sc, int record)
{
    long target = -1;
    do {
        expr_t x;
        parse_expr_value(p, sc, &x);
        if (!accept_word(p, "asc"))
            accept_word(p, "desc");
        if (accept_word(p, "nulls") && !accept_word(p, "first") &&
            !accept_word(p, "last"))
            fail(p);
        if (!record || p->failed)
            continue;
        if (x.kind == X_COLUMN && x.access >= 0 &&
            (target < 0 || target == x.access)) {
            target = x.access;
            names_add(p, &p->acc[target].order, x.column);
        } else {
            record = 0;
        }
    } while (accept_op(p, ","));
}

/* LIMIT, OFFSET, FETCH, FOR UPDATE ... after a query. */
static void parse_query_tail(parser_t *p, const scope_t *sc)
{
    expr_t x;
    for (;;) {
        if (p->failed)
            return;
        if (accept_word(p, "limit")) {
            parse_expr_value(p, sc, &x);
            if (accept_word(p, "offset") || accept_op(p, ","))
                parse_expr_value(p, sc, &x);
        } else if (accept_word(p, "offset")) {
            parse_expr_value(p, sc, &x);
            if (!accept_word(p, "rows"))
                accept_word(p, "row");
        } else if (accept_word(p, "fetch") || accept_word(p, "for")) {
            while (p->pos < p->n && !op_at(p, 0, ")") && !op_at(p, 0, ";"))
                p->pos++;
        } else {
            return;
        }
    }
}

static void free_scope(scope_t *sc)
{
    if (sc)
        free(sc->refs);
    free(sc);
}

/* One SELECT (or VALUES): its scope, for ORDER BY, the caller frees. */
static scope_t *parse_select_core(parser_t *p, const scope_t *parent)
{
    scope_t *sc = sql_calloc(1, sizeof *sc);
    positions_t subqueries = {0};
    expr_t x;
    if (!sc) {
        no_memory(p);
        return NULL;
    }
    sc->parent = parent;
    if (accept_word(p, "values")) {
        do {
            expect_op(p, "(");
            do
                parse_expr_value(p, sc, &x);
            while (accept_op(p, ","));
            expect_op(p, ")");
        } while (accept_op(p, ","));
        return sc;
    }
    expect_word(p, "select");
    skip_select_list(p, &subqueries);
    if (accept_word(p, "from"))
        parse_from_list(p, sc);
    size_t resume = p->pos;
    for (size_t i = 0; i < subqueries.n && !p->failed; i++) {
        p->pos = subqueries.v[i];
        parse_subquery(p, sc);
    }
    free(subqueries.v);
    p->pos = resume;
    if (accept_word(p, "where"))
        parse_condition(p, sc);
    if (accept_word(p, "group")) {
        expect_word(p, "by");
        do
            parse_expr_value(p, sc, &x);
        while (accept_op(p, ","));
    }
    if (accept_word(p, "having"))
        parse_expr_value(p, sc, &x);
    if (accept_word(p, "window")) {
        do {
            if (name_at(p, 0))
                p->pos++;
            else
                fail(p);
            expect_word(p, "as");
            if (op_at(p, 0, "("))
                skip_group(p);
            else
                fail(p);
        } while (accept_op(p, ","));
    }
    return sc;
}

/* WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (query), ...:
 * the bodies are read, the names noted as not being tables. */
static void parse_with(parser_t *p, const scope_t *parent)
{
    expect_word(p, "with");
    accept_word(p, "recursive");
    do {
        if (!name_at(p, 0)) {
            fail(p);
            return;
        }
        names_add(p, &p->ctes, canonical(p, peek(p, 0)));
        p->pos++;
        if (op_at(p, 0, "("))
            skip_group(p);
        expect_word(p, "as");
        accept_word(p, "not");
        accept_word(p, "materialized");
        parse_subquery(p, parent);
    } while (accept_op(p, ","));
}

static void parse_select(parser_t *p, const scope_t *parent)
{
    scope_t *last = NULL;
    size_t cores = 0;
    if (!enter(p))
        return;
    if (word_at(p, 0, "with"))
        parse_with(p, parent);
    for (;;) {
        free_scope(last);
        last = NULL;
        if (op_at(p, 0, "(")) /* (SELECT ...) UNION (SELECT ...) */
            parse_subquery(p, parent);
        else
            last = parse_select_core(p, parent);
        cores++;
        if (p->failed ||
            !(accept_word(p, "union") || accept_word(p, "intersect") ||
              accept_word(p, "except")))
            break;
        if (!accept_word(p, "all"))
            accept_word(p, "distinct");
    }
    if (!p->failed && accept_word(p, "order")) {
        expect_word(p, "by");
        scope_t none = {parent, NULL, 0, 0};
        parse_order_by(p, cores == 1 && last ? last : &none,
                       cores == 1 && last);
    }
    parse_query_tail(p, last);
    free_scope(last);
    leave(p);
}


/* What UPDATE and DELETE share after their tables: [WHERE ...] [ORDER BY
 * ...] [LIMIT ...] [RETURNING ...]; frees the scope. */
static void parse_write_tail(parser_t *p, scope_t *sc)
{
    if (accept_word(p, "where"))
        parse_condition(p, sc);
    if (accept_word(p, "order")) {
        expect_word(p, "by");
        parse_order_by(p, sc, 1);
    }
    parse_query_tail(p, sc);
    if (accept_word(p, "returning"))
        while (p->pos < p->n && !op_at(p, 0, ";"))
            p->pos++;
    free(sc->refs);
}
/* UPDATE [OR x] [ONLY] t [[AS] a] SET ... [FROM ...] [WHERE ...] ... */
static void parse_update(parser_t *p)
{
    scope_t sc = {0};
    expr_t x;
    expect_word(p, "update");
    if (accept_word(p, "or"))
        p->pos++;
    parse_table_ref(p, &sc);
    expect_word(p, "set");
    do {
        if (op_at(p, 0, "("))
            skip_group(p);
        else
            skip_name(p);
        expect_op(p, "=");
        parse_expr_value(p, &sc, &x);
    } while (accept_op(p, ","));
    if (accept_word(p, "from"))
        parse_from_list(p, &sc);
    parse_write_tail(p, &sc);
}

/* DELETE FROM [ONLY] t [[AS] a] [USING ...] [WHERE ...] ... */
static void parse_delete(parser_t *p)
{
    scope_t sc = {0};
    expect_word(p, "delete");
    expect_word(p, "from");
    parse_table_ref(p, &sc);
    if (accept_word(p, "using"))
        parse_from_list(p, &sc);
    parse_write_tail(p, &sc);
}

/* INSERT|REPLACE [OR x] INTO t [AS a] [(columns)] query [ON ...]: only the
 * query reads tables. */
static void parse_insert(parser_t *p)
{
    p->pos++;
    if (accept_word(p, "or"))
        p->pos++;
    expect_word(p, "into");
    if (!skip_name(p))
        return;
    if (accept_word(p, "as")) {
        if (name_at(p, 0))
            p->pos++;
        else
            fail(p);
    }
    if (op_at(p, 0, "(") && !query_at(p, 1))
        skip_group(p);
    if (accept_word(p, "default")) {
        expect_word(p, "values");
    } else if (query_at(p, 0) || op_at(p, 0, "(")) {
        parse_select(p, NULL);
    } else {
        fail(p);
    }
    if (word_at(p, 0, "on") || word_at(p, 0, "returning"))
        while (p->pos < p->n && !op_at(p, 0, ";"))
            p->pos++;
}

static void parse_statement(parser_t *p)
{
    if (word_at(p, 0, "with"))
        parse_with(p, NULL);
    if (query_at(p, 0) || op_at(p, 0, "("))
        parse_select(p, NULL);
    else if (word_at(p, 0, "insert") || word_at(p, 0, "replace"))
        parse_insert(p);
    else if (word_at(p, 0, "update"))
        parse_update(p);
    else if (word_at(p, 0, "delete"))
        parse_delete(p);
    else
        fail(p);
    while (accept_op(p, ";"))
        ;
    if (p->pos < p->n) /* something it did not read */
        fail(p);
}

static void access_clear(plumb_sql_access_t *a)
{
    free(a->table);
    for (size_t i = 0; i < a->n_eq; i++)
        free(a->eq[i]);
    for (size_t i = 0; i < a->n_range; i++)
        free(a->range[i]);
    for (size_t i = 0; i < a->n_order; i++)
        free(a->order[i]);
    free(a->eq);
    free(a->range);
    free(a->order);
}

void plumb_sql_accesses_free(plumb_sql_access_t *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        access_clear(&a[i]);
    free(a);
}

/* Copies the names of list not in skip into *out, *n. */
static int copy_names(const names_t *list, const names_t *skip, char ***out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    if (list->n == 0)
        return 0;
    char **v = sql_calloc(list->n, sizeof *v);
    if (!v)
        return PLUMB_ENOMEM;
    *out = v;
    for (size_t i = 0; i < list->n; i++) {
        if (skip && names_has(skip, list->v[i]))
            continue;
        if (!(v[*n] = sql_strdup(list->v[i])))
            return PLUMB_ENOMEM;
        (*n)++;
    }
    return 0;
}

int plumb_sql_accesses(const char *sql, plumb_sql_access_t **out, size_t *n)
{
    if (!sql || !out || !n)
        return PLUMB_EINVAL;
    *out = NULL;
    *n = 0;
    toks_t toks = {0};
    parser_t p = {0};
    plumb_sql_access_t *a = NULL;
    size_t n_a = 0;
    int err = plumb__sql_lex(sql, strlen(sql), &toks);
    if (err)
        goto out;
    p.sql = sql;
    p.t = toks.v;
    p.n = toks.n;
    parse_statement(&p);
    if (p.oom) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    if (p.failed || p.n_acc == 0)
        goto out;
    a = sql_calloc(p.n_acc, sizeof *a);
    if (!a) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    for (; n_a < p.n_acc; n_a++) {
        const access_build_t *b = &p.acc[n_a];
        plumb_sql_access_t *o = &a[n_a];
        if (!(o->table = sql_strdup(b->table)) ||
            (err = copy_names(&b->eq, NULL, &o->eq, &o->n_eq)) ||
            (err = copy_names(&b->range, &b->eq, &o->range, &o->n_range)) ||
            (err = copy_names(&b->order, NULL, &o->order, &o->n_order))) {
            n_a++;
            err = PLUMB_ENOMEM;
            goto out;
        }
    }
    *out = a;
    *n = n_a;
    a = NULL;
out:
    plumb_sql_accesses_free(a, n_a);
    for (size_t i = 0; i < p.n_strings; i++)
        free(p.strings[i]);
    free(p.strings);
    for (size_t i = 0; i < p.n_acc; i++) {
        free(p.acc[i].eq.v);
        free(p.acc[i].range.v);
        free(p.acc[i].order.v);
    }
    free(p.acc);
    free(p.facts);
    free(p.ctes.v);
    free(toks.v);
    return err;
}
