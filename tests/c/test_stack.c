/* test_stack.c: aggregated stacks. Counts, self and total figures are worked
 * out by hand for small stacks; the collapsed output is pinned byte for byte
 * and checked against FlameGraph's line format; the speedscope file is
 * parsed back with jansson and turned into collapsed lines again, which must
 * match plumb_stack_collapsed. Memory is checked through the counters of
 * src/stack.h: adding a stack already seen must not grow anything. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"
#include "tests.h"

#define FRAME(fn, fi, ln) ((plumb_frame_t){(fn), (fi), (ln)})

static plumb_stack_t *new_stack(void)
{
    plumb_stack_t *st = NULL;
    assert_int_equal(plumb_stack_new(&st), 0);
    assert_non_null(st);
    return st;
}

static void add(plumb_stack_t *st, const char *thread,
                const plumb_frame_t *frames, size_t n, uint64_t count)
{
    assert_int_equal(plumb_stack_add(st, thread, frames, n, 0, count), 0);
}

static char *collapsed(const plumb_stack_t *st)
{
    char *out = NULL;
    assert_int_equal(plumb_stack_collapsed(st, &out), 0);
    assert_non_null(out);
    return out;
}

static void assert_entry(const plumb_stack_entry_t *e, const char *function,
                         const char *file, int line, uint64_t self,
                         uint64_t total)
{
    assert_string_equal(e->function, function);
    assert_string_equal(e->file, file);
    assert_int_equal(e->line, line);
    assert_int_equal(e->self, self);
    assert_int_equal(e->total, total);
}

/* Each line is FlameGraph's "frame;frame;... COUNT": frames separated by
 * ';', none empty, one space, a decimal count; the text ends with '\n'. */
static void assert_flamegraph_format(const char *text)
{
    size_t lines = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        const char *space = end;
        while (space > line && space[-1] != ' ')
            space--;
        assert_true(space > line + 1); /* a stack, then a space */
        assert_true(space < end);      /* then a count */
        for (const char *c = space; c < end; c++)
            assert_true(*c >= '0' && *c <= '9');
        const char *frame = line, *stack_end = space - 1;
        for (const char *c = line; c <= stack_end; c++) {
            if (c == stack_end || *c == ';') {
                assert_true(c > frame); /* no empty frame */
                frame = c + 1;
            }
        }
        lines++;
        line = end + 1;
    }
    (void)lines;
}

/* ---- counts ------------------------------------------------------------- */

/* main -> f -> g (3), main -> f -> h (2), main -> f at another line (1). */
static plumb_stack_t *small_program(void)
{
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s1[] = {FRAME("g", "b.py", 7), FRAME("f", "a.py", 5),
                                FRAME("main", "a.py", 1)};
    const plumb_frame_t s2[] = {FRAME("h", "b.py", 9), FRAME("f", "a.py", 5),
                                FRAME("main", "a.py", 1)};
    const plumb_frame_t s3[] = {FRAME("f", "a.py", 6),
                                FRAME("main", "a.py", 1)};
    add(st, "T", s1, 3, 1);
    add(st, "T", s2, 3, 2);
    add(st, "T", s1, 3, 2);
    add(st, "T", s3, 2, 1);
    return st;
}

static void counts_by_hand(void **state)
{
    (void)state;
    plumb_stack_t *st = small_program();
    assert_int_equal(plumb_stack_total(st), 6);

    char *text = collapsed(st);
    assert_string_equal(text, "T;main (a.py:1);f (a.py:5);g (b.py:7) 3\n"
                              "T;main (a.py:1);f (a.py:5);h (b.py:9) 2\n"
                              "T;main (a.py:1);f (a.py:6) 1\n");
    free(text);
    plumb_stack_free(st);
}

static void self_and_total_by_function(void **state)
{
    (void)state;
    plumb_stack_t *st = small_program();
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, 4);
    assert_entry(&e[0], "g", "b.py", 0, 3, 3);
    assert_entry(&e[1], "h", "b.py", 0, 2, 2);
    assert_entry(&e[2], "f", "a.py", 0, 1, 6); /* both of its lines */
    assert_entry(&e[3], "main", "a.py", 0, 0, 6);
    free(e);
    plumb_stack_free(st);
}

static void self_and_total_by_line(void **state)
{
    (void)state;
    plumb_stack_t *st = small_program();
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 1, &e, &n), 0);
    assert_int_equal(n, 5);
    assert_entry(&e[0], "g", "b.py", 7, 3, 3);
    assert_entry(&e[1], "h", "b.py", 9, 2, 2);
    assert_entry(&e[2], "f", "a.py", 6, 1, 1);
    assert_entry(&e[3], "main", "a.py", 1, 0, 6);
    assert_entry(&e[4], "f", "a.py", 5, 0, 5);
    free(e);
    plumb_stack_free(st);
}

/* fib recursing three deep (4 samples), once (1), main alone (2). */
static void recursion_counted_once_in_total(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t r1[] = {FRAME("fib", "x.py", 2),
                                FRAME("fib", "x.py", 3),
                                FRAME("fib", "x.py", 3),
                                FRAME("main", "x.py", 10)};
    const plumb_frame_t r2[] = {FRAME("fib", "x.py", 2),
                                FRAME("main", "x.py", 10)};
    const plumb_frame_t r3[] = {FRAME("main", "x.py", 11)};
    add(st, "T", r1, 4, 4);
    add(st, "T", r2, 2, 1);
    add(st, "T", r3, 1, 2);

    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_entry(&e[0], "fib", "x.py", 0, 5, 5); /* not 4 * 3 + 1 */
    assert_entry(&e[1], "main", "x.py", 0, 2, 7);
    free(e);

    assert_int_equal(plumb_stack_top(st, 1, &e, &n), 0);
    assert_int_equal(n, 4);
    assert_entry(&e[0], "fib", "x.py", 2, 5, 5);
    assert_entry(&e[1], "main", "x.py", 11, 2, 2);
    assert_entry(&e[2], "main", "x.py", 10, 0, 5);
    assert_entry(&e[3], "fib", "x.py", 3, 0, 4); /* twice in r1, once */
    free(e);
    plumb_stack_free(st);
}

