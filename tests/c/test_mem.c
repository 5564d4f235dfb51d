/* test_mem.c: the memory profile (its timeline kept within bounds without
 * losing a peak), its JSON (a document read back is written the same;
 * anything else is refused with a sentence naming the field), its summary
 * (the figures it prints, checked against the fixture's round numbers,
 * and golden files) and two profiles compared. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "mem_fixture.h"
#include "stack.h"
#include "tests.h"

/* ---- the noun and its timeline ------------------------------------------ */

static void new_profile_is_empty_and_unfinished(void **state)
{
    (void)state;
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_mem_new(&m), 0);
    assert_non_null(m->peak);
    assert_non_null(m->allocated);
    assert_non_null(m->end);
    assert_int_equal(plumb_stack_total(m->peak), 0);
    assert_int_equal(m->n_timeline, 0);
    assert_true(m->timeline_step_ns > 0);
    assert_int_equal(m->complete, 0);
    assert_int_equal(m->exit_status, -1);
    assert_int_equal(m->exit_signal, 0);
    plumb_mem_free(m);
    plumb_mem_free(NULL);
    assert_int_equal(plumb_mem_add_point(NULL, 0, 1, 1), PLUMB_EINVAL);
}

static void points_closer_than_the_step_fold_into_the_last(void **state)
{
    (void)state;
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(&m), 0);
    m->timeline_step_ns = 1000;
    assert_int_equal(plumb_mem_add_point(m, 0, 5, 50), 0);
    assert_int_equal(plumb_mem_add_point(m, 999, 9, 40), 0);
    assert_int_equal(m->n_timeline, 1);
    assert_int_equal(m->timeline[0].t_ns, 0);
    assert_int_equal(m->timeline[0].heap_bytes, 9);
    assert_int_equal(m->timeline[0].rss_bytes, 50);
    assert_int_equal(plumb_mem_add_point(m, 1000, 1, 1), 0);
    assert_int_equal(m->n_timeline, 2);
    /* a clock that goes back folds in too */
    assert_int_equal(plumb_mem_add_point(m, 10, 3, 70), 0);
    assert_int_equal(m->n_timeline, 2);
    assert_int_equal(m->timeline[1].t_ns, 1000);
    assert_int_equal(m->timeline[1].heap_bytes, 3);
    assert_int_equal(m->timeline[1].rss_bytes, 70);
    plumb_mem_free(m);
}

static void a_full_timeline_merges_neighbours_and_doubles_the_step(void **s)
{
    (void)s;
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(&m), 0);
    m->timeline_step_ns = 10;
    for (int i = 0; i < PLUMB_MEM_TIMELINE_MAX; i++)
        assert_int_equal(plumb_mem_add_point(m, 10 * i, (uint64_t)i,
                                             (uint64_t)(1000 - i)), 0);
    assert_int_equal(m->n_timeline, PLUMB_MEM_TIMELINE_MAX);
    assert_int_equal(m->timeline_step_ns, 10);
    assert_int_equal(plumb_mem_add_point(m, 10 * PLUMB_MEM_TIMELINE_MAX, 7,
                                         7), 0);
    assert_int_equal(m->timeline_step_ns, 20);
    assert_int_equal(m->n_timeline, PLUMB_MEM_TIMELINE_MAX / 2 + 1);
    for (int k = 0; k < PLUMB_MEM_TIMELINE_MAX / 2; k++) {
        /* each pair keeps the earlier time and the higher of each figure */
        assert_int_equal(m->timeline[k].t_ns, 20 * k);
        assert_int_equal(m->timeline[k].heap_bytes, 2 * k + 1);
        assert_int_equal(m->timeline[k].rss_bytes, 1000 - 2 * k);
    }
    assert_int_equal(m->timeline[PLUMB_MEM_TIMELINE_MAX / 2].heap_bytes, 7);
    plumb_mem_free(m);
}

