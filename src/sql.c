/* sql.c: what a SQL statement's text says once its values are taken out:
 * its fingerprint (the shape that stays when the values change), its kind,
 * and the batched form of a statement run once per value, all written from
 * its tokens (sql_token.c). The tables and columns it reaches are
 * sql_access.c's, the indexes worth trying sql_index.c's. It does not run
 * statements, read plans or try indexes (sql_db.c, sql_plan.c,
 * sql_trial.c), nor decide what is a finding (sql_analysis.c).
 *
 * The fingerprint writes the tokens back with one deterministic spacing:
 * one space between tokens, except none after "(", ".", "::" and a
 * subscript "["; none before ")", ",", ";", ".", "::" and "]"; none before
 * a subscript "[" after a name, a value, ")" or "]"; and none before "("
 * after a name that is not a keyword (so f(x) and t(a, b) stay together,
 * IN (?) and VALUES (?) do not). Two tokens that would read back as others
 * when written together keep their space ("::" next to another colon, a
 * [name] before "]"), so a fingerprint is its own fingerprint. Trailing
 * ";" go. A "-" or "+" goes into the number after it when it follows an
 * operator, a keyword, "(" or "," (or starts the text): a = -1 and a = 1
 * agree, a - 1 keeps its operator. Literals and placeholders become "?";
 * IN lists of them fold to IN (?), and a VALUES row written like the row
 * before it goes (rows of another shape stay).
 */
#include "plumb.h"
#include "sql.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- fingerprints ------------------------------------------------------- */

static int is_literal(tok_kind_t k)
{
    return k == T_STRING || k == T_BLOB || k == T_NUMBER;
}

/* Whether the token before a sign makes the sign part of a number: an
 * operator, "(", ",", a keyword that is not itself a value, or nothing. */
static int sign_context(const char *s, const toks_t *t, size_t before)
{
    if (before == 0)
        return 1;
    const token_t *p = &t->v[before - 1];
    if (p->kind == T_OP)
        return !tok_is_op(s, p, ")") && !tok_is_op(s, p, "]");
    if (p->kind == T_WORD)
        return plumb__sql_is_keyword(s + p->start, p->len) &&
               !tok_is_word(s, p, "null") && !tok_is_word(s, p, "true") &&
               !tok_is_word(s, p, "false") && !tok_is_word(s, p, "end");
    return 0;
}

/* Two written tokens that read the same. */
static int same_token(const char *s, const token_t *a, const token_t *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == T_VALUE)
        return 1;
    if (a->len != b->len)
        return 0;
    if (a->kind == T_WORD) {
        for (size_t i = 0; i < a->len; i++)
            if (to_lower((unsigned char)s[a->start + i]) !=
                to_lower((unsigned char)s[b->start + i]))
                return 0;
        return 1;
    }
    return memcmp(s + a->start, s + b->start, a->len) == 0;
}

/* A ")" was just written at out->v[close], matching the "(" at open: folds
 * IN (?, ?, ...) to IN (?) and a VALUES tuple equal to the one before it
 * into that one. */
static void fold_group(const char *s, toks_t *out, size_t open)
{
    size_t close = out->n - 1;
    token_t *v = out->v;
    v[close].open = open;
    if (open > 0 && tok_is_word(s, &v[open - 1], "in") && close - open >= 4) {
        int list = 1;
        for (size_t i = open + 1; i < close && list; i++)
            list = (i - open) % 2 ? v[i].kind == T_VALUE
                                  : tok_is_op(s, &v[i], ",");
        if (list && (close - open) % 2 == 0) {
            v[open + 2] = v[close];
            out->n = open + 3;
            return;
        }
    }
    if (open > 0 && tok_is_word(s, &v[open - 1], "values")) {
        v[close].tuple = 1;
    } else if (open > 1 && tok_is_op(s, &v[open - 1], ",") &&
               v[open - 2].kind == T_OP && v[open - 2].tuple) {
        size_t prev_close = open - 2, prev_open = v[prev_close].open;
        size_t len = close - open;
        int same = prev_close - prev_open == len;
        for (size_t i = 0; i <= len && same; i++)
            same = same_token(s, &v[prev_open + i], &v[open + i]);
        if (same)
            out->n = open - 1;
        else
            v[close].tuple = 1;
    }
}

