/* sql.h: what the modules that read SQL text share (sql_token.c's tokens,
 * read by sql.c's fingerprint and batched form, sql_access.c's access
 * reader and sql_index.c's index candidates), and the switch that makes an
 * allocation of theirs fail, so that a test can walk every out-of-memory
 * path. Tokens point into the statement they were read from and own
 * nothing; a toks_t's array is the caller's to free(). */
#ifndef PLUMB_SQL_H
#define PLUMB_SQL_H

#include "plumb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Makes the nth allocation of the SQL text modules from now fail (1: the
 * next one); 0 turns it off. Returns how many allocations the previous
 * setting still had to wait (0: it fired, or was off). Not thread-safe:
 * for tests only. */
unsigned long plumb__sql_fail_alloc(unsigned long nth);

/* 1 when the allocation about to be made is the one set to fail. */
int plumb__sql_alloc_fails(void);

static inline void *sql_malloc(size_t size)
{
    return plumb__sql_alloc_fails() ? NULL : malloc(size);
}

static inline void *sql_calloc(size_t n, size_t size)
{
    return plumb__sql_alloc_fails() ? NULL : calloc(n, size);
}

static inline void *sql_realloc(void *p, size_t size)
{
    return plumb__sql_alloc_fails() ? NULL : realloc(p, size);
}

static inline char *sql_strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = sql_malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

/* Grows the array *v of *cap elements of elem bytes, doubling, to hold
 * need: 0, or PLUMB_ENOMEM with *v as it was. */
static inline int grow(void **v, size_t *cap, size_t need, size_t elem)
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

/* ---- characters --------------------------------------------------------- */

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline unsigned char to_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* 1 when the len bytes at s are word, ignoring ASCII case. */
static inline int same_word(const char *s, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len && word[i]; i++)
        if (to_lower((unsigned char)s[i]) != (unsigned char)word[i])
            return 0;
    return i == len && word[i] == '\0';
}

#define FNV_OFFSET UINT64_C(14695981039346656037)

static inline uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* Keywords: words that can never be a column or table name here, after
 * which a value starts (so a sign is a sign), and before which "(" is not a
 * call. A word that is both (left, right) is read as a call by the access
 * reader when "(" follows. 1 when the len bytes at s are one. */
int plumb__sql_is_keyword(const char *s, size_t len);

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

/* Splits s (n bytes) into tokens appended to *out (sql_token.c's opening
 * comment says how); comments and white space go. 0 or PLUMB_ENOMEM. */
int plumb__sql_lex(const char *s, size_t n, toks_t *out);

static inline int toks_push(toks_t *t, tok_kind_t kind, size_t start,
                            size_t len)
{
    if (grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v))
        return PLUMB_ENOMEM;
    t->v[t->n++] = (token_t){kind, start, len, NULL, 0, 0};
    return 0;
}

static inline int tok_is_op(const char *s, const token_t *t, const char *op)
{
    size_t len = strlen(op);
    return t->kind == T_OP && t->len == len &&
           memcmp(s + t->start, op, len) == 0;
}

static inline int tok_is_word(const char *s, const token_t *t,
                              const char *word)
{
    return t->kind == T_WORD && same_word(s + t->start, t->len, word);
}

/* A name: a word that is not a keyword, or a quoted identifier. */
static inline int is_name(const char *s, const token_t *t)
{
    return (t->kind == T_WORD &&
            !plumb__sql_is_keyword(s + t->start, t->len)) ||
           t->kind == T_QIDENT;
}

#endif