/* A long recording stays within bounds, evenly spaced, with its spike. */
static void a_long_recording_keeps_its_peak(void **state)
{
    (void)state;
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(&m), 0);
    int64_t first_step = m->timeline_step_ns;
    const int64_t ms = 1000000;
    for (int i = 0; i < 200000; i++)
        assert_int_equal(plumb_mem_add_point(m, i * ms,
                                             i == 123457 ? 1u << 30
                                                         : (uint64_t)(i % 997),
                                             (uint64_t)i), 0);
    assert_true(m->n_timeline <= PLUMB_MEM_TIMELINE_MAX);
    assert_true(m->n_timeline > PLUMB_MEM_TIMELINE_MAX / 4);
    uint64_t top = 0;
    for (size_t k = 0; k < m->n_timeline; k++) {
        top = m->timeline[k].heap_bytes > top ? m->timeline[k].heap_bytes
                                              : top;
        if (k > 0)
            assert_true(m->timeline[k].t_ns - m->timeline[k - 1].t_ns >=
                        m->timeline_step_ns);
    }
    assert_int_equal(top, 1u << 30);
    assert_int_equal(m->timeline[0].t_ns, 0);
    /* the last RSS is the highest, and it is kept */
    assert_int_equal(m->timeline[m->n_timeline - 1].rss_bytes, 199999);
    /* the step only ever doubles */
    int64_t step = first_step;
    while (step < m->timeline_step_ns)
        step *= 2;
    assert_int_equal(step, m->timeline_step_ns);
    plumb_mem_free(m);
}

/* ---- JSON ----------------------------------------------------------------- */

static char *to_json(const plumb_mem_t *m)
{
    char *text = NULL;
    assert_int_equal(plumb_report_mem_json(m, &text), 0);
    assert_non_null(text);
    return text;
}

static void json_reads_back_to_the_same_document(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem(), *back = NULL;
    char *text = to_json(m), why[256] = "x";
    assert_int_equal(plumb_mem_from_json(text, &back, why, sizeof why), 0);
    assert_string_equal(why, "");
    char *again = to_json(back);
    assert_string_equal(again, text);
    /* the header itself, not only its rendering */
    assert_int_equal(back->pid, 4242);
    assert_string_equal(back->python, "CPython 3.12.1");
    assert_string_equal(back->command, m->command);
    assert_int_equal(back->allocated_bytes, 1310 * MIB);
    assert_int_equal(back->peak_bytes, 200 * MIB);
    assert_int_equal(back->peak_ns, INT64_C(1500000000));
    assert_int_equal(back->complete, 1);
    assert_int_equal(back->exit_status, 0);
    assert_int_equal(back->n_timeline, 25);
    assert_int_equal(back->timeline[24].rss_bytes, 0);
    assert_int_equal(back->timeline_step_ns, m->timeline_step_ns);
    /* the stacks, truncated one and all */
    const plumb_stack_t *a[3] = {m->peak, m->allocated, m->end};
    const plumb_stack_t *b[3] = {back->peak, back->allocated, back->end};
    for (int i = 0; i < 3; i++) {
        char *ca = NULL, *cb = NULL;
        assert_int_equal(plumb_stack_collapsed(a[i], &ca), 0);
        assert_int_equal(plumb_stack_collapsed(b[i], &cb), 0);
        if (i != 0) /* the peak holds a file name that is not UTF-8 */
            assert_string_equal(ca, cb);
        assert_int_equal(plumb_stack_total(a[i]), plumb_stack_total(b[i]));
        free(ca);
        free(cb);
    }
    /* a profile that died, killed by a signal: null exit status */
    back->complete = 0;
    back->exit_status = -1;
    back->exit_signal = SIGKILL;
    char *died = to_json(back);
    plumb_mem_t *third = NULL;
    assert_int_equal(plumb_mem_from_json(died, &third, NULL, 0), 0);
    assert_int_equal(third->complete, 0);
    assert_int_equal(third->exit_status, -1);
    assert_int_equal(third->exit_signal, SIGKILL);
    plumb_mem_free(third);
    free(died);
    free(again);
    free(text);
    plumb_mem_free(back);
    plumb_mem_free(m);
}