/* a -> b -> a: both appear in the one sample once each. */
static void mutual_recursion_counted_once(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME("a", "m.py", 1), FRAME("b", "m.py", 2),
                               FRAME("a", "m.py", 1), FRAME("b", "m.py", 2),
                               FRAME("a", "m.py", 1)};
    add(st, "T", s, 5, 3);
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 1, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_entry(&e[0], "a", "m.py", 1, 3, 3);
    assert_entry(&e[1], "b", "m.py", 2, 0, 3);
    free(e);
    plumb_stack_free(st);
}

/* Ties in self and total fall back to the name, then the file. */
static void top_ties_sorted_by_name(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t z[] = {FRAME("z", "a.py", 1)};
    const plumb_frame_t b2[] = {FRAME("b", "b.py", 1)};
    const plumb_frame_t b1[] = {FRAME("b", "a.py", 1)};
    add(st, "T", z, 1, 1);
    add(st, "T", b2, 1, 1);
    add(st, "T", b1, 1, 1);
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_entry(&e[0], "b", "a.py", 0, 1, 1);
    assert_entry(&e[1], "b", "b.py", 0, 1, 1);
    assert_entry(&e[2], "z", "a.py", 0, 1, 1);
    free(e);
    plumb_stack_free(st);
}

static void threads_kept_apart(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME("f", "a.py", 1)};
    add(st, "T2 (tid 2)", s, 1, 3);
    add(st, "T1 (tid 1)", s, 1, 2);
    char *text = collapsed(st);
    assert_string_equal(text, "T1 (tid 1);f (a.py:1) 2\n"
                              "T2 (tid 2);f (a.py:1) 3\n");
    free(text);
    /* The top list is of functions, whatever the thread. */
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, 1);
    assert_entry(&e[0], "f", "a.py", 0, 5, 5);
    free(e);
    plumb_stack_free(st);
}

static void truncated_marker_at_outer_end(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME("f", "a.py", 1), FRAME("g", "a.py", 2)};
    assert_int_equal(plumb_stack_add(st, "T", s, 2, 1, 1), 0);
    assert_int_equal(plumb_stack_add(st, "T", s, 2, 0, 4), 0);
    assert_int_equal(plumb_stack_add(st, "T", NULL, 0, 1, 2), 0);
    char *text = collapsed(st);
    assert_string_equal(text, "T;[truncated] 2\n"
                              "T;[truncated];g (a.py:2);f (a.py:1) 1\n"
                              "T;g (a.py:2);f (a.py:1) 4\n");
    assert_flamegraph_format(text);
    free(text);

    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 1, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_entry(&e[0], "f", "a.py", 1, 5, 5);
    assert_entry(&e[1], "[truncated]", "", 0, 2, 3);
    assert_entry(&e[2], "g", "a.py", 2, 0, 5);
    free(e);
    plumb_stack_free(st);
}

/* ---- collapsed ---------------------------------------------------------- */

/* Added out of order, with ';' and a newline in a name. */
static plumb_stack_t *collapsed_example(int reversed)
{
    plumb_stack_t *st = new_stack();
    const plumb_frame_t run[] = {FRAME("run", "w.py", 3)};
    const plumb_frame_t b[] = {FRAME("b", "m.py", 20), FRAME("a", "m.py", 10),
                               FRAME("main", "m.py", 1)};
    const plumb_frame_t a[] = {FRAME("a", "m.py", 11),
                               FRAME("main", "m.py", 1)};
    const plumb_frame_t odd[] = {FRAME("odd;name\nx", "we;ird\r.py", 4),
                                 FRAME("main", "m.py", 1)};
    if (!reversed) {
        add(st, "worker", run, 1, 1);
        add(st, "MainThread", b, 3, 3);
        add(st, "MainThread", a, 2, 2);
        add(st, "MainThread", odd, 2, 1);
        add(st, "MainThread", b, 3, 2);
    } else {
        add(st, "MainThread", b, 3, 5);
        add(st, "MainThread", odd, 2, 1);
        add(st, "MainThread", a, 2, 2);
        add(st, "worker", run, 1, 1);
    }
    return st;
}

static const char collapsed_expected[] =
    "MainThread;main (m.py:1);a (m.py:10);b (m.py:20) 5\n"
    "MainThread;main (m.py:1);a (m.py:11) 2\n"
    "MainThread;main (m.py:1);odd:name x (we:ird .py:4) 1\n"
    "worker;run (w.py:3) 1\n";

static void collapsed_byte_exact(void **state)
{
    (void)state;
    plumb_stack_t *st = collapsed_example(0);
    char *text = collapsed(st);
    assert_string_equal(text, collapsed_expected);
    assert_flamegraph_format(text);
    free(text);
    plumb_stack_free(st);
}

static void collapsed_independent_of_insertion_order(void **state)
{
    (void)state;
    plumb_stack_t *st = collapsed_example(1);
    char *text = collapsed(st);
    assert_string_equal(text, collapsed_expected);
    free(text);
    plumb_stack_free(st);
}

/* Empty names would make empty frames; they get a placeholder. */
static void collapsed_never_has_empty_frames(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME("", "", 0), FRAME(NULL, NULL, 0),
                               FRAME("", "a.py", 3), FRAME(";", "\n", 0)};
    add(st, "", s, 4, 7);
    char *text = collapsed(st);
    assert_string_equal(text, "[unnamed thread];: ( :0);[unknown] (a.py:3);"
                              "[unknown];[unknown] 7\n");
    assert_flamegraph_format(text);
    free(text);
    plumb_stack_free(st);
}

