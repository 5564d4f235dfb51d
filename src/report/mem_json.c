/* mem_json.c: a memory profile as one JSON document (docs/json.md,
 * "Memory profiles") and back. The recorder inside the Python program
 * writes it, `plumb mem` reads it and writes it again, so both directions
 * live here and one test checks that a document read back is written the
 * same. It owns the document's shape; the values follow json_value.c and
 * the stacks come from plumb_stack_each / go to plumb_stack_add.
 *
 * The reader takes outside input (a file another process wrote): anything
 * that is not such a document is refused with PLUMB_EPARSE and a sentence
 * naming the field at fault, never a crash or a half-filled profile.
 */
#include "report/report.h"
#include "utf8.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------ */

/* A byte count where 0 means "unknown" (RSS): null then, as the JSON
 * conventions have it. */
static json_t *known_bytes(uint64_t v)
{
    return v ? plumb__json_count(v) : json_null();
}

static json_t *header_json(const plumb_mem_t *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "command", plumb__json_known_text(m->command));
    failed |= plumb__json_put(o, "pid", json_integer(m->pid));
    failed |= plumb__json_put(o, "python", plumb__json_known_text(m->python));
    failed |= plumb__json_put(o, "mean_bytes", plumb__json_count(m->mean_bytes));
    failed |= plumb__json_put(o, "native", json_boolean(m->native));
    failed |= plumb__json_put(o, "duration_ns", json_integer(m->duration_ns));
    failed |= plumb__json_put(o, "allocated_bytes",
                              plumb__json_count(m->allocated_bytes));
    failed |=
        plumb__json_put(o, "allocations", plumb__json_count(m->allocations));
    failed |= plumb__json_put(o, "samples", plumb__json_count(m->samples));
    failed |= plumb__json_put(o, "peak_bytes", plumb__json_count(m->peak_bytes));
    failed |= plumb__json_put(o, "peak_ns", json_integer(m->peak_ns));
    failed |= plumb__json_put(o, "end_bytes", plumb__json_count(m->end_bytes));
    failed |= plumb__json_put(o, "start_rss_bytes",
                              known_bytes(m->start_rss_bytes));
    failed |=
        plumb__json_put(o, "peak_rss_bytes", known_bytes(m->peak_rss_bytes));
    failed |= plumb__json_put(o, "timeline_step_ns",
                              json_integer(m->timeline_step_ns));
    failed |= plumb__json_put(o, "complete", json_boolean(m->complete));
    failed |= plumb__json_put(o, "exit_status",
                              m->exit_status >= 0
                                  ? json_integer(m->exit_status)
                                  : json_null());
    failed |= plumb__json_put(o, "exit_signal",
                              m->exit_signal > 0
                                  ? json_integer(m->exit_signal)
                                  : json_null());
    return plumb__json_finish(o, failed);
}