static const json_t *at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("no field %s", key);
    return v;
}

static void json_has_the_documented_shape(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem();
    char *text = to_json(m);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(at(doc, "kind")), "mem");
    assert_int_equal(json_integer_value(at(doc, "schema_version")),
                     PLUMB_JSON_SCHEMA_VERSION);
    const json_t *h = at(doc, "header");
    assert_int_equal(json_integer_value(at(h, "exit_status")), 0);
    assert_true(json_is_null(at(h, "exit_signal")));
    assert_true(json_is_false(at(h, "native")));
    assert_true(json_is_true(at(h, "complete")));
    assert_int_equal(json_integer_value(at(h, "mean_bytes")), 16384);
    assert_int_equal(json_integer_value(at(h, "start_rss_bytes")), 10 * MIB);
    const json_t *tl = at(doc, "timeline");
    assert_int_equal(json_array_size(tl), 25);
    const json_t *p15 = json_array_get(tl, 15);
    assert_int_equal(json_integer_value(at(p15, "t_ns")), 1500000000);
    assert_int_equal(json_integer_value(at(p15, "heap_bytes")), 200 * MIB);
    assert_int_equal(json_integer_value(at(p15, "rss_bytes")), 250 * MIB);
    /* RSS unknown is null, not 0 */
    assert_true(json_is_null(at(json_array_get(tl, 24), "rss_bytes")));
    /* the biggest stack first, outermost frame first */
    const json_t *s0 = json_array_get(at(doc, "peak"), 0);
    assert_int_equal(json_integer_value(at(s0, "bytes")), 150 * MIB);
    assert_string_equal(json_string_value(at(s0, "thread")),
                        "MainThread (tid 7)");
    const json_t *frames = at(s0, "frames");
    assert_int_equal(json_array_size(frames), 3);
    assert_string_equal(
        json_string_value(at(json_array_get(frames, 0), "function")),
        "<module>");
    assert_string_equal(
        json_string_value(at(json_array_get(frames, 2), "function")), "load");
    assert_int_equal(json_integer_value(at(json_array_get(frames, 2), "line")),
                     12);
    assert_true(json_is_false(at(s0, "truncated")));
    assert_int_equal(json_array_size(at(doc, "allocated")), 4);
    assert_int_equal(json_array_size(at(doc, "end")), 1);
    /* the lists a reader wants without recomputing */
    const json_t *line0 = json_array_get(at(doc, "peak_lines"), 0);
    assert_int_equal(json_integer_value(at(line0, "line")), 12);
    assert_int_equal(json_integer_value(at(line0, "self_bytes")), 150 * MIB);
    const json_t *fn0 = json_array_get(at(doc, "peak_functions"), 0);
    assert_string_equal(json_string_value(at(fn0, "function")), "<module>");
    assert_int_equal(json_integer_value(at(fn0, "total_bytes")), 195 * MIB);
    const json_t *end0 = json_array_get(at(doc, "end_lines"), 0);
    assert_string_equal(json_string_value(at(end0, "function")), "remember");
    const json_t *alloc0 = json_array_get(at(doc, "allocated_lines"), 0);
    assert_int_equal(json_integer_value(at(alloc0, "self_bytes")), 900 * MIB);
    json_decref(doc);
    free(text);
    plumb_mem_free(m);
    char *out = (char *)1;
    assert_int_equal(plumb_report_mem_json(NULL, &out), PLUMB_EINVAL);
    assert_null(out);
}

/* Each malformed document: the change made to a good one and the words
 * that must be in the sentence. */
typedef struct {
    const char *path; /* "header.peak_bytes", "peak.0.frames.0.line" */
    const char *value; /* JSON text; NULL deletes the field */
    const char *why;
} breakage_t;