/* ---- memory ------------------------------------------------------------- */

static void seen_stack_allocates_nothing(void **state)
{
    (void)state;
    enum { DEPTH = 30, REPEATS = 100000 };
    char names[2][DEPTH][32], files[2][DEPTH][32];
    plumb_frame_t frames[2][DEPTH];
    /* Two copies of every string, at different addresses. */
    for (int copy = 0; copy < 2; copy++) {
        for (int i = 0; i < DEPTH; i++) {
            snprintf(names[copy][i], sizeof names[copy][i], "module.func_%d",
                     i);
            snprintf(files[copy][i], sizeof files[copy][i], "/src/file_%d.py",
                     i % 5);
            frames[copy][i] = FRAME(names[copy][i], files[copy][i], 10 + i);
        }
    }
    char thread[2][16] = {"MainThread", "MainThread"};
    plumb_stack_t *st = new_stack();
    plumb__stack_stats_t empty, before, after;
    plumb__stack_stats(st, &empty);
    add(st, thread[0], frames[0], DEPTH, 1);
    plumb__stack_stats(st, &before);
    /* root + thread + 30 frames; thread + 30 names + 5 files. */
    assert_int_equal(before.nodes, 2 + DEPTH);
    assert_int_equal(before.strings - empty.strings, 1 + DEPTH + 5);
    for (int r = 0; r < REPEATS; r++)
        add(st, thread[r & 1], frames[r & 1], DEPTH, 1);
    plumb__stack_stats(st, &after);
    assert_int_equal(after.nodes, before.nodes);
    assert_int_equal(after.strings, before.strings);
    assert_int_equal(after.string_bytes, before.string_bytes);
    assert_int_equal(after.capacity_bytes, before.capacity_bytes);
    assert_int_equal(plumb_stack_total(st), REPEATS + 1);

    /* The same functions in another thread: new nodes, no new strings
     * beyond the thread's label. */
    add(st, "worker", frames[1], DEPTH, 1);
    plumb__stack_stats(st, &after);
    assert_int_equal(after.nodes, before.nodes + 1 + DEPTH);
    assert_int_equal(after.strings, before.strings + 1);
    plumb_stack_free(st);
}

/* The stack remembers the caller's string addresses to skip hashing; a
 * buffer reused for another name must still read as that other name. */
static void reused_buffer_is_read_again(void **state)
{
    (void)state;
    char function[32], file[32], thread[32];
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME(function, file, 1)};
    strcpy(function, "alpha");
    strcpy(file, "a.py");
    strcpy(thread, "T1");
    add(st, thread, s, 1, 1);
    strcpy(function, "beta");
    strcpy(file, "b.py");
    strcpy(thread, "T2");
    add(st, thread, s, 1, 2);
    strcpy(function, "alpha");
    strcpy(file, "a.py");
    strcpy(thread, "T1");
    add(st, thread, s, 1, 4);
    char *text = collapsed(st);
    assert_string_equal(text, "T1;alpha (a.py:1) 5\n"
                              "T2;beta (b.py:1) 2\n");
    free(text);
    plumb_stack_free(st);
}

/* ---- out of memory ------------------------------------------------------ */

/* Enough distinct stacks to grow every table past its first size (64 nodes,
 * 48 strings), in two threads, one stack truncated. Each add is retried
 * once when it reports PLUMB_ENOMEM: the injected failure fires once. */
static void oom_scenario(plumb_stack_t *st)
{
    char leaf[80][16];
    const char *mids[] = {"m0", "m1", "m2", "m3", "m4"};
    for (int k = 0; k < 80; k++) {
        snprintf(leaf[k], sizeof leaf[k], "leaf%d", k);
        const plumb_frame_t s[] = {FRAME(leaf[k], "x.py", k + 1),
                                   FRAME(mids[k % 5], "y.py", 1),
                                   FRAME("main", "z.py", 1)};
        const char *thread = k % 7 ? "T" : "U";
        int err = plumb_stack_add(st, thread, s, 3, k == 3, (uint64_t)k + 1);
        if (err == PLUMB_ENOMEM)
            err = plumb_stack_add(st, thread, s, 3, k == 3, (uint64_t)k + 1);
        assert_int_equal(err, 0);
    }
}

/* A view computed once more when the first attempt ran out of memory. */
static char *oom_collapsed(const plumb_stack_t *st)
{
    char *text = (char *)"untouched";
    int err = plumb_stack_collapsed(st, &text);
    if (err == PLUMB_ENOMEM) {
        assert_null(text);
        err = plumb_stack_collapsed(st, &text);
    }
    assert_int_equal(err, 0);
    return text;
}

static char *oom_speedscope(const plumb_stack_t *st)
{
    char *text = (char *)"untouched";
    int err = plumb_stack_speedscope(st, "oom", &text);
    if (err == PLUMB_ENOMEM) {
        assert_null(text);
        err = plumb_stack_speedscope(st, "oom", &text);
    }
    assert_int_equal(err, 0);
    return text;
}

static plumb_stack_entry_t *oom_top(const plumb_stack_t *st, size_t *n)
{
    plumb_stack_entry_t *e = NULL;
    int err = plumb_stack_top(st, 1, &e, n);
    if (err == PLUMB_ENOMEM) {
        assert_null(e);
        assert_int_equal(*n, 0);
        err = plumb_stack_top(st, 1, &e, n);
    }
    assert_int_equal(err, 0);
    return e;
}

/* Every allocation in turn fails: each call reports PLUMB_ENOMEM (never
 * aborts), leaks nothing (ASan, valgrind) and leaves the stack whole, so
 * that the views, once memory is back, are those of a clean run. */
