/* sql_token.c: the tokens of SQL text, which every reader of statements
 * shares (sql.c's fingerprint and batched form, sql_access.c's access
 * reader), and the switch that makes the allocations of those readers
 * fail, for tests. It does not give tokens a meaning.
 *
 * One tokenizer serves every reader. It knows the quoting of SQLite and
 * PostgreSQL (and the common MySQL and SQL Server forms): '..' with ''
 * escapes, E'..' with backslash escapes, X'..' and B'..' blobs, N'..',
 * $$..$$ and $tag$..$tag$, "..", `..` and [..] identifiers, -- and
 * non-nesting block comments, numbers (1, 1.5, .5, 1e-3, 0x1F) and the
 * placeholders of every DB-API paramstyle (?, ?NNN, :name, @name, $name, $1,
 * %s, %(name)s). "::" is PostgreSQL's cast, never a :name. "[" quotes an
 * identifier where a name may start (after a keyword, an operator, "(",
 * "," or "."), and is a subscript after a name, a value or ")"; inside a
 * subscript (or ARRAY[...]) "[" is always another one and ":" is
 * PostgreSQL's slice, not a placeholder. Anything unterminated ends at the
 * end of the text: no input is refused.
 */
#include "plumb.h"
#include "sql.h"

#include <stdint.h>
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

int plumb__sql_alloc_fails(void)
{
    return alloc_countdown && --alloc_countdown == 0;
}

/* ---- characters --------------------------------------------------------- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
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

/* The keywords of plumb__sql_is_keyword (sql.h). */
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

int plumb__sql_is_keyword(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (same_word(s, len, keywords[i]))
            return 1;
    return 0;
}

/* ---- tokens ------------------------------------------------------------- */

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
        return plumb__sql_is_keyword(s + prev->start, prev->len);
    case T_OP:
        return !tok_is_op(s, prev, ")") && !tok_is_op(s, prev, "]");
    default:
        return 0;
    }
}

int plumb__sql_lex(const char *s, size_t n, toks_t *out)
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