/* Sets (or deletes) the field at a dotted path, array indices as numbers. */
static void set_path(json_t *doc, const char *path, const char *value)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = doc;
    char *key = buf, *dot;
    while ((dot = strchr(key, '.'))) {
        *dot = '\0';
        node = json_is_array(node) ? json_array_get(node, strtoul(key, NULL, 10))
                                   : json_object_get(node, key);
        assert_non_null(node);
        key = dot + 1;
    }
    if (!value) {
        assert_int_equal(json_object_del(node, key), 0);
        return;
    }
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    if (json_is_array(node))
        assert_int_equal(json_array_set_new(node, strtoul(key, NULL, 10), v),
                         0);
    else
        assert_int_equal(json_object_set_new(node, key, v), 0);
}

static void malformed_documents_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const breakage_t cases[] = {
        {"kind", "\"profile\"", "not a memory profile: its kind is profile"},
        {"kind", NULL, "its kind is missing"},
        {"schema_version", "2", "schema version 2; this plumb reads up to 1"},
        {"schema_version", "\"1\"", "schema_version is out of range or not"},
        {"header", NULL, "header is missing"},
        {"header", "[]", "header is not an object"},
        {"header.peak_bytes", "-1", "header.peak_bytes is out of range"},
        {"header.peak_bytes", NULL, "header.peak_bytes is missing"},
        {"header.mean_bytes", "0", "header.mean_bytes is 0"},
        {"header.native", "1", "header.native is not a boolean"},
        {"header.python", "7", "header.python is not a string"},
        {"header.exit_signal", "0", "header.exit_signal is out of range"},
        {"header.timeline_step_ns", "0", "header.timeline_step_ns is out"},
        {"timeline", "{}", "timeline is not an array"},
        {"timeline.3", "5", "timeline[3] is not an object"},
        {"timeline.3.t_ns", "1.5", "timeline[3].t_ns is out of range or"},
        {"timeline.3.t_ns", "0", "timeline[3].t_ns goes back in time"},
        {"timeline.2.heap_bytes", NULL, "timeline[2].heap_bytes is missing"},
        {"peak", NULL, "peak is missing"},
        {"allocated.1", "\"x\"", "allocated[1] is not an object"},
        {"allocated.1.thread", "null", "allocated[1].thread is not a string"},
        {"end.0.frames", "{}", "end[0].frames is not an array"},
        {"end.0.bytes", "-5", "end[0].bytes is out of range"},
        {"end.0.truncated", "0", "end[0].truncated is not a boolean"},
        {"peak.0.frames.1", "[]", "peak[0].frames[1] is not an object"},
        {"peak.0.frames.2.line", "\"12\"",
         "peak[0].frames[2].line is out of range or not a number"},
        {"peak.0.frames.2.function", "3",
         "peak[0].frames[2].function is not a string"},
        {"peak.0.frames.0.file", NULL, "peak[0].frames[0].file is missing"},
    };
    plumb_mem_t *m = fixture_mem();
    char *good = to_json(m);
    plumb_mem_free(m);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *doc = json_loads(good, 0, NULL);
        assert_non_null(doc);
        set_path(doc, cases[i].path, cases[i].value);
        char *bad = json_dumps(doc, 0), why[256] = "";
        json_decref(doc);
        plumb_mem_t *out = (plumb_mem_t *)1;
        int err = plumb_mem_from_json(bad, &out, why, sizeof why);
        if (err != PLUMB_EPARSE || !strstr(why, cases[i].why))
            fail_msg("%s = %s: got %d, '%s'; wanted '%s'", cases[i].path,
                     cases[i].value ? cases[i].value : "(deleted)", err, why,
                     cases[i].why);
        assert_null(out);
        free(bad);
    }
    /* not JSON, or not an object, or a key given twice */
    static const char *const texts[][2] = {
        {"", "not JSON"},
        {"{\"kind\": \"mem\",", "not JSON"},
        {"[1, 2]", "the document is not a JSON object"},
        {"{\"kind\": \"mem\", \"kind\": \"mem\"}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char why[256] = "";
        plumb_mem_t *out = NULL;
        assert_int_equal(plumb_mem_from_json(texts[i][0], &out, why,
                                             sizeof why), PLUMB_EPARSE);
        assert_non_null(strstr(why, texts[i][1]));
        assert_null(out);
    }
    /* more points than a profile keeps */
    json_t *doc = json_loads(good, 0, NULL);
    json_t *tl = json_object_get(doc, "timeline");
    for (int i = 0; i < PLUMB_MEM_TIMELINE_MAX; i++)
        json_array_append_new(tl, json_pack("{s:I,s:i,s:n}", "t_ns",
                                            (json_int_t)3000000000 + i,
                                            "heap_bytes", 1, "rss_bytes"));
    char *long_doc = json_dumps(doc, 0), why[256] = "";
    json_decref(doc);
    plumb_mem_t *out = NULL;
    assert_int_equal(plumb_mem_from_json(long_doc, &out, why, sizeof why),
                     PLUMB_EPARSE);
    assert_non_null(strstr(why, "timeline has 537 points: a memory profile "
                                "keeps at most 512"));
    free(long_doc);
    assert_int_equal(plumb_mem_from_json(NULL, &out, NULL, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_mem_from_json(good, NULL, NULL, 0), PLUMB_EINVAL);
    free(good);
}

/* Every allocation of the stacks failing in turn: PLUMB_ENOMEM, nothing
 * returned, nothing leaked (valgrind and ASan watch). */
static void reading_survives_running_out_of_memory(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem();
    char *text = to_json(m);
    plumb_mem_free(m);
    for (unsigned long nth = 1;; nth++) {
        plumb_mem_t *out = NULL;
        char why[128] = "";
        plumb__stack_fail_alloc(nth);
        int err = plumb_mem_from_json(text, &out, why, sizeof why);
        unsigned long left = plumb__stack_fail_alloc(0);
        if (left > 0) { /* it never fired: every allocation succeeded */
            assert_int_equal(err, 0);
            plumb_mem_free(out);
            break;
        }
        assert_int_equal(err, PLUMB_ENOMEM);
        assert_string_equal(why, "out of memory");
        assert_null(out);
        assert_true(nth < 10000);
    }
    free(text);
}

/* ---- the summary -------------------------------------------------------- */

static char *summary(const plumb_mem_t *m, int color, size_t top)
{
    plumb_report_opts_t opts = {color, 0, 0};
    char *out = NULL;
    assert_int_equal(plumb_report_mem(m, &opts, top, &out), 0);
    assert_non_null(out);
    return out;
}

static void assert_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' is not in:\n%s", part, text);
}