static void out_of_memory_every_allocation(void **state)
{
    (void)state;
    plumb_stack_t *clean = new_stack();
    oom_scenario(clean);
    char *want_collapsed = collapsed(clean);
    char *want_speedscope = oom_speedscope(clean);
    size_t want_n = 0;
    plumb_stack_entry_t *want_top = oom_top(clean, &want_n);
    /* 80 leaves, 5 mids, main and [truncated]. */
    assert_int_equal(want_n, 80 + 5 + 1 + 1);

    unsigned long nth = 1;
    for (;; nth++) {
        plumb__stack_fail_alloc(nth);
        plumb_stack_t *st = (plumb_stack_t *)"untouched";
        int err = plumb_stack_new(&st);
        if (err) {
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_null(st);
            assert_int_equal(plumb__stack_fail_alloc(0), 0);
            continue;
        }
        oom_scenario(st);
        assert_int_equal(plumb_stack_total(st), plumb_stack_total(clean));
        char *text = oom_collapsed(st);
        assert_string_equal(text, want_collapsed);
        free(text);
        text = oom_speedscope(st);
        assert_string_equal(text, want_speedscope);
        free(text);
        size_t n = 0;
        plumb_stack_entry_t *e = oom_top(st, &n);
        assert_int_equal(n, want_n);
        for (size_t i = 0; i < n; i++)
            assert_entry(&e[i], want_top[i].function, want_top[i].file,
                         want_top[i].line, want_top[i].self,
                         want_top[i].total);
        free(e);
        plumb_stack_free(st);
        if (plumb__stack_fail_alloc(0) > 0)
            break; /* the nth allocation never came: every one was tried */
    }
    assert_true(nth > 100);
    free(want_top);
    free(want_speedscope);
    free(want_collapsed);
    plumb_stack_free(clean);
}

/* ---- deep stacks -------------------------------------------------------- */

enum { DEEP = 10000 };

static void ten_thousand_frames(void **state)
{
    (void)state;
    plumb_frame_t *rec = calloc(DEEP, sizeof *rec);
    plumb_frame_t *distinct = calloc(DEEP, sizeof *distinct);
    char(*names)[16] = calloc(DEEP, sizeof *names);
    assert_non_null(rec);
    assert_non_null(distinct);
    assert_non_null(names);
    for (int i = 0; i < DEEP; i++) {
        rec[i] = FRAME("rec", "deep.py", 5);
        snprintf(names[i], sizeof names[i], "f%d", i);
        distinct[i] = FRAME(names[i], "d.py", i + 1);
    }
    plumb_stack_t *st = new_stack();
    add(st, "recursive", rec, DEEP, 2);
    add(st, "distinct", distinct, DEEP, 1);
    assert_int_equal(plumb_stack_total(st), 3);

    char *text = collapsed(st);
    assert_flamegraph_format(text);
    size_t separators = 0;
    for (const char *c = text; *c; c++)
        separators += *c == ';';
    assert_int_equal(separators, 2 * DEEP); /* thread;f;f;...;f per line */
    assert_non_null(strstr(text, "distinct;f9999 (d.py:10000);f9998 "));
    assert_non_null(strstr(text, ";f0 (d.py:1) 1\n"));
    free(text);

    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, DEEP + 1);
    assert_entry(&e[0], "rec", "deep.py", 0, 2, 2); /* once, not 10000x */
    assert_entry(&e[1], "f0", "d.py", 0, 1, 1);
    for (size_t i = 2; i < n; i++) {
        assert_int_equal(e[i].self, 0);
        assert_int_equal(e[i].total, 1);
    }
    free(e);

    char *json = NULL;
    assert_int_equal(plumb_stack_speedscope(st, "deep", &json), 0);
    json_error_t error;
    json_t *doc = json_loads(json, 0, &error);
    assert_non_null(doc);
    json_t *profiles = json_object_get(doc, "profiles");
    assert_int_equal(json_array_size(profiles), 2);
    for (size_t p = 0; p < 2; p++) {
        json_t *samples = json_object_get(json_array_get(profiles, p),
                                          "samples");
        assert_int_equal(json_array_size(json_array_get(samples, 0)), DEEP);
    }
    json_decref(doc);
    free(json);
    plumb_stack_free(st);
    free(names);
    free(distinct);
    free(rec);
}

/* ---- arguments ---------------------------------------------------------- */