typedef struct {
    toks_t out;
    unsigned n_literals, n_placeholders;
} shape_t;

/* The written tokens of sql: values as T_VALUE, lists folded. */
static int shape_build(const char *s, shape_t *sh)
{
    toks_t in = {0};
    size_t *opens = NULL, n_opens = 0, cap_opens = 0;
    int err = plumb__sql_lex(s, strlen(s), &in);
    if (err)
        goto out;
    for (size_t i = 0; i < in.n; i++) {
        token_t t = in.v[i];
        if (is_literal(t.kind) || t.kind == T_PARAM) {
            if (t.kind == T_PARAM) {
                sh->n_placeholders++;
            } else {
                sh->n_literals++;
                size_t last = sh->out.n;
                if (t.kind == T_NUMBER && last > 0 &&
                    (tok_is_op(s, &sh->out.v[last - 1], "-") ||
                     tok_is_op(s, &sh->out.v[last - 1], "+")) &&
                    sign_context(s, &sh->out, last - 1))
                    sh->out.n--;
            }
            t.kind = T_VALUE;
        }
        if ((err = toks_push(&sh->out, t.kind, t.start, t.len)))
            goto out;
        if (tok_is_op(s, &t, "(")) {
            if ((err = grow((void **)&opens, &cap_opens, n_opens + 1,
                            sizeof *opens)))
                goto out;
            opens[n_opens++] = sh->out.n - 1;
        } else if (tok_is_op(s, &t, ")") && n_opens > 0) {
            fold_group(s, &sh->out, opens[--n_opens]);
        }
    }
    while (sh->out.n > 0 && tok_is_op(s, &sh->out.v[sh->out.n - 1], ";"))
        sh->out.n--;
out:
    free(in.v);
    free(opens);
    return err;
}

static int colon_op(const char *s, const token_t *t)
{
    return t->kind == T_OP && (tok_is_op(s, t, ":") || tok_is_op(s, t, "::"));
}

/* The spacing rule of the file comment. An "[" or "]" operator is a
 * subscript (a quoted name is a T_QIDENT). Where two tokens written
 * together would read back as others, they keep their space: "::" next to
 * another colon, a [name] before a "]". */
static int space_between(const char *s, const token_t *prev, const token_t *cur)
{
    if (tok_is_op(s, prev, "(") || tok_is_op(s, prev, ".") ||
        tok_is_op(s, prev, "["))
        return 0;
    if (tok_is_op(s, prev, "::") && !colon_op(s, cur))
        return 0;
    if (prev->kind == T_QIDENT && s[prev->start] == '[' &&
        tok_is_op(s, cur, "]"))
        return 1; /* [a]] would read back as one name */
    if (tok_is_op(s, cur, ")") || tok_is_op(s, cur, ",") ||
        tok_is_op(s, cur, ";") || tok_is_op(s, cur, ".") ||
        tok_is_op(s, cur, "]"))
        return 0;
    if (tok_is_op(s, cur, "[")) /* a[1], f(x)[1], a[1][2]; not , [1] */
        return !(prev->kind == T_WORD || prev->kind == T_QIDENT ||
                 prev->kind == T_VALUE || tok_is_op(s, prev, ")") ||
                 tok_is_op(s, prev, "]"));
    if (tok_is_op(s, cur, "::") && !colon_op(s, prev))
        return 0;
    if (tok_is_op(s, cur, "(") &&
        ((prev->kind == T_WORD &&
          !plumb__sql_is_keyword(s + prev->start, prev->len)) ||
         prev->kind == T_QIDENT))
        return 0;
    return 1;
}

static size_t token_text(const char *s, const token_t *t, char *dst)
{
    const char *src = t->kind == T_VALUE ? "?"
                      : t->kind == T_RAW ? t->raw
                                         : s + t->start;
    size_t len = t->kind == T_VALUE ? 1
                 : t->kind == T_RAW ? strlen(t->raw)
                                    : t->len;
    if (dst) {
        for (size_t i = 0; i < len; i++)
            dst[i] = t->kind == T_WORD ? (char)to_lower((unsigned char)src[i])
                                       : src[i];
    }
    return len;
}