static void summary_states_the_figures_and_how_they_were_got(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem();
    char *out = summary(m, 0, 10);
    assert_has(out, "plumb mem · CPython 3.12.1 · pid 4242 · Python "
                    "allocations\npython3 etl.py --rows 1000000\n");
    assert_has(out, "the program exited with status 0 after 2.500 s\n");
    assert_has(out, "Python heap peak  200.0 MiB at 1.500 s  (estimated; "
                    "sampled: 12850 samples, one per 16.00 KiB allocated on "
                    "average)\n");
    assert_has(out, "RSS peak          251.0 MiB  (10.00 MiB at the start)");
    assert_has(out, "allocated         1.279 GiB in 3512004 allocations  "
                    "(exact: every allocation counted)");
    assert_has(out, "held at the end   12.00 MiB  (estimated from the same "
                    "samples)");
    /* alive at the peak: shares of 200 MiB */
    assert_has(out, "Alive at the peak, by line\n"
                    "   150.0 MiB   75.0%  /w/etl.py:12  load\n"
                    "   40.00 MiB   20.0%  /w/etl.py:20  parse\n");
    assert_has(out, "Alive at the peak, by function (callees included)\n"
                    "   195.0 MiB   97.5%  <module>  (/w/etl.py)\n"
                    "   190.0 MiB   95.0%  main  (/w/etl.py)\n"
                    "   150.0 MiB   75.0%  load  (/w/etl.py)\n");
    /* allocated: shares of 1310 MiB */
    assert_has(out, "Allocated most, by line\n"
                    "   900.0 MiB   68.7%  /w/etl.py:12  load\n"
                    "   350.0 MiB   26.7%  /w/etl.py:20  parse\n");
    assert_has(out, "Held at the end (likely leaks), by line\n"
                    "   12.00 MiB  100.0%  /w/etl.py:25  remember\n");
    /* the timeline: 25 columns, its peak a full block; RSS on one scale */
    assert_has(out, "from 0 ns to 2.400 s; one scale, █ is 250.0 MiB");
    assert_has(out, "  heap ");
    assert_has(out, "  RSS  ");
    assert_null(strstr(out, "\033["));
    assert_null(strstr(out, "died"));
    free(out);

    /* a top of 1: one row, and what the rest hides */
    out = summary(m, 0, 1);
    assert_has(out, "Alive at the peak, by line\n"
                    "   150.0 MiB   75.0%  /w/etl.py:12  load\n"
                    "  ... 3 more (--top N, or a flame graph: --format "
                    "collapsed / speedscope)\n");
    free(out);

    /* colour only when asked */
    out = summary(m, 1, 10);
    assert_has(out, "\033[1mplumb mem\033[0m");
    free(out);
    plumb_mem_free(m);
}