static void null_and_zero_arguments(void **state)
{
    (void)state;
    const plumb_frame_t s[] = {FRAME("f", "a.py", 1)};
    char *text = (char *)"untouched";
    plumb_stack_entry_t *e = (plumb_stack_entry_t *)s;
    size_t n = 99;

    assert_int_equal(plumb_stack_new(NULL), PLUMB_EINVAL);
    plumb_stack_free(NULL);
    assert_int_equal(plumb_stack_total(NULL), 0);
    assert_int_equal(plumb_stack_add(NULL, "T", s, 1, 0, 1), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_collapsed(NULL, &text), PLUMB_EINVAL);
    assert_null(text);
    assert_int_equal(plumb_stack_top(NULL, 0, &e, &n), PLUMB_EINVAL);
    assert_null(e);
    assert_int_equal(n, 0);
    text = (char *)"untouched";
    assert_int_equal(plumb_stack_speedscope(NULL, "x", &text), PLUMB_EINVAL);
    assert_null(text);

    plumb_stack_t *st = new_stack();
    assert_int_equal(plumb_stack_collapsed(st, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_top(st, 0, NULL, &n), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_top(st, 0, &e, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_speedscope(st, NULL, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_add(st, NULL, s, 1, 0, 1), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_add(st, "T", NULL, 1, 0, 1), PLUMB_EINVAL);

    /* An empty stack: nothing to list, an empty text. */
    text = collapsed(st);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(plumb_stack_top(st, 1, &e, &n), 0);
    assert_null(e);
    assert_int_equal(n, 0);

    /* count 0 adds nothing; n 0 is a thread without Python frames. */
    assert_int_equal(plumb_stack_add(st, "T", s, 1, 0, 0), 0);
    assert_int_equal(plumb_stack_total(st), 0);
    text = collapsed(st);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(plumb_stack_add(st, "idle", NULL, 0, 0, 4), 0);
    assert_int_equal(plumb_stack_total(st), 4);
    text = collapsed(st);
    assert_string_equal(text, "idle 4\n");
    free(text);
    assert_int_equal(plumb_stack_top(st, 0, &e, &n), 0);
    assert_int_equal(n, 0);
    plumb_stack_free(st);
}

/* ---- speedscope --------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The collapsed text the document describes, rebuilt from its frames and
 * samples after checking every index and weight; the caller frees it. */
static char *collapsed_from_speedscope(json_t *doc)
{
    json_t *frames = json_object_get(json_object_get(doc, "shared"),
                                     "frames");
    json_t *profiles = json_object_get(doc, "profiles");
    assert_true(json_is_array(frames));
    assert_true(json_is_array(profiles));
    size_t n_frames = json_array_size(frames), n_lines = 0;
    char *lines[64];
    size_t pi;
    json_t *profile;
    json_array_foreach(profiles, pi, profile) {
        assert_string_equal(
            json_string_value(json_object_get(profile, "type")), "sampled");
        assert_string_equal(
            json_string_value(json_object_get(profile, "unit")), "none");
        assert_int_equal(
            json_integer_value(json_object_get(profile, "startValue")), 0);
        const char *thread =
            json_string_value(json_object_get(profile, "name"));
        assert_non_null(thread);
        json_t *samples = json_object_get(profile, "samples");
        json_t *weights = json_object_get(profile, "weights");
        assert_int_equal(json_array_size(samples), json_array_size(weights));
        json_int_t sum = 0;
        size_t si;
        json_t *sample;
        json_array_foreach(samples, si, sample) {
            char line[4096];
            size_t len = (size_t)snprintf(line, sizeof line, "%s", thread);
            size_t fi;
            json_t *index;
            json_array_foreach(sample, fi, index) {
                assert_true(json_is_integer(index));
                json_int_t k = json_integer_value(index);
                assert_true(k >= 0 && (size_t)k < n_frames);
                json_t *frame = json_array_get(frames, (size_t)k);
                const char *name =
                    json_string_value(json_object_get(frame, "name"));
                const char *file =
                    json_string_value(json_object_get(frame, "file"));
                json_int_t ln =
                    json_integer_value(json_object_get(frame, "line"));
                assert_non_null(name);
                if (file || ln)
                    len += (size_t)snprintf(line + len, sizeof line - len,
                                            ";%s (%s:%lld)", name,
                                            file ? file : "", (long long)ln);
                else
                    len += (size_t)snprintf(line + len, sizeof line - len,
                                            ";%s", name);
                assert_true(len < sizeof line);
            }
            json_int_t w = json_integer_value(json_array_get(weights, si));
            assert_true(w > 0);
            sum += w;
            snprintf(line + len, sizeof line - len, " %lld", (long long)w);
            assert_true(n_lines < 64);
            lines[n_lines++] = strdup(line);
        }
        assert_int_equal(
            json_integer_value(json_object_get(profile, "endValue")), sum);
    }
    qsort(lines, n_lines, sizeof *lines, compare_strings);
    size_t size = 1;
    for (size_t i = 0; i < n_lines; i++)
        size += strlen(lines[i]) + 1;
    char *text = malloc(size), *w = text;
    assert_non_null(text);
    *w = '\0';
    for (size_t i = 0; i < n_lines; i++) {
        w += sprintf(w, "%s\n", lines[i]);
        free(lines[i]);
    }
    return text;
}

static json_t *speedscope(const plumb_stack_t *st, const char *name)
{
    char *text = NULL;
    assert_int_equal(plumb_stack_speedscope(st, name, &text), 0);
    assert_non_null(text);
    json_error_t error;
    json_t *doc = json_loads(text, 0, &error);
    free(text);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "$schema")),
                        "https://www.speedscope.app/file-format-schema.json");
    assert_string_equal(json_string_value(json_object_get(doc, "exporter")),
                        "plumb " PLUMB_VERSION);
    return doc;
}

static void speedscope_matches_collapsed(void **state)
{
    (void)state;
    plumb_stack_t *st = small_program();
    const plumb_frame_t s[] = {FRAME("g", "b.py", 7), FRAME("w", "w.py", 1)};
    add(st, "worker", s, 2, 4);
    assert_int_equal(plumb_stack_add(st, "worker", s, 2, 1, 1), 0);
    json_t *doc = speedscope(st, "my run");
    assert_string_equal(json_string_value(json_object_get(doc, "name")),
                        "my run");

    /* Threads in the order first seen; frames shared between them. */
    json_t *profiles = json_object_get(doc, "profiles");
    assert_int_equal(json_array_size(profiles), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(profiles, 0), "name")), "T");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(profiles, 1), "endValue")), 5);
    /* main, f:5, g, h, f:6, w, [truncated]: 7 distinct frames. */
    json_t *frames = json_object_get(json_object_get(doc, "shared"),
                                     "frames");
    assert_int_equal(json_array_size(frames), 7);

    char *from_json = collapsed_from_speedscope(doc);
    char *text = collapsed(st);
    assert_string_equal(from_json, text);
    free(text);
    free(from_json);
    json_decref(doc);
    plumb_stack_free(st);
}

static void speedscope_empty_and_unnamed(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    json_t *doc = speedscope(st, NULL);
    assert_null(json_object_get(doc, "name"));
    assert_int_equal(json_array_size(json_object_get(doc, "profiles")), 0);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(doc, "shared"), "frames")), 0);
    json_decref(doc);
    plumb_stack_free(st);
}

/* Counts that are bytes (memory profiles) say so; an unknown unit is
 * refused rather than written into a file speedscope would reject. */
