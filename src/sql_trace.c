/* sql_trace.c: the statements a program sent to its databases, as the
 * tracer inside it wrote them (python/plumb/_sqltrace.py; docs/json.md,
 * "SQL traces"), or as a script of statements lists them (plumb sql
 * analyze). It reads and owns them; what they mean is sql_analysis.c's.
 *
 * The trace is outside input (a file another process wrote): anything that
 * is not one is refused with PLUMB_EPARSE and a sentence naming the field
 * at fault, never a crash or a half-read trace. */
#define _GNU_SOURCE
#include "plumb.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_VERSION 1

typedef struct {
    char *why;
    size_t why_size;
    int err;
} reader_t;

static int refuse(reader_t *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(reader_t *r, int err, const char *fmt, ...)
{
    if (r->err)
        return r->err;
    r->err = err;
    if (r->why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->why_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

static void free_values(plumb_sql_value_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free((char *)v[i].bytes);
        free((char *)v[i].name);
    }
    free(v);
}

void plumb_sql_trace_free(plumb_sql_trace_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_connections; i++) {
        free(t->connections[i].driver);
        free(t->connections[i].target);
        free(t->connections[i].file);
    }
    free(t->connections);
    for (size_t i = 0; i < t->n_statements; i++) {
        plumb_sql_statement_t *s = &t->statements[i];
        free(s->sql);
        free(s->file);
        free(s->func);
        for (size_t j = 0; j < s->n_samples; j++) {
            free_values(s->samples[j].params, s->samples[j].n_params);
            free(s->samples[j].sent);
        }
        free(s->samples);
    }
    free(t->statements);
    free(t->python);
    free(t->command);
    free(t);
}

/* ---- reading the tracer's document ------------------------------------ */

/* A copy of the string at key (absent or null: "" when optional). */
static int read_text(reader_t *r, const json_t *obj, const char *where,
                     const char *key, int optional, char **out)
{
    const json_t *v = json_object_get(obj, key);
    if ((!v || json_is_null(v)) && optional) {
        *out = strdup("");
    } else if (!json_is_string(v)) {
        return refuse(r, PLUMB_EPARSE, "%s: \"%s\" is %s, not a string",
                      where, key, v ? "of another type" : "missing");
    } else {
        *out = strndup(json_string_value(v), json_string_length(v));
    }
    return *out ? 0 : refuse(r, PLUMB_ENOMEM, "out of memory");
}

static int read_int(reader_t *r, const json_t *obj, const char *where,
                    const char *key, int64_t lo, int64_t hi, int optional,
                    int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if ((!v || json_is_null(v)) && optional) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return refuse(r, PLUMB_EPARSE, "%s: \"%s\" is %s, not an integer",
                      where, key, v ? "of another type" : "missing");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return refuse(r, PLUMB_EPARSE, "%s: \"%s\" is %lld, outside "
                                       "[%lld, %lld]",
                      where, key, (long long)x, (long long)lo, (long long)hi);
    *out = (int64_t)x;
    return 0;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One parameter: null, an integer, a real, a string, a boolean (1/0) or
 * {"hex": "..."} (bytes). */
static int read_value(reader_t *r, const json_t *v, const char *where,
                      plumb_sql_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (json_is_null(v)) {
        out->type = PLUMB_SQL_NULL;
    } else if (json_is_boolean(v)) {
        out->type = PLUMB_SQL_INTEGER;
        out->integer = json_is_true(v);
    } else if (json_is_integer(v)) {
        out->type = PLUMB_SQL_INTEGER;
        out->integer = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        out->type = PLUMB_SQL_REAL;
        out->real = json_real_value(v);
    } else if (json_is_string(v)) {
        out->type = PLUMB_SQL_TEXT;
        out->len = json_string_length(v);
        if (!(out->bytes = strndup(json_string_value(v), out->len)))
            return refuse(r, PLUMB_ENOMEM, "out of memory");
    } else if (json_is_object(v) &&
               json_is_string(json_object_get(v, "hex"))) {
        const json_t *h = json_object_get(v, "hex");
        const char *hex = json_string_value(h);
        size_t n = json_string_length(h);
        if (n % 2)
            return refuse(r, PLUMB_EPARSE, "%s: a \"hex\" value of odd "
                                           "length", where);
        char *bytes = malloc(n / 2 + 1);
        if (!bytes)
            return refuse(r, PLUMB_ENOMEM, "out of memory");
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                free(bytes);
                return refuse(r, PLUMB_EPARSE, "%s: a \"hex\" value with "
                                               "a character that is not "
                                               "hexadecimal", where);
            }
            bytes[i] = (char)(hi * 16 + lo);
        }
        out->type = PLUMB_SQL_BLOB;
        out->bytes = bytes;
        out->len = n / 2;
    } else {
        return refuse(r, PLUMB_EPARSE, "%s: a parameter that is not null, "
                                       "a number, a string, a boolean or "
                                       "{\"hex\": ...}", where);
    }
    return 0;
}