static void summary_of_a_program_that_died(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem();
    m->complete = 0;
    m->exit_status = -1;
    m->exit_signal = SIGKILL;
    m->duration_ns = INT64_C(1200000000);
    char *out = summary(m, 0, 10);
    assert_has(out, "the program died: figures are those of its last "
                    "snapshot, at 1.200 s (it was killed by signal 9 "
                    "(Killed))\n");
    free(out);
    /* recorded from Python: no exit to tell */
    m->complete = 1;
    m->exit_signal = 0;
    out = summary(m, 0, 10);
    assert_has(out, "\nrecorded for 1.200 s\n");
    free(out);
    plumb_mem_free(m);
}

static void summary_of_a_profile_without_samples(void **state)
{
    (void)state;
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(&m), 0);
    m->mean_bytes = 1 << 20;
    m->allocated_bytes = 5000;
    m->allocations = 12;
    m->complete = 1;
    m->exit_status = 0;
    char *out = summary(m, 0, 10);
    assert_has(out, "plumb mem · Python · pid 0 · Python allocations\n");
    assert_has(out, "note: no allocation was sampled, so every estimate is "
                    "0: the program allocated 4.883 KiB, too little for one "
                    "sample per 1.000 MiB; sample more often (a smaller "
                    "--sample-bytes)");
    assert_has(out, "Alive at the peak, by line\n  none sampled\n");
    assert_has(out, "RSS peak          unknown");
    assert_has(out, "Timeline\n  no point was recorded\n");
    free(out);
    char *none = (char *)1;
    assert_int_equal(plumb_report_mem(NULL, NULL, 10, &none), PLUMB_EINVAL);
    assert_null(none);
    plumb_mem_free(m);
}

static void golden_summary_and_json(void **state)
{
    (void)state;
    plumb_mem_t *m = fixture_mem();
    char *out = summary(m, 0, 10);
    check_golden("mem.txt", out);
    free(out);
    out = to_json(m);
    check_golden("mem.json", out);
    free(out);
    m->complete = 0;
    m->exit_status = -1;
    m->exit_signal = SIGSEGV;
    m->native = 1;
    out = summary(m, 1, 10);
    check_golden("mem-died-color.txt", out);
    free(out);
    plumb_mem_free(m);
}

/* ---- two profiles compared ---------------------------------------------- */

/* The fixture with load() holding a quarter as much at the peak: 37.5
 * MiB, so the peak is 87.5 MiB. */
