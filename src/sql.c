/* sql.c: the text of SQL statements. It owns what can be learnt from a
 * statement's characters alone: its fingerprint (the shape that stays when
 * the values change) and kind, the tables and columns its WHERE, JOIN ... ON
 * and ORDER BY reach, the indexes worth trying for them, and the batched
 * form of a statement run once per value. It does not run statements, read
 * plans or try indexes (sql_db.c, sql_plan.c, sql_trial.c), nor decide what
 * is a finding (sql_findings.c).
 *
 * One tokenizer serves every function. It knows the quoting of SQLite and
 * PostgreSQL (and the common MySQL and SQL Server forms): '..' with ''
 * escapes, E'..' with backslash escapes, X'..' and B'..' blobs, N'..',
 * $$..$$ and $tag$..$tag$, "..", `..` and [..] identifiers, -- and
 * non-nesting block comments, numbers (1, 1.5, .5, 1e-3, 0x1F) and the
 * placeholders of every DB-API paramstyle (?, ?NNN, :name, @name, $name, $1,
 * %s, %(name)s). "::" is PostgreSQL's cast, never a :name. "[" quotes an
 * identifier where a name may start (after a keyword, an operator, "(",
 * "," or "."), and is a subscript after a name, a value or ")"; inside a
 * subscript (or ARRAY[...]) "[" is always another one and ":" is
 * PostgreSQL's slice, not a placeholder. Anything
 * unterminated ends at the end of the text: no input is refused.
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
 *
 * The access reader is a small recursive descent over the same tokens. It
 * reads SELECT (compounds, subqueries in FROM, WHERE and the select list,
 * WITH), UPDATE, DELETE and the SELECT of INSERT ... SELECT. A statement it
 * cannot read whole (another statement, a syntax it does not know, nesting
 * past MAX_DEPTH) yields no access rather than a guess.
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

/* ---- allocation ------------------------------------------------------- */

/* Tests make the nth allocation from now fail (plumb__sql_fail_alloc) to
 * walk every out-of-memory path; 0, the default, fails none. */
static unsigned long alloc_countdown;

unsigned long plumb__sql_fail_alloc(unsigned long nth)
{
    unsigned long left = alloc_countdown;
    alloc_countdown = nth;
    return left;
}

static int alloc_fails(void)
{
    return alloc_countdown && --alloc_countdown == 0;
}

static void *sql_malloc(size_t size)
{
    return alloc_fails() ? NULL : malloc(size);
}

static void *sql_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : calloc(n, size);
}

static void *sql_realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : realloc(p, size);
}

static char *sql_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = sql_malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

/* ---- characters --------------------------------------------------------- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Bytes past ASCII are letters: identifiers may be UTF-8. */
static int is_ident_start(unsigned char c)
{
    return is_alpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_char(unsigned char c)
{
    return is_ident_start(c) || is_digit(c) || c == '$';
}

static unsigned char to_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* 1 when the len bytes at s are word, ignoring ASCII case. */
static int same_word(const char *s, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i]; i++)
        if (to_lower((unsigned char)s[i]) != (unsigned char)word[i])
            return 0;
    return i == len && word[i] == '\0';
}

static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

#define FNV_OFFSET UINT64_C(14695981039346656037)

/* Keywords: words that can never be a column or table name here, after
 * which a value starts (so a sign is a sign), and before which "(" is not a
 * call. A word that is both (left, right) is read as a call by the access
 * reader when "(" follows. */
static const char *const keywords[] = {
    "all",       "and",         "any",      "as",        "asc",
    "between",   "by",          "case",     "cross",     "default",
    "delete",    "desc",        "distinct", "else",      "end",
    "escape",    "except",      "exists",   "false",     "fetch",
    "for",       "from",        "full",     "glob",      "group",
    "having",    "ilike",       "in",       "indexed",   "inner",
    "insert",    "intersect",   "into",     "is",        "isnull",
    "join",      "lateral",     "left",     "like",      "limit",
    "match",     "natural",     "not",      "notnull",   "null",
    "offset",    "on",          "or",       "order",     "outer",
    "recursive", "regexp",      "replace",  "returning", "right",
    "select",    "set",         "similar",  "some",      "straight_join",
    "table",     "tablesample", "then",     "true",      "union",
    "update",    "using",       "values",   "when",      "where",
    "window",    "with",
};

static int is_keyword(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (same_word(s, len, keywords[i]))
            return 1;
    return 0;
}

/* ---- tokens ------------------------------------------------------------- */

typedef enum {
    T_WORD,   /* unquoted name or keyword */
    T_QIDENT, /* "name", `name`, [name] */
    T_STRING, /* '..', E'..', N'..', $$..$$ */
    T_BLOB,   /* X'..', B'..' */
    T_NUMBER,
    T_PARAM, /* a placeholder */
    T_OP,    /* an operator or punctuation */
    T_VALUE, /* fingerprint: a literal or placeholder, written "?" */
    T_RAW    /* batched form: raw, written as it is */
} tok_kind_t;