static json_t *timeline_json(const plumb_mem_t *m)
{
    json_t *arr = json_array();
    int failed = !arr;
    for (size_t i = 0; i < m->n_timeline && !failed; i++) {
        const plumb_mem_point_t *p = &m->timeline[i];
        json_t *o = json_object();
        int bad = !o;
        if (o) {
            bad |= plumb__json_put(o, "t_ns", json_integer(p->t_ns));
            bad |= plumb__json_put(o, "heap_bytes",
                                   plumb__json_count(p->heap_bytes));
            bad |= plumb__json_put(o, "rss_bytes", known_bytes(p->rss_bytes));
        }
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    return plumb__json_finish(arr, failed);
}

/* Every line (by_line 1, by self bytes) or function (by total bytes) of an
 * aggregate, in the summary's order. */
static json_t *entries_json(const plumb_stack_t *st, int by_line)
{
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    if (plumb_stack_top(st, by_line, &e, &n) != 0)
        return NULL;
    if (!by_line && n > 0)
        qsort(e, n, sizeof *e, plumb__report_by_total);
    json_t *arr = json_array();
    int failed = !arr;
    for (size_t i = 0; i < n && !failed; i++) {
        json_t *o = json_object();
        int bad = !o;
        if (o) {
            bad |= plumb__json_put(o, "function",
                                   plumb__json_text(e[i].function));
            bad |= plumb__json_put(o, "file",
                                   plumb__json_known_text(e[i].file));
            if (by_line)
                bad |= plumb__json_put(o, "line",
                                       e[i].line > 0 ? json_integer(e[i].line)
                                                     : json_null());
            bad |= plumb__json_put(o, "self_bytes",
                                   plumb__json_count(e[i].self));
            bad |= plumb__json_put(o, "total_bytes",
                                   plumb__json_count(e[i].total));
        }
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    free(e);
    return plumb__json_finish(arr, failed);
}

int plumb_report_mem_json(const plumb_mem_t *m, char **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!m || !m->peak || !m->allocated || !m->end ||
        (m->n_timeline && !m->timeline))
        return PLUMB_EINVAL;
    plumb__buf_t b = {0};
    int err = PLUMB_ENOMEM;
    json_t *root = json_object();
    if (!root)
        return err;
    int failed = 0;
    failed |= plumb__json_put(root, "schema_version",
                              json_integer(PLUMB_JSON_SCHEMA_VERSION));
    failed |= plumb__json_put(root, "tool", json_string("plumb"));
    failed |=
        plumb__json_put(root, "plumb_version", json_string(PLUMB_VERSION));
    failed |= plumb__json_put(root, "kind", json_string("mem"));
    failed |= plumb__json_put(root, "header", header_json(m));
    failed |= plumb__json_put(root, "timeline", timeline_json(m));
    failed |= plumb__json_put(root, "peak",
                              plumb__json_stacks(m->peak, "bytes"));
    failed |= plumb__json_put(root, "allocated",
                              plumb__json_stacks(m->allocated, "bytes"));
    failed |= plumb__json_put(root, "end",
                              plumb__json_stacks(m->end, "bytes"));
    failed |= plumb__json_put(root, "peak_lines", entries_json(m->peak, 1));
    failed |=
        plumb__json_put(root, "peak_functions", entries_json(m->peak, 0));
    failed |= plumb__json_put(root, "allocated_lines",
                              entries_json(m->allocated, 1));
    failed |= plumb__json_put(root, "end_lines", entries_json(m->end, 1));
    if (!failed)
        err = plumb__json_dump(root, &b);
    json_decref(root);
    if (err) {
        free(b.data);
        return err;
    }
    return plumb__buf_finish(&b, out);
}

/* ---- reading ------------------------------------------------------------ */

/* Where the reader is and what went wrong, said once. */
typedef struct {
    char *why;
    size_t why_size;
    int err; /* the first error; later ones keep its sentence */
} reader_t;

__attribute__((format(printf, 3, 4)))
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

/* Field `key` of obj (named `where` in messages) as an integer within
 * [lo, hi]; null_ok: null reads as `if_null`. */
static int read_int(reader_t *r, const json_t *obj, const char *where,
                    const char *key, json_int_t lo, json_int_t hi,
                    int null_ok, json_int_t if_null, json_int_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (null_ok && json_is_null(v)) {
        *out = if_null;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return refuse(r, PLUMB_EPARSE,
                      "%s.%s is %s: it should be a whole number from %lld to "
                      "%lld%s",
                      where, key, v ? "out of range or not a number"
                                    : "missing",
                      (long long)lo, (long long)hi, null_ok ? ", or null" : "");
    *out = json_integer_value(v);
    return 0;
}

static int read_u64(reader_t *r, const json_t *obj, const char *where,
                    const char *key, int null_ok, uint64_t *out)
{
    json_int_t v = 0;
    int err = read_int(r, obj, where, key, 0, LLONG_MAX, null_ok, 0, &v);
    *out = (uint64_t)v;
    return err;
}

static int read_bool(reader_t *r, const json_t *obj, const char *where,
                     const char *key, int *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v))
        return refuse(r, PLUMB_EPARSE, "%s.%s is %s: it should be true or "
                                       "false",
                      where, key, v ? "not a boolean" : "missing");
    *out = json_is_true(v);
    return 0;
}

/* A string field (null reads ""), cut to size bytes with its NUL at a
 * character's end, so that it is written back as it was read. */
static int read_text(reader_t *r, const json_t *obj, const char *where,
                     const char *key, char *out, size_t size)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_null(v)) {
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return refuse(r, PLUMB_EPARSE, "%s.%s is %s: it should be a string "
                                       "or null",
                      where, key, v ? "not a string" : "missing");
    /* jansson's strings are well-formed UTF-8 */
    const unsigned char *text = (const unsigned char *)json_string_value(v);
    size_t len = 0, step;
    while (text[len] && (step = plumb__utf8_sequence_length(text + len)) &&
           len + step < size)
        len += step;
    memcpy(out, text, len);
    out[len] = '\0';
    return 0;
}