static plumb_mem_t *lighter(void)
{
    plumb_mem_t *m = fixture_mem();
    plumb_stack_free(m->peak);
    assert_int_equal(plumb_stack_new(&m->peak), 0);
    const plumb_frame_t load[] = {MEM_FRAME("load", "/w/etl.py", 12),
                                  MEM_FRAME("main", "/w/etl.py", 33),
                                  MEM_FRAME("<module>", "/w/etl.py", 40)};
    const plumb_frame_t parse[] = {MEM_FRAME("parse", "/w/etl.py", 20),
                                   MEM_FRAME("main", "/w/etl.py", 34),
                                   MEM_FRAME("<module>", "/w/etl.py", 40)};
    const plumb_frame_t gen[] = {MEM_FRAME("rows", "/w/etl.py", 60),
                                 MEM_FRAME("<module>", "/w/etl.py", 40)};
    assert_int_equal(plumb_stack_add(m->peak, "MainThread (tid 7)", load, 3,
                                     0, 150 * MIB / 4), 0);
    assert_int_equal(plumb_stack_add(m->peak, "MainThread (tid 7)", parse, 3,
                                     0, 40 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->peak, "MainThread (tid 7)", gen, 2,
                                     0, 10 * MIB), 0);
    m->peak_bytes = 87 * MIB + MIB / 2;
    return m;
}

static void compare_shows_the_peaks_and_what_changed_most(void **state)
{
    (void)state;
    plumb_mem_t *a = fixture_mem(), *b = lighter();
    plumb_report_opts_t opts = {0, 0, 0};
    char *out = NULL;
    assert_int_equal(plumb_report_mem_diff(a, b, &opts, 20, &out), 0);
    assert_has(out, "B/A 0.44x: 2.29x less memory than A's\n");
    /* load 150 -> 37.5 MiB and main 190 -> 77.5 (a tie: by name);
     * <module> 195 -> 87.5; rows 0 -> 10; [truncated], loads and recurse
     * 5 -> 0; parse 40 -> 40 */
    const char *order[] = {"load",  "main",    "<module>", "rows",
                           "[truncated]", "loads", "recurse", "parse"};
    const char *from = out;
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        char row[64];
        snprintf(row, sizeof row, "  %s", order[i]);
        const char *hit = strstr(from, row);
        if (!hit)
            fail_msg("'%s' not after the rows before it in:\n%s", order[i],
                     out);
        from = hit + 1;
    }
    assert_has(out, " 150.0 MiB  37.50 MiB  -112.5 MiB  load (/w/etl.py)\n");
    assert_has(out, "       0 B  10.00 MiB  +10.00 MiB  rows (/w/etl.py)\n");
    assert_has(out, " 40.00 MiB  40.00 MiB         0 B  parse (/w/etl.py)\n");
    free(out);
    /* the other way round */
    assert_int_equal(plumb_report_mem_diff(b, a, &opts, 2, &out), 0);
    assert_has(out, "B/A 2.29x: 2.29x more memory than A's\n");
    assert_has(out, "... 6 more functions with smaller changes");
    check_golden("mem-diff.txt", out);
    free(out);
    assert_int_equal(plumb_report_mem_diff(a, NULL, &opts, 2, &out),
                     PLUMB_EINVAL);
    plumb_mem_free(a);
    plumb_mem_free(b);
}

int test_mem_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_profile_is_empty_and_unfinished),
        cmocka_unit_test(points_closer_than_the_step_fold_into_the_last),
        cmocka_unit_test(
            a_full_timeline_merges_neighbours_and_doubles_the_step),
        cmocka_unit_test(a_long_recording_keeps_its_peak),
        cmocka_unit_test(json_reads_back_to_the_same_document),
        cmocka_unit_test(json_has_the_documented_shape),
        cmocka_unit_test(malformed_documents_are_refused_with_a_reason),
        cmocka_unit_test(reading_survives_running_out_of_memory),
        cmocka_unit_test(summary_states_the_figures_and_how_they_were_got),
        cmocka_unit_test(summary_of_a_program_that_died),
        cmocka_unit_test(summary_of_a_profile_without_samples),
        cmocka_unit_test(golden_summary_and_json),
        cmocka_unit_test(compare_shows_the_peaks_and_what_changed_most),
    };
    return cmocka_run_group_tests_name("mem", tests, NULL, NULL);
}