static int read_sample(reader_t *r, const json_t *v, const char *where,
                       plumb_sql_sample_t *out)
{
    const json_t *list = json_object_get(v, "params");
    const json_t *named = json_object_get(v, "named");
    const json_t *sent = json_object_get(v, "sent");
    if (!json_is_object(v))
        return refuse(r, PLUMB_EPARSE, "%s: a sample that is not an object",
                      where);
    size_t n = json_is_array(list) ? json_array_size(list)
               : json_is_object(named) ? json_object_size(named)
                                       : 0;
    if (list && !json_is_array(list) && !json_is_null(list))
        return refuse(r, PLUMB_EPARSE, "%s: \"params\" is not a list", where);
    if (named && !json_is_object(named) && !json_is_null(named))
        return refuse(r, PLUMB_EPARSE, "%s: \"named\" is not an object",
                      where);
    if (n && !(out->params = calloc(n, sizeof *out->params)))
        return refuse(r, PLUMB_ENOMEM, "out of memory");
    if (json_is_array(list)) {
        for (size_t i = 0; i < n; i++)
            if (out->n_params++, read_value(r, json_array_get(list, i), where,
                                            &out->params[i]))
                return r->err;
    } else if (json_is_object(named)) {
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)named, key, value)
        {
            plumb_sql_value_t *p = &out->params[out->n_params++];
            if (read_value(r, value, where, p))
                return r->err;
            if (!(p->name = strdup(key)))
                return refuse(r, PLUMB_ENOMEM, "out of memory");
        }
    }
    if (sent && !json_is_null(sent)) {
        if (!json_is_string(sent))
            return refuse(r, PLUMB_EPARSE, "%s: \"sent\" is not a string",
                          where);
        if (!(out->sent = strdup(json_string_value(sent))))
            return refuse(r, PLUMB_ENOMEM, "out of memory");
    }
    return 0;
}

static int read_connection(reader_t *r, const json_t *v, size_t i,
                           plumb_sql_connection_t *c)
{
    char where[64];
    snprintf(where, sizeof where, "connection %zu", i + 1);
    if (!json_is_object(v))
        return refuse(r, PLUMB_EPARSE, "%s is not an object", where);
    if (read_int(r, v, where, "id", 0, INT64_MAX, 0, &c->id) ||
        read_text(r, v, where, "driver", 0, &c->driver) ||
        read_text(r, v, where, "target", 0, &c->target) ||
        read_text(r, v, where, "file", 1, &c->file) ||
        read_int(r, v, where, "line", 0, INT64_MAX, 1, &c->line))
        return r->err;
    return 0;
}

static int read_statement(reader_t *r, const json_t *v, size_t i,
                          const plumb_sql_trace_t *t,
                          plumb_sql_statement_t *s)
{
    char where[64];
    snprintf(where, sizeof where, "statement %zu", i + 1);
    if (!json_is_object(v))
        return refuse(r, PLUMB_EPARSE, "%s is not an object", where);
    int64_t calls = 0, errors = 0, distinct = 0;
    if (read_int(r, v, where, "conn", 0, INT64_MAX, 0, &s->conn) ||
        read_text(r, v, where, "sql", 0, &s->sql) ||
        read_text(r, v, where, "file", 1, &s->file) ||
        read_text(r, v, where, "func", 1, &s->func) ||
        read_int(r, v, where, "line", 0, INT64_MAX, 1, &s->line) ||
        read_int(r, v, where, "calls", 1, INT64_MAX, 0, &calls) ||
        read_int(r, v, where, "errors", 0, INT64_MAX, 1, &errors) ||
        read_int(r, v, where, "total_ns", 0, INT64_MAX, 0, &s->total_ns) ||
        read_int(r, v, where, "min_ns", 0, INT64_MAX, 0, &s->min_ns) ||
        read_int(r, v, where, "max_ns", 0, INT64_MAX, 0, &s->max_ns) ||
        read_int(r, v, where, "rows", -1, INT64_MAX, 1, &s->rows) ||
        read_int(r, v, where, "distinct_params", 0, INT64_MAX, 1, &distinct))
        return r->err;
    s->calls = (uint64_t)calls;
    s->errors = (uint64_t)errors;
    s->distinct_params = (uint64_t)distinct;
    s->many = json_is_true(json_object_get(v, "many"));
    if (errors > calls || s->min_ns > s->max_ns || s->max_ns > s->total_ns)
        return refuse(r, PLUMB_EPARSE, "%s: its counts disagree (errors > "
                                       "calls, or min > max > total)", where);
    int known = 0;
    for (size_t c = 0; c < t->n_connections; c++)
        known |= t->connections[c].id == s->conn;
    if (!known)
        return refuse(r, PLUMB_EPARSE, "%s: connection %lld is not in "
                                       "\"connections\"",
                      where, (long long)s->conn);
    const json_t *samples = json_object_get(v, "samples");
    if (samples && !json_is_array(samples))
        return refuse(r, PLUMB_EPARSE, "%s: \"samples\" is not a list",
                      where);
    size_t n = samples ? json_array_size(samples) : 0;
    if (n && !(s->samples = calloc(n, sizeof *s->samples)))
        return refuse(r, PLUMB_ENOMEM, "out of memory");
    for (size_t j = 0; j < n; j++)
        if (s->n_samples++, read_sample(r, json_array_get(samples, j), where,
                                        &s->samples[j]))
            return r->err;
    return 0;
}