static int read_header(reader_t *r, const json_t *h, plumb_mem_t *m)
{
    json_int_t v;
    if (!json_is_object(h))
        return refuse(r, PLUMB_EPARSE, "header is %s: it should be an object",
                      h ? "not an object" : "missing");
    read_text(r, h, "header", "command", m->command, sizeof m->command);
    read_text(r, h, "header", "python", m->python, sizeof m->python);
    if (!read_int(r, h, "header", "pid", 0, INT_MAX, 0, 0, &v))
        m->pid = (int)v;
    read_u64(r, h, "header", "mean_bytes", 0, &m->mean_bytes);
    read_bool(r, h, "header", "native", &m->native);
    if (!read_int(r, h, "header", "duration_ns", 0, LLONG_MAX, 0, 0, &v))
        m->duration_ns = v;
    read_u64(r, h, "header", "allocated_bytes", 0, &m->allocated_bytes);
    read_u64(r, h, "header", "allocations", 0, &m->allocations);
    read_u64(r, h, "header", "samples", 0, &m->samples);
    read_u64(r, h, "header", "peak_bytes", 0, &m->peak_bytes);
    if (!read_int(r, h, "header", "peak_ns", 0, LLONG_MAX, 0, 0, &v))
        m->peak_ns = v;
    read_u64(r, h, "header", "end_bytes", 0, &m->end_bytes);
    read_u64(r, h, "header", "start_rss_bytes", 1, &m->start_rss_bytes);
    read_u64(r, h, "header", "peak_rss_bytes", 1, &m->peak_rss_bytes);
    if (!read_int(r, h, "header", "timeline_step_ns", 1, LLONG_MAX, 0, 0, &v))
        m->timeline_step_ns = v;
    read_bool(r, h, "header", "complete", &m->complete);
    if (!read_int(r, h, "header", "exit_status", 0, 255, 1, -1, &v))
        m->exit_status = (int)v;
    if (!read_int(r, h, "header", "exit_signal", 1, 128, 1, 0, &v))
        m->exit_signal = (int)v;
    if (!r->err && m->mean_bytes == 0)
        return refuse(r, PLUMB_EPARSE, "header.mean_bytes is 0: a sampling "
                                       "mean is at least one byte");
    return r->err;
}

static int read_timeline(reader_t *r, const json_t *arr, plumb_mem_t *m)
{
    if (!json_is_array(arr))
        return refuse(r, PLUMB_EPARSE, "timeline is %s: it should be an "
                                       "array of points",
                      arr ? "not an array" : "missing");
    size_t n = json_array_size(arr);
    if (n > PLUMB_MEM_TIMELINE_MAX)
        return refuse(r, PLUMB_EPARSE, "timeline has %zu points: a memory "
                                       "profile keeps at most %d",
                      n, PLUMB_MEM_TIMELINE_MAX);
    /* room for a whole timeline, as plumb_mem_add_point gives it */
    if (!m->timeline &&
        !(m->timeline = malloc(PLUMB_MEM_TIMELINE_MAX * sizeof *m->timeline)))
        return refuse(r, PLUMB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        char where[48];
        json_int_t t = 0;
        plumb_mem_point_t p = {0, 0, 0};
        snprintf(where, sizeof where, "timeline[%zu]", i);
        if (!json_is_object(o))
            return refuse(r, PLUMB_EPARSE, "%s is not an object with t_ns, "
                                           "heap_bytes and rss_bytes",
                          where);
        if (read_int(r, o, where, "t_ns", 0, LLONG_MAX, 0, 0, &t) ||
            read_u64(r, o, where, "heap_bytes", 0, &p.heap_bytes) ||
            read_u64(r, o, where, "rss_bytes", 1, &p.rss_bytes))
            return r->err;
        p.t_ns = t;
        if (i > 0 && p.t_ns < m->timeline[i - 1].t_ns)
            return refuse(r, PLUMB_EPARSE, "%s.t_ns goes back in time: the "
                                           "points should be oldest first",
                          where);
        m->timeline[m->n_timeline++] = p;
    }
    return 0;
}

/* Reads one frame into f; its strings stay the document's. */
static int read_frame(reader_t *r, const json_t *o, const char *where,
                      plumb_frame_t *f)
{
    if (!json_is_object(o))
        return refuse(r, PLUMB_EPARSE, "%s is not an object with function, "
                                       "file and line",
                      where);
    const json_t *fn = json_object_get(o, "function");
    const json_t *file = json_object_get(o, "file");
    json_int_t line = 0;
    if (!json_is_string(fn) && !json_is_null(fn))
        return refuse(r, PLUMB_EPARSE, "%s.function is %s: it should be a "
                                       "string",
                      where, fn ? "not a string" : "missing");
    if (!json_is_string(file) && !json_is_null(file))
        return refuse(r, PLUMB_EPARSE, "%s.file is %s: it should be a string "
                                       "or null",
                      where, file ? "not a string" : "missing");
    if (read_int(r, o, where, "line", 0, INT_MAX, 1, 0, &line))
        return r->err;
    f->function = json_string_value(fn); /* NULL for null */
    f->file = json_string_value(file);
    f->line = (int)line;
    return 0;
}