/* Writes the tokens with the spacing rule; *out is malloc'd. */
static int render(const char *s, const token_t *v, size_t n, char **out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += token_text(s, &v[i], NULL) +
               (i > 0 && space_between(s, &v[i - 1], &v[i]));
    char *text = sql_malloc(len + 1);
    if (!text)
        return PLUMB_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && space_between(s, &v[i - 1], &v[i]))
            text[at++] = ' ';
        at += token_text(s, &v[i], text + at);
    }
    text[at] = '\0';
    *out = text;
    return 0;
}

static plumb_sql_kind_t kind_of_word(const char *s, const token_t *t)
{
    if (tok_is_word(s, t, "select") || tok_is_word(s, t, "values"))
        return PLUMB_SQL_SELECT;
    if (tok_is_word(s, t, "insert") || tok_is_word(s, t, "replace"))
        return PLUMB_SQL_INSERT;
    if (tok_is_word(s, t, "update"))
        return PLUMB_SQL_UPDATE;
    if (tok_is_word(s, t, "delete"))
        return PLUMB_SQL_DELETE;
    return PLUMB_SQL_OTHER;
}

/* The kind of the first word; after WITH, of the first statement word
 * outside parentheses (the CTEs' bodies are inside them). */
static plumb_sql_kind_t statement_kind(const char *s, const toks_t *t)
{
    size_t i = 0;
    while (i < t->n && t->v[i].kind != T_WORD)
        i++;
    if (i == t->n)
        return PLUMB_SQL_OTHER;
    if (!tok_is_word(s, &t->v[i], "with"))
        return kind_of_word(s, &t->v[i]);
    size_t depth = 0;
    for (i++; i < t->n; i++) {
        if (tok_is_op(s, &t->v[i], "("))
            depth++;
        else if (tok_is_op(s, &t->v[i], ")") && depth > 0)
            depth--;
        else if (depth == 0 && t->v[i].kind == T_WORD &&
                 kind_of_word(s, &t->v[i]) != PLUMB_SQL_OTHER)
            return kind_of_word(s, &t->v[i]);
    }
    return PLUMB_SQL_OTHER;
}

int plumb_sql_fingerprint(const char *sql, plumb_sql_fingerprint_t *out)
{
    if (!sql || !out)
        return PLUMB_EINVAL;
    memset(out, 0, sizeof *out);
    shape_t sh = {0};
    int err = shape_build(sql, &sh);
    if (!err)
        err = render(sql, sh.out.v, sh.out.n, &out->text);
    if (!err) {
        out->id = fnv1a(out->text, strlen(out->text), FNV_OFFSET);
        out->kind = statement_kind(sql, &sh.out);
        out->n_literals = sh.n_literals;
        out->n_placeholders = sh.n_placeholders;
    }
    free(sh.out.v);
    return err;
}

void plumb_sql_fingerprint_close(plumb_sql_fingerprint_t *fp)
{
    if (!fp)
        return;
    free(fp->text);
    memset(fp, 0, sizeof *fp);
}

const char *plumb_sql_kind_name(plumb_sql_kind_t kind)
{
    switch (kind) {
    case PLUMB_SQL_OTHER:
        return "other";
    case PLUMB_SQL_SELECT:
        return "select";
    case PLUMB_SQL_INSERT:
        return "insert";
    case PLUMB_SQL_UPDATE:
        return "update";
    case PLUMB_SQL_DELETE:
        return "delete";
    }
    return "?";
}

/* ---- the batched form --------------------------------------------------- */

/* Words that may follow a lone value or a column and end its operand. */
static const char *const operand_enders[] = {
    "and",   "or",     "order",     "group",     "limit",  "offset", "having",
    "union", "except", "intersect", "returning", "then",   "when",   "else",
    "end",   "on",     "where",     "join",      "left",   "right",  "inner",
    "cross", "full",   "natural",   "for",       "window", "fetch",
};

/* Whether the token at i (or the end, i == n) ends an operand. */
static int ends_operand(const char *s, const token_t *v, size_t n, size_t i)
{
    if (i >= n)
        return 1;
    if (tok_is_op(s, &v[i], ")") || tok_is_op(s, &v[i], ",") ||
        tok_is_op(s, &v[i], ";"))
        return 1;
    for (size_t k = 0; k < sizeof operand_enders / sizeof *operand_enders; k++)
        if (tok_is_word(s, &v[i], operand_enders[k]))
            return 1;
    return 0;
}