static int read_command(reader_t *r, const json_t *doc, plumb_sql_trace_t *t)
{
    const json_t *argv = json_object_get(doc, "argv");
    size_t len = 1;
    if (argv && !json_is_array(argv))
        return refuse(r, PLUMB_EPARSE, "\"argv\" is not a list");
    for (size_t i = 0; argv && i < json_array_size(argv); i++) {
        const json_t *w = json_array_get(argv, i);
        if (!json_is_string(w))
            return refuse(r, PLUMB_EPARSE, "\"argv\" holds a non-string");
        len += json_string_length(w) + 1;
    }
    if (!(t->command = calloc(1, len)))
        return refuse(r, PLUMB_ENOMEM, "out of memory");
    for (size_t i = 0; argv && i < json_array_size(argv); i++) {
        if (i)
            strcat(t->command, " ");
        strcat(t->command, json_string_value(json_array_get(argv, i)));
    }
    return 0;
}

int plumb_sql_trace_from_json(const char *text, plumb_sql_trace_t **out,
                              char *why, size_t why_size)
{
    reader_t r = {why, why_size, 0};
    json_t *doc = NULL;
    json_error_t error;
    plumb_sql_trace_t *t = NULL;
    if (why_size)
        why[0] = '\0';
    if (!out || !text)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &error))) {
        refuse(&r, PLUMB_EPARSE, "not JSON: %s (line %d, column %d)",
               error.text, error.line, error.column);
        goto out;
    }
    const json_t *version = json_object_get(doc, "plumb_sql_trace");
    if (!json_is_object(doc) || !json_is_integer(version)) {
        refuse(&r, PLUMB_EPARSE, "not a SQL trace: no \"plumb_sql_trace\" "
                                 "version");
        goto out;
    }
    if (json_integer_value(version) != TRACE_VERSION) {
        refuse(&r, PLUMB_EPARSE, "a SQL trace of version %lld; this plumb "
                                 "reads version %d (the tracer and plumb "
                                 "come from different installs)",
               (long long)json_integer_value(version), TRACE_VERSION);
        goto out;
    }
    if (!(t = calloc(1, sizeof *t))) {
        refuse(&r, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    t->timed = 1;
    t->keep_params = json_is_true(json_object_get(doc, "keep_params"));
    if (read_int(&r, doc, "the trace", "pid", 0, INT64_MAX, 1, &t->pid) ||
        read_int(&r, doc, "the trace", "wall_ns", 0, INT64_MAX, 1,
                 &t->wall_ns) ||
        read_text(&r, doc, "the trace", "python", 1, &t->python) ||
        read_command(&r, doc, t))
        goto out;
    const json_t *conns = json_object_get(doc, "connections");
    const json_t *stmts = json_object_get(doc, "statements");
    if (!json_is_array(conns) || !json_is_array(stmts)) {
        refuse(&r, PLUMB_EPARSE, "the trace has no \"connections\" or no "
                                 "\"statements\" list");
        goto out;
    }
    size_t nc = json_array_size(conns), ns = json_array_size(stmts);
    if ((nc && !(t->connections = calloc(nc, sizeof *t->connections))) ||
        (ns && !(t->statements = calloc(ns, sizeof *t->statements)))) {
        refuse(&r, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    /* counted before they are read, so that a half-read one is freed */
    for (size_t i = 0; i < nc; i++)
        if (t->n_connections++,
            read_connection(&r, json_array_get(conns, i), i,
                            &t->connections[i]))
            goto out;
    for (size_t i = 0; i < nc; i++)
        for (size_t j = 0; j < i; j++)
            if (t->connections[i].id == t->connections[j].id) {
                refuse(&r, PLUMB_EPARSE, "connection id %lld appears twice",
                       (long long)t->connections[i].id);
                goto out;
            }
    for (size_t i = 0; i < ns; i++)
        if (t->n_statements++,
            read_statement(&r, json_array_get(stmts, i), i, t,
                           &t->statements[i]))
            goto out;
    *out = t;
    t = NULL;
out:
    json_decref(doc);
    plumb_sql_trace_free(t);
    return r.err;
}

/* ---- a script of statements ------------------------------------------- */

/* The end of the quoted run that starts at p (a quote character q), past
 * its closing quote; a doubled quote stays inside. */
static const char *skip_quoted(const char *p, char q)
{
    for (p++; *p; p++)
        if (*p == q) {
            if (p[1] != q)
                return p + 1;
            p++;
        }
    return p;
}

/* A PostgreSQL dollar quote's tag ($$ or $name$) at p, its length, or 0. */
static size_t dollar_tag(const char *p)
{
    size_t n = 1;
    while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
           (p[n] >= 'A' && p[n] <= 'Z') || (n > 1 && p[n] >= '0' &&
                                            p[n] <= '9'))
        n++;
    return p[n] == '$' ? n + 1 : 0;
}

/* The end of the statement that starts at p: its semicolon, or the end. */
static const char *statement_end(const char *p)
{
    while (*p && *p != ';') {
        if (*p == '\'' || *p == '"' || *p == '`') {
            p = skip_quoted(p, *p);
        } else if (*p == '[') {
            p = skip_quoted(p, ']');
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else if (*p == '$' && dollar_tag(p)) {
            size_t n = dollar_tag(p);
            const char *end = p + n;
            while (*end && strncmp(end, p, n) != 0)
                end++;
            p = *end ? end + n : end;
        } else {
            p++;
        }
    }
    return p;
}

/* Whether [p, end) holds anything but blanks and comments. */
static int has_statement(const char *p, const char *end)
{
    while (p < end) {
        if (p[0] == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (p[0] == '/' && p + 1 < end && p[1] == '*') {
            p += 2;
            while (p + 1 < end && !(p[0] == '*' && p[1] == '/'))
                p++;
            p += 2;
        } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                   *p == '\f' || *p == '\v') {
            p++;
        } else {
            return 1;
        }
    }
    return 0;
}

int plumb_sql_trace_from_script(const char *script, const char *name,
                                const char *target, plumb_sql_trace_t **out)
{
    if (!out || !script || !name || !target)
        return PLUMB_EINVAL;
    *out = NULL;
    plumb_sql_trace_t *t = calloc(1, sizeof *t);
    size_t cap = 0;
    if (!t)
        return PLUMB_ENOMEM;
    int err = PLUMB_ENOMEM;
    if (!(t->connections = calloc(1, sizeof *t->connections)))
        goto out;
    t->n_connections = 1;
    plumb_sql_connection_t *c = &t->connections[0];
    c->id = 1;
    if (!(c->driver = strdup("script")) || !(c->target = strdup(target)) ||
        !(c->file = strdup("")) || !(t->python = strdup("")) ||
        !(t->command = strdup("")))
        goto out;
    int64_t line = 1;
    for (const char *p = script; *p;) {
        const char *end = statement_end(p);
        /* the statement's line: that of its first character that is
         * neither blank nor in a comment */
        const char *first = p;
        for (;;) {
            if (first < end && (*first == ' ' || *first == '\t' ||
                                *first == '\n' || *first == '\r')) {
                first++;
            } else if (first + 1 < end && first[0] == '-' &&
                       first[1] == '-') {
                while (first < end && *first != '\n')
                    first++;
            } else if (first + 1 < end && first[0] == '/' &&
                       first[1] == '*') {
                const char *close = strstr(first + 2, "*/");
                first = close && close + 2 <= end ? close + 2 : end;
            } else {
                break;
            }
        }
        for (const char *q = p; q < first; q++)
            line += *q == '\n';
        if (has_statement(first, end)) {
            if (t->n_statements == cap) {
                size_t grown = cap ? 2 * cap : 16;
                void *s = realloc(t->statements, grown * sizeof *t->statements);
                if (!s)
                    goto out;
                t->statements = s;
                cap = grown;
            }
            plumb_sql_statement_t *s = &t->statements[t->n_statements];
            memset(s, 0, sizeof *s);
            t->n_statements++;
            s->conn = 1;
            s->calls = 1;
            s->line = line;
            if (!(s->sql = strndup(first, (size_t)(end - first))) ||
                !(s->file = strdup(name)) || !(s->func = strdup("")))
                goto out;
            size_t len = strlen(s->sql);
            while (len && strchr(" \t\r\n", s->sql[len - 1]))
                s->sql[--len] = '\0';
        }
        for (const char *q = first; q < end; q++)
            line += *q == '\n';
        p = *end ? end + 1 : end;
    }
    if (!t->n_statements) {
        err = PLUMB_EINVAL;
        goto out;
    }
    *out = t;
    return 0;
out:
    plumb_sql_trace_free(t);
    return err;
}