/* Reads the stacks of one aggregate (`name`) into st. */
static int read_stacks(reader_t *r, const json_t *arr, const char *name,
                       plumb_stack_t *st)
{
    plumb_frame_t *frames = NULL;
    size_t cap = 0;
    uint64_t total = 0;
    if (!json_is_array(arr))
        return refuse(r, PLUMB_EPARSE, "%s is %s: it should be an array of "
                                       "stacks",
                      name, arr ? "not an array" : "missing");
    for (size_t i = 0; i < json_array_size(arr) && !r->err; i++) {
        const json_t *o = json_array_get(arr, i);
        char where[64];
        snprintf(where, sizeof where, "%s[%zu]", name, i);
        if (!json_is_object(o)) {
            refuse(r, PLUMB_EPARSE, "%s is not an object with thread, "
                                    "frames, truncated and bytes",
                   where);
            break;
        }
        const json_t *thread = json_object_get(o, "thread");
        const json_t *list = json_object_get(o, "frames");
        int truncated = 0;
        uint64_t bytes = 0;
        if (!json_is_string(thread)) {
            refuse(r, PLUMB_EPARSE, "%s.thread is %s: it should be a string",
                   where, thread ? "not a string" : "missing");
            break;
        }
        if (!json_is_array(list)) {
            refuse(r, PLUMB_EPARSE, "%s.frames is %s: it should be an array",
                   where, list ? "not an array" : "missing");
            break;
        }
        if (read_bool(r, o, where, "truncated", &truncated) ||
            read_u64(r, o, where, "bytes", 0, &bytes))
            break;
        /* every sum of an aggregate's bytes must be a JSON integer again */
        if (bytes > (uint64_t)LLONG_MAX - total) {
            refuse(r, PLUMB_EPARSE, "%s: the bytes of %s add up to more "
                                    "than %lld",
                   where, name, LLONG_MAX);
            break;
        }
        total += bytes;
        size_t n = json_array_size(list);
        if (n > cap) {
            plumb_frame_t *grown = realloc(frames, n * sizeof *frames);
            if (!grown) {
                refuse(r, PLUMB_ENOMEM, "out of memory");
                break;
            }
            frames = grown;
            cap = n;
        }
        /* the document lists frames outermost first, the stack takes
         * them innermost first */
        for (size_t k = 0; k < n && !r->err; k++) {
            char at[96];
            snprintf(at, sizeof at, "%s.frames[%zu]", where, k);
            read_frame(r, json_array_get(list, k), at, &frames[n - 1 - k]);
        }
        if (r->err)
            break;
        int err = plumb_stack_add(st, json_string_value(thread), frames, n,
                                  truncated, bytes);
        if (err)
            refuse(r, err, "out of memory");
    }
    free(frames);
    return r->err;
}

int plumb_mem_from_json(const char *text, plumb_mem_t **out, char *why,
                        size_t why_size)
{
    reader_t r = {why, why_size, 0};
    plumb_mem_t *m = NULL;
    json_t *doc = NULL;
    json_error_t error;
    if (why_size)
        why[0] = '\0';
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!text)
        return refuse(&r, PLUMB_EINVAL, "no text to read");
    if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &error))) {
        refuse(&r, PLUMB_EPARSE, "not JSON: %s (line %d, column %d)",
               error.text, error.line, error.column);
        goto out;
    }
    if (!json_is_object(doc)) {
        refuse(&r, PLUMB_EPARSE, "not a memory profile: the document is "
                                 "not a JSON object");
        goto out;
    }
    const json_t *kind = json_object_get(doc, "kind");
    if (!json_is_string(kind) || strcmp(json_string_value(kind), "mem") != 0) {
        refuse(&r, PLUMB_EPARSE, "not a memory profile: its kind is %s, not "
                                 "\"mem\"",
               json_is_string(kind) ? json_string_value(kind) : "missing");
        goto out;
    }
    json_int_t version = 0;
    if (read_int(&r, doc, "document", "schema_version", 1, LLONG_MAX, 0, 0,
                 &version))
        goto out;
    if (version > PLUMB_JSON_SCHEMA_VERSION) {
        refuse(&r, PLUMB_EPARSE, "the memory profile has schema version "
                                 "%lld; this plumb reads up to %d: upgrade "
                                 "plumb",
               (long long)version, PLUMB_JSON_SCHEMA_VERSION);
        goto out;
    }
    int err = plumb_mem_new(&m);
    if (err) {
        refuse(&r, err, "out of memory");
        goto out;
    }
    if (read_header(&r, json_object_get(doc, "header"), m) ||
        read_timeline(&r, json_object_get(doc, "timeline"), m) ||
        read_stacks(&r, json_object_get(doc, "peak"), "peak", m->peak) ||
        read_stacks(&r, json_object_get(doc, "allocated"), "allocated",
                    m->allocated) ||
        read_stacks(&r, json_object_get(doc, "end"), "end", m->end))
        goto out;
    *out = m;
    m = NULL;
out:
    json_decref(doc);
    plumb_mem_free(m);
    return r.err;
}