typedef struct {
    tok_kind_t kind;
    size_t start, len; /* the token's bytes in the statement */
    const char *raw;   /* T_RAW: its text */
    size_t open;       /* fingerprint ")": index of its "(" */
    int tuple;         /* fingerprint ")": it closes a VALUES tuple */
} token_t;

typedef struct {
    token_t *v;
    size_t n, cap;
} toks_t;

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / elem)
            return PLUMB_ENOMEM;
        cap2 *= 2;
    }
    void *p = sql_realloc(*v, cap2 * elem);
    if (!p)
        return PLUMB_ENOMEM;
    *v = p;
    *cap = cap2;
    return 0;
}

static int toks_push(toks_t *t, tok_kind_t kind, size_t start, size_t len)
{
    if (grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v))
        return PLUMB_ENOMEM;
    t->v[t->n++] = (token_t){kind, start, len, NULL, 0, 0};
    return 0;
}

static int tok_is_op(const char *s, const token_t *t, const char *op)
{
    size_t len = strlen(op);
    return t->kind == T_OP && t->len == len &&
           memcmp(s + t->start, op, len) == 0;
}

static int tok_is_word(const char *s, const token_t *t, const char *word)
{
    return t->kind == T_WORD && same_word(s + t->start, t->len, word);
}

/* Operators of more than one character, longest first where one starts
 * another. */
static const char *const long_ops[] = {
    "->>", "#>>", "!~*", "<=>", "<>", "<=", ">=", "!=", "==", "||", "::",
    "->",  "#>",  "@>",  "<@",  "<<", ">>", "&&", "~*", "!~", "~~",
};

/* End of a quoted run opened at s[i] by quote, where a doubled quote is one
 * character of the text and, with backslash, \ escapes the next byte. */
static size_t quoted_end(const char *s, size_t n, size_t i, char quote,
                         int backslash)
{
    size_t j = i + 1;
    while (j < n) {
        if (backslash && s[j] == '\\' && j + 1 < n) {
            j += 2;
        } else if (s[j] == quote) {
            if (j + 1 < n && s[j + 1] == quote)
                j += 2;
            else
                return j + 1;
        } else {
            j++;
        }
    }
    return n;
}

/* "[" quotes a name where a name may start: first, after a keyword, or
 * after an operator other than a closing ")" or "]". */
static int bracket_quotes(const char *s, const toks_t *t)
{
    if (t->n == 0)
        return 1;
    const token_t *prev = &t->v[t->n - 1];
    switch (prev->kind) {
    case T_WORD:
        return is_keyword(s + prev->start, prev->len);
    case T_OP:
        return !tok_is_op(s, prev, ")") && !tok_is_op(s, prev, "]");
    default:
        return 0;
    }
}