/* Whether the token before index i (none when i == 0) starts an operand. */
static int starts_operand(const char *s, const token_t *v, size_t i)
{
    if (i == 0)
        return 1;
    const token_t *p = &v[i - 1];
    return tok_is_op(s, p, "(") || tok_is_op(s, p, ",") ||
           tok_is_word(s, p, "where") || tok_is_word(s, p, "and") ||
           tok_is_word(s, p, "or") || tok_is_word(s, p, "on") ||
           tok_is_word(s, p, "when") || tok_is_word(s, p, "having") ||
           tok_is_word(s, p, "then") || tok_is_word(s, p, "else");
}

/* A column reference name(.name)* ending at index last: its first index,
 * or SIZE_MAX when the tokens there are not one. */
static size_t column_back(const char *s, const token_t *v, size_t last)
{
    if (!is_name(s, &v[last]))
        return SIZE_MAX;
    size_t first = last;
    while (first >= 2 && tok_is_op(s, &v[first - 1], ".") &&
           is_name(s, &v[first - 2]))
        first -= 2;
    return first;
}

/* A column reference starting at index first: one past its end, or
 * SIZE_MAX. */
static size_t column_forward(const char *s, const token_t *v, size_t n,
                             size_t first)
{
    if (first >= n || !is_name(s, &v[first]))
        return SIZE_MAX;
    size_t end = first + 1;
    while (end + 1 < n && tok_is_op(s, &v[end], ".") && is_name(s, &v[end + 1]))
        end += 2;
    return end;
}

int plumb_sql_batched(const char *sql, char **out)
{
    if (!sql || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    shape_t sh = {0};
    token_t *b = NULL;
    int err = shape_build(sql, &sh);
    if (err)
        goto out;
    const token_t *v = sh.out.v;
    size_t n = sh.out.n;
    /* Assignments of SET (at the depth SET was seen) are not comparisons. */
    size_t depth = 0, set_depth = SIZE_MAX;
    size_t found = 0, col_first = SIZE_MAX, col_end = 0, eq_first = 0,
           eq_end = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok_is_op(sql, &v[i], "(")) {
            depth++;
        } else if (tok_is_op(sql, &v[i], ")")) {
            if (depth > 0)
                depth--;
            if (depth < set_depth)
                set_depth = SIZE_MAX;
        } else if (tok_is_word(sql, &v[i], "set")) {
            set_depth = depth;
        } else if (depth == set_depth &&
                   (tok_is_word(sql, &v[i], "where") ||
                    tok_is_word(sql, &v[i], "from") ||
                    tok_is_word(sql, &v[i], "returning"))) {
            set_depth = SIZE_MAX;
        }
        if (!(tok_is_op(sql, &v[i], "=") || tok_is_op(sql, &v[i], "==")) ||
            i == 0 || i + 1 >= n || depth == set_depth)
            continue;
        int value_right =
            v[i + 1].kind == T_VALUE && ends_operand(sql, v, n, i + 2);
        int value_left =
            v[i - 1].kind == T_VALUE && starts_operand(sql, v, i - 1);
        if (!value_right && !value_left)
            continue;
        found++;
        col_first = SIZE_MAX;
        if (value_right) {
            size_t first = column_back(sql, v, i - 1);
            if (first != SIZE_MAX && starts_operand(sql, v, first)) {
                col_first = first;
                col_end = i;
                eq_first = first;
                eq_end = i + 2;
            }
        } else {
            size_t end = column_forward(sql, v, n, i + 1);
            if (end != SIZE_MAX && ends_operand(sql, v, n, end)) {
                col_first = i + 1;
                col_end = end;
                eq_first = i - 1;
                eq_end = end;
            }
        }
    }
    if (found != 1 || col_first == SIZE_MAX) {
        err = PLUMB_ENOTFOUND;
        goto out;
    }
    size_t nb = 0;
    b = sql_malloc((n + 1) * sizeof *b);
    if (!b) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < eq_first; i++)
        b[nb++] = v[i];
    for (size_t i = col_first; i < col_end; i++)
        b[nb++] = v[i];
    b[nb++] = (token_t){T_RAW, 0, 0, "IN (?, ?, ...)", 0, 0};
    for (size_t i = eq_end; i < n; i++)
        b[nb++] = v[i];
    err = render(sql, b, nb, out);
out:
    free(b);
    free(sh.out.v);
    return err;
}