static void speedscope_unit_is_written_and_checked(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    plumb_frame_t f = {"alloc", "m.py", 3};
    assert_int_equal(plumb_stack_add(st, "python heap", &f, 1, 0, 4096), 0);
    char *text = NULL;
    assert_int_equal(plumb_stack_speedscope_unit(st, NULL, "bytes", &text),
                     0);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_t *profile = json_array_get(json_object_get(doc, "profiles"), 0);
    assert_string_equal(json_string_value(json_object_get(profile, "unit")),
                        "bytes");
    assert_int_equal(json_integer_value(json_array_get(
                         json_object_get(profile, "weights"), 0)), 4096);
    json_decref(doc);
    free(text);
    assert_int_equal(plumb_stack_speedscope_unit(st, NULL, "kilobytes",
                                                 &text), PLUMB_EINVAL);
    assert_null(text);
    assert_int_equal(plumb_stack_speedscope_unit(st, NULL, NULL, &text),
                     PLUMB_EINVAL);
    plumb_stack_free(st);
}

/* File names are bytes; a JSON document is UTF-8. */
static void speedscope_repairs_bytes_that_are_not_utf8(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t s[] = {FRAME("caf\xc3\xa9", "caf\xe9.py", 1)};
    add(st, "T", s, 1, 1);
    json_t *doc = speedscope(st, "x");
    json_t *frame = json_array_get(
        json_object_get(json_object_get(doc, "shared"), "frames"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "name")),
                        "caf\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(frame, "file")),
                        "caf\xef\xbf\xbd.py");
    json_decref(doc);
    plumb_stack_free(st);
}


/* ---- reading collapsed stacks back ----------------------------------- */

/* Every line of `text` ("STACK COUNT") added to a new stack. */
static plumb_stack_t *from_collapsed(const char *text)
{
    plumb_stack_t *st = new_stack();
    char *copy = strdup(text);
    assert_non_null(copy);
    for (char *line = copy, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        char *space = strrchr(line, ' ');
        assert_non_null(space);
        *space = '\0';
        assert_int_equal(plumb_stack_add_collapsed(st, line,
                                                   strtoull(space + 1, NULL,
                                                            10)),
                         0);
    }
    free(copy);
    return st;
}

static void add_collapsed_reads_back_what_collapsed_writes(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    const plumb_frame_t plain[] = {FRAME("inner", "a.py", 7),
                                   FRAME("outer", "a.py", 2)};
    /* Names with spaces and parentheses, a file with ':' and a space in
     * it, a negative line, an unknown place and a truncated stack. (A file
     * holding " (" is the one ambiguity: the function then takes the part
     * before its " (", though the collapsed text still reads the same.) */
    const plumb_frame_t odd[] = {
        FRAME("f (x) (y:1)", "dir/b.py", 12),
        FRAME("<lambda> of (3 args)", "c:/w x.py", -1),
        FRAME("no place", "", 0),
        FRAME("Klass.method", "", 9),
        FRAME("zero", "d.py", 0)};
    add(st, "main thread (tid 42)", plain, 2, 5);
    add(st, "main thread (tid 42)", odd, 5, 3);
    add(st, "worker (tid 43)", NULL, 0, 2);
    assert_int_equal(plumb_stack_add(st, "worker (tid 43)", plain, 1, 1, 4),
                     0);
    char *text = collapsed(st);
    plumb_stack_t *back = from_collapsed(text);
    char *again = collapsed(back);
    assert_string_equal(again, text);
    assert_int_equal(plumb_stack_total(back), 14);

    /* The frames themselves, not only their text, came back. */
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_top(back, 1, &e, &n), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(e[i].function, "f (x) (y:1)")) {
            /* Split at the last " (" with a file:line) tail. */
            assert_string_equal(e[i].file, "dir/b.py");
            assert_int_equal(e[i].line, 12);
            seen |= 1;
        }
        if (!strcmp(e[i].function, "<lambda> of (3 args)")) {
            assert_string_equal(e[i].file, "c:/w x.py");
            assert_int_equal(e[i].line, -1);
            seen |= 2;
        }
        if (!strcmp(e[i].function, "no place")) {
            assert_string_equal(e[i].file, "");
            assert_int_equal(e[i].line, 0);
            seen |= 4;
        }
        if (!strcmp(e[i].function, "Klass.method")) {
            assert_string_equal(e[i].file, "");
            assert_int_equal(e[i].line, 9);
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
    free(e);
    free(again);
    free(text);
    plumb_stack_free(back);
    plumb_stack_free(st);
}

static void add_collapsed_arguments(void **state)
{
    (void)state;
    plumb_stack_t *st = new_stack();
    assert_int_equal(plumb_stack_add_collapsed(NULL, "t;f (a.py:1)", 1),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_stack_add_collapsed(st, NULL, 1), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_add_collapsed(st, "t;f (a.py:1)", 0), 0);
    assert_int_equal(plumb_stack_total(st), 0);
    /* A frame whose tail is not "file:line)" is a name alone. */
    assert_int_equal(plumb_stack_add_collapsed(st, "t;f (a.py:x)", 2), 0);
    char *text = collapsed(st);
    assert_string_equal(text, "t;f (a.py:x) 2\n");
    free(text);
    plumb_stack_free(st);
}

/* ---- two aggregates side by side ------------------------------------- */