/* Splits s (n bytes) into tokens; comments and white space go. */
static int lex(const char *s, size_t n, toks_t *out)
{
    size_t i = 0, subscripts = 0; /* open subscript brackets */
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t j = i + 1;
        tok_kind_t kind = T_OP;
        if (is_space(c)) {
            i++;
            continue;
        }
        if (c == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && s[i + 1] == '*') {
            const char *end = strstr(s + i + 2, "*/");
            i = end ? (size_t)(end - s) + 2 : n;
            continue;
        }
        if (c == '\'') {
            kind = T_STRING;
            j = quoted_end(s, n, i, '\'', 0);
        } else if (c == '"' || c == '`') {
            kind = T_QIDENT;
            j = quoted_end(s, n, i, (char)c, 0);
        } else if (c == '[' && subscripts == 0 && bracket_quotes(s, out)) {
            kind = T_QIDENT;
            j = i + 1;
            while (j < n && s[j] != ']')
                j++;
            while (j + 1 < n && s[j + 1] == ']') { /* ]] is one ] */
                j += 2;
                while (j < n && s[j] != ']')
                    j++;
            }
            j = j < n ? j + 1 : n;
        } else if (is_digit(c) ||
                   (c == '.' && is_digit((unsigned char)s[i + 1]))) {
            kind = T_NUMBER;
            if (c == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
                is_hex((unsigned char)s[i + 2])) {
                j = i + 2;
                while (is_hex((unsigned char)s[j]))
                    j++;
            } else {
                j = i;
                while (is_digit((unsigned char)s[j]))
                    j++;
                if (s[j] == '.') {
                    j++;
                    while (is_digit((unsigned char)s[j]))
                        j++;
                }
                if (s[j] == 'e' || s[j] == 'E') {
                    size_t k = j + 1;
                    if (s[k] == '+' || s[k] == '-')
                        k++;
                    if (is_digit((unsigned char)s[k])) {
                        j = k;
                        while (is_digit((unsigned char)s[j]))
                            j++;
                    }
                }
            }
        } else if (is_ident_start(c)) {
            kind = T_WORD;
            while (is_ident_char((unsigned char)s[j]))
                j++;
            if (j == i + 1 && s[j] == '\'') { /* E'..', X'..', B'..', N'..' */
                switch (to_lower(c)) {
                case 'e':
                    kind = T_STRING;
                    j = quoted_end(s, n, j, '\'', 1);
                    break;
                case 'x':
                case 'b':
                    kind = T_BLOB;
                    j = quoted_end(s, n, j, '\'', 0);
                    break;
                case 'n':
                    kind = T_STRING;
                    j = quoted_end(s, n, j, '\'', 0);
                    break;
                default:
                    break;
                }
            }
        } else if (c == '?') {
            kind = T_PARAM;
            while (is_digit((unsigned char)s[j]))
                j++;
        } else if (c == '[') {
            subscripts++;
        } else if (c == ']') {
            subscripts -= subscripts > 0;
        } else if (c == ':') {
            if (s[j] == ':') {
                j++;
            } else if (subscripts == 0 &&
                       (is_ident_start((unsigned char)s[j]) ||
                        is_digit((unsigned char)s[j]))) {
                kind = T_PARAM;
                while (is_ident_char((unsigned char)s[j]))
                    j++;
            }
        } else if (c == '@' && is_ident_start((unsigned char)s[j])) {
            kind = T_PARAM;
            while (is_ident_char((unsigned char)s[j]))
                j++;
        } else if (c == '$' && is_digit((unsigned char)s[j])) {
            kind = T_PARAM;
            while (is_digit((unsigned char)s[j]))
                j++;
        } else if (c == '$' &&
                   (s[j] == '$' || is_ident_start((unsigned char)s[j]))) {
            size_t k = j;
            while (k < n && s[k] != '$' &&
                   (is_ident_start((unsigned char)s[k]) ||
                    is_digit((unsigned char)s[k])))
                k++;
            if (s[k] == '$') { /* $tag$ ... $tag$ */
                size_t tag_len = k + 1 - i;
                kind = T_STRING;
                j = k + 1;
                while (j < n && !(s[j] == '$' && n - j >= tag_len &&
                                  memcmp(s + j, s + i, tag_len) == 0))
                    j++;
                j = j < n ? j + tag_len : n;
            } else {
                kind = T_PARAM; /* $name */
                j = k;
                while (is_ident_char((unsigned char)s[j]))
                    j++;
            }
        } else if (c == '%') {
            if (s[j] == 's' && !is_ident_char((unsigned char)s[j + 1])) {
                kind = T_PARAM;
                j++;
            } else if (s[j] == '(') {
                size_t k = j + 1;
                while (k < n && s[k] != ')')
                    k++;
                if (k < n && s[k + 1] == 's') {
                    kind = T_PARAM;
                    j = k + 2;
                }
            } else if (s[j] == '%') {
                j++; /* %% is a % in pyformat text */
            }
        } else {
            for (size_t k = 0; k < sizeof long_ops / sizeof *long_ops; k++) {
                size_t len = strlen(long_ops[k]);
                if (strncmp(s + i, long_ops[k], len) == 0) {
                    j = i + len;
                    break;
                }
            }
        }
        if (toks_push(out, kind, i, j - i))
            return PLUMB_ENOMEM;
        i = j;
    }
    return 0;
}

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
        return is_keyword(s + p->start, p->len) && !tok_is_word(s, p, "null") &&
               !tok_is_word(s, p, "true") && !tok_is_word(s, p, "false") &&
               !tok_is_word(s, p, "end");
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
    int err = lex(s, strlen(s), &in);
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
        ((prev->kind == T_WORD && !is_keyword(s + prev->start, prev->len)) ||
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

static int is_name(const char *s, const token_t *t)
{
    return (t->kind == T_WORD && !is_keyword(s + t->start, t->len)) ||
           t->kind == T_QIDENT;
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

/* ---- reading accesses --------------------------------------------------- */

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

/* A type after :: or CAST ... AS: a name, maybe qualified, with its
 * modifiers, array brackets and the words of the SQL types of several. */
static void parse_type(parser_t *p)
{
    if (!name_at(p, 0)) {
        fail(p);
        return;
    }
    p->pos++;
    while (op_at(p, 0, ".") && name_at(p, 1))
        p->pos += 2;
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
               (!is_keyword(s + t->start, t->len) || keyword_call(s, t))) {
        parse_call(p, sc, x);
    } else if (is_keyword(s + t->start, t->len)) {
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
        if (op_at(p, 0, "(")) {
            skip_group(p);
        } else if (name_at(p, 0)) {
            p->pos++;
            while (op_at(p, 0, ".") && name_at(p, 1))
                p->pos += 2;
        } else {
            fail(p);
        }
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
    if (!name_at(p, 0)) {
        fail(p);
        return;
    }
    p->pos++;
    while (op_at(p, 0, ".") && name_at(p, 1))
        p->pos += 2;
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
    int err = lex(sql, strlen(sql), &toks);
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

/* ---- index candidates --------------------------------------------------- */

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