static void diff_orders_by_change_of_share(void **state)
{
    (void)state;
    plumb_stack_t *a = new_stack(), *b = new_stack();
    const plumb_frame_t f_main[] = {FRAME("f", "m.py", 3),
                                    FRAME("main", "m.py", 9)};
    const plumb_frame_t g_main[] = {FRAME("g", "m.py", 5),
                                    FRAME("main", "m.py", 9)};
    const plumb_frame_t h[] = {FRAME("h", "n.py", 1)};
    /* A: f 75%, g 25%. B: f 20%, g 40%, h 40% (h only in B). */
    add(a, "t", f_main, 2, 75);
    add(a, "t", g_main, 2, 25);
    add(b, "t", f_main, 2, 20);
    add(b, "t", g_main, 2, 40);
    add(b, "t", h, 1, 40);
    plumb_stack_change_t *ch = NULL;
    size_t n = 0;
    assert_int_equal(plumb_stack_diff(a, b, &ch, &n), 0);
    assert_int_equal(n, 4);
    /* |change|: f 55, h 40, main 40 (100 -> 60), g 15; ties by name. */
    assert_string_equal(ch[0].function, "f");
    assert_true(fabs(ch[0].share_a - 0.75) < 1e-12);
    assert_true(fabs(ch[0].share_b - 0.20) < 1e-12);
    assert_string_equal(ch[1].function, "h");
    assert_string_equal(ch[1].file, "n.py");
    assert_true(ch[1].share_a == 0 && ch[1].total_a == 0);
    assert_int_equal(ch[1].total_b, 40);
    assert_string_equal(ch[2].function, "main");
    assert_true(fabs(ch[2].share_a - 1.0) < 1e-12);
    assert_true(fabs(ch[2].share_b - 0.6) < 1e-12);
    assert_string_equal(ch[3].function, "g");
    assert_true(fabs(ch[3].share_b - ch[3].share_a - 0.15) < 1e-12);
    free(ch);

    plumb_stack_t *empty = new_stack();
    assert_int_equal(plumb_stack_diff(empty, empty, &ch, &n), 0);
    assert_int_equal(n, 0);
    assert_null(ch);
    assert_int_equal(plumb_stack_diff(NULL, b, &ch, &n), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_diff(a, b, NULL, &n), PLUMB_EINVAL);
    plumb_stack_free(empty);
    plumb_stack_free(a);
    plumb_stack_free(b);
}


/* Every allocation of add_collapsed and diff can fail: each failure is
 * PLUMB_ENOMEM, leaks nothing (ASan, valgrind) and leaves the stack as
 * it was; with no failure left to inject, both succeed. */
static void add_collapsed_and_diff_out_of_memory(void **state)
{
    (void)state;
    const char *line = "t;outer (a.py:1);inner (b.py:2)";
    int done = 0;
    for (unsigned long nth = 1; !done && nth < 1000; nth++) {
        plumb_stack_t *st = new_stack();
        plumb__stack_fail_alloc(nth);
        int err = plumb_stack_add_collapsed(st, line, 3);
        unsigned long left = plumb__stack_fail_alloc(0);
        if (err == 0) {
            assert_int_equal(plumb_stack_total(st), 3);
            done = left > 0;
        } else {
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_int_equal(plumb_stack_total(st), 0);
        }
        plumb_stack_free(st);
    }
    assert_true(done);
    plumb_stack_t *a = new_stack(), *b = new_stack();
    assert_int_equal(plumb_stack_add_collapsed(a, line, 3), 0);
    assert_int_equal(plumb_stack_add_collapsed(b, "t;other (c.py:3)", 1), 0);
    done = 0;
    for (unsigned long nth = 1; !done && nth < 1000; nth++) {
        plumb_stack_change_t *ch = NULL;
        size_t n = 0;
        plumb__stack_fail_alloc(nth);
        int err = plumb_stack_diff(a, b, &ch, &n);
        unsigned long left = plumb__stack_fail_alloc(0);
        if (err == 0) {
            assert_int_equal(n, 3);
            done = left > 0;
        } else {
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_null(ch);
            assert_int_equal(n, 0);
        }
        free(ch);
    }
    assert_true(done);
    plumb_stack_free(a);
    plumb_stack_free(b);
}

/* ---- every stack, one by one -------------------------------------------- */

/* What plumb_stack_each handed over, as collapsed-like text:
 * "thread|outer@file:line;inner@file:line|count|truncated". */
typedef struct {
    char text[8][128];
    size_t n, stop_after;
} visits_t;

static int record(const plumb_stack_path_t *path, void *arg)
{
    visits_t *v = arg;
    assert_true(v->n < 8);
    char *out = v->text[v->n++];
    int at = snprintf(out, 128, "%s|", path->thread);
    for (size_t i = 0; i < path->n_frames; i++)
        at += snprintf(out + at, 128 - (size_t)at, "%s%s@%s:%d",
                       i ? ";" : "", path->frames[i].function,
                       path->frames[i].file, path->frames[i].line);
    snprintf(out + at, 128 - (size_t)at, "|%llu|%d",
             (unsigned long long)path->count, path->truncated);
    return v->stop_after && v->n == v->stop_after ? 42 : 0;
}

/* By count, then by thread and frames; outermost first; the truncated
 * marker a flag, not a frame; a thread without Python, no frames. */
static void each_visits_by_count_then_frames(void **state)
{
    (void)state;
    const plumb_frame_t ab[] = {FRAME("b", "m.py", 2), FRAME("a", "m.py", 1)};
    const plumb_frame_t ac[] = {FRAME("c", "m.py", 3), FRAME("a", "m.py", 1)};
    plumb_stack_t *st = new_stack();
    add(st, "t2", ab, 2, 5);
    add(st, "t1", ac, 2, 5);
    add(st, "t1", ab, 2, 5);
    add(st, "t1", ab + 1, 1, 9);
    add(st, "t1", NULL, 0, 1);
    assert_int_equal(plumb_stack_add(st, "t1", ac, 1, 1, 2), 0);
    visits_t v = {0};
    assert_int_equal(plumb_stack_each(st, record, &v), 0);
    assert_int_equal(v.n, 6);
    assert_string_equal(v.text[0], "t1|a@m.py:1|9|0");
    assert_string_equal(v.text[1], "t1|a@m.py:1;b@m.py:2|5|0");
    assert_string_equal(v.text[2], "t1|a@m.py:1;c@m.py:3|5|0");
    assert_string_equal(v.text[3], "t2|a@m.py:1;b@m.py:2|5|0");
    assert_string_equal(v.text[4], "t1|c@m.py:3|2|1");
    assert_string_equal(v.text[5], "t1||1|0");

    /* a visitor's non-zero return stops the walk and is returned */
    visits_t stop = {.stop_after = 2};
    assert_int_equal(plumb_stack_each(st, record, &stop), 42);
    assert_int_equal(stop.n, 2);
    assert_int_equal(plumb_stack_each(NULL, record, &v), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_each(st, NULL, &v), PLUMB_EINVAL);

    /* every allocation can fail, before any visit */
    int done = 0;
    for (unsigned long nth = 1; !done && nth < 100; nth++) {
        visits_t w = {0};
        plumb__stack_fail_alloc(nth);
        int err = plumb_stack_each(st, record, &w);
        unsigned long left = plumb__stack_fail_alloc(0);
        if (err == 0) {
            assert_int_equal(w.n, 6);
            done = left > 0;
        } else {
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_int_equal(w.n, 0);
        }
    }
    assert_true(done);
    plumb_stack_free(st);

    visits_t none = {0};
    plumb_stack_t *empty = new_stack();
    assert_int_equal(plumb_stack_each(empty, record, &none), 0);
    assert_int_equal(none.n, 0);
    plumb_stack_free(empty);
}

/* Merging equals adding both sets of stacks to one aggregate: compared
 * through the collapsed text, which lists every stack with its count
 * (truncated ones and several threads included). */
static void merge_equals_adding_both(void **state)
{
    (void)state;
    plumb_stack_t *a = small_program(), *b = new_stack(), *both = small_program();
    const plumb_frame_t deep[] = {FRAME("k", "c.py", 3), FRAME("f", "a.py", 5),
                                  FRAME("main", "a.py", 1)};
    const plumb_frame_t other[] = {FRAME("w", "t.py", 2)};
    assert_int_equal(plumb_stack_add(b, "T", deep, 3, 0, 4), 0);
    assert_int_equal(plumb_stack_add(b, "T", deep, 3, 1, 2), 0);
    assert_int_equal(plumb_stack_add(b, "U", other, 1, 0, 5), 0);
    assert_int_equal(plumb_stack_add(both, "T", deep, 3, 0, 4), 0);
    assert_int_equal(plumb_stack_add(both, "T", deep, 3, 1, 2), 0);
    assert_int_equal(plumb_stack_add(both, "U", other, 1, 0, 5), 0);
    assert_int_equal(plumb_stack_merge(a, b), 0);
    char *got = collapsed(a), *want = collapsed(both);
    assert_string_equal(got, want);
    assert_int_equal(plumb_stack_total(a), plumb_stack_total(both));
    free(got);
    free(want);
    /* merging twice doubles every count; b is left as it was */
    assert_int_equal(plumb_stack_total(b), 11);
    assert_int_equal(plumb_stack_merge(a, b), 0);
    assert_int_equal(plumb_stack_total(a), plumb_stack_total(both) + 11);
    assert_int_equal(plumb_stack_merge(a, a), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_merge(NULL, b), PLUMB_EINVAL);
    assert_int_equal(plumb_stack_merge(a, NULL), PLUMB_EINVAL);
    plumb_stack_free(a);
    plumb_stack_free(b);
    plumb_stack_free(both);
}

static void merge_out_of_memory(void **state)
{
    (void)state;
    for (unsigned long nth = 1;; nth++) {
        plumb_stack_t *a = new_stack(), *b = small_program();
        plumb__stack_fail_alloc(nth);
        int err = plumb_stack_merge(a, b);
        unsigned long left = plumb__stack_fail_alloc(0);
        plumb_stack_free(a);
        plumb_stack_free(b);
        if (err == 0) {
            assert_true(left > 0); /* every allocation was tried */
            break;
        }
        assert_int_equal(err, PLUMB_ENOMEM);
    }
}

int test_stack_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_by_hand),
        cmocka_unit_test(self_and_total_by_function),
        cmocka_unit_test(self_and_total_by_line),
        cmocka_unit_test(recursion_counted_once_in_total),
        cmocka_unit_test(mutual_recursion_counted_once),
        cmocka_unit_test(top_ties_sorted_by_name),
        cmocka_unit_test(threads_kept_apart),
        cmocka_unit_test(truncated_marker_at_outer_end),
        cmocka_unit_test(collapsed_byte_exact),
        cmocka_unit_test(collapsed_independent_of_insertion_order),
        cmocka_unit_test(collapsed_never_has_empty_frames),
        cmocka_unit_test(seen_stack_allocates_nothing),
        cmocka_unit_test(reused_buffer_is_read_again),
        cmocka_unit_test(ten_thousand_frames),
        cmocka_unit_test(null_and_zero_arguments),
        cmocka_unit_test(out_of_memory_every_allocation),
        cmocka_unit_test(speedscope_matches_collapsed),
        cmocka_unit_test(speedscope_empty_and_unnamed),
        cmocka_unit_test(speedscope_unit_is_written_and_checked),
        cmocka_unit_test(speedscope_repairs_bytes_that_are_not_utf8),
        cmocka_unit_test(add_collapsed_reads_back_what_collapsed_writes),
        cmocka_unit_test(add_collapsed_arguments),
        cmocka_unit_test(diff_orders_by_change_of_share),
        cmocka_unit_test(add_collapsed_and_diff_out_of_memory),
        cmocka_unit_test(each_visits_by_count_then_frames),
        cmocka_unit_test(merge_equals_adding_both),
        cmocka_unit_test(merge_out_of_memory),
    };
    return cmocka_run_group_tests_name("stack", tests, NULL, NULL);
}
