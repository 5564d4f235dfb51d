/* test_session.c: what a sample covers. A loop run (plumb.bench's) keeps
 * the time of all the calls of each sample and gives per-call values to
 * the statistics, the comparison and the report; a command run keeps one
 * execution per sample. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static const double fast_ns[] = {45.25, 44.5, 46.125, 45.0, 47.75, 45.5};
static const double slow_ns[] = {90.5, 91.25, 89.0, 92.0, 90.0, 91.5};

static plumb_loop_subject_t subject(const double *loop_ns, size_t n,
                                    uint64_t loops)
{
    plumb_loop_subject_t s;
    memset(&s, 0, sizeof s);
    s.loops = loops;
    s.loop_ns = (double *)loop_ns;
    s.n_samples = n;
    return s;
}

static void loop_run_keeps_each_samples_total(void **state)
{
    (void)state;
    plumb_session_t *s = plumb_session_new();
    plumb_loop_subject_t sub = subject(fast_ns, 6, 200000);
    plumb_run_t *run = NULL;
    assert_non_null(s);
    assert_int_equal(plumb_session_add_loop_run(s, "fast", "m:fast", &sub,
                                                &run),
                     0);
    assert_int_equal(s->n_runs, 1);
    assert_ptr_equal(run, &s->runs[0]);
    assert_string_equal(run->name, "fast");
    assert_string_equal(run->command, "m:fast");
    assert_true(run->loops == 200000);
    assert_int_equal(run->baseline, -1);
    assert_int_equal(run->n_samples, 6);
    /* 46.125 ns x 200000 calls: the 9.225 ms the clock measured */
    assert_int_equal(run->samples[2].metric[PLUMB_METRIC_WALL], 9225000);
    assert_int_equal(run->samples[2].metric[PLUMB_METRIC_CPU],
                     PLUMB_UNAVAILABLE);
    assert_true(plumb_sample_ok(&run->samples[2]));

    double *v = NULL;
    size_t n = 0;
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_WALL, &v, &n), 0);
    assert_int_equal(n, 6);
    for (size_t k = 0; k < n; k++)
        assert_true(v[k] == fast_ns[k]);
    free(v);
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_CPU, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);

    /* A peak is not a sum: max RSS stays whole; a count is per call. */
    run->samples[0].metric[PLUMB_METRIC_MAX_RSS] = 4000000;
    run->samples[0].metric[PLUMB_METRIC_MINOR_FAULTS] = 400000;
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_MAX_RSS, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_true(v[0] == 4000000.0);
    free(v);
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_MINOR_FAULTS, &v, &n),
                     0);
    assert_true(v[0] == 2.0);
    free(v);

    /* A copy stays a loop run. */
    plumb_run_t *copy = NULL;
    assert_int_equal(plumb_session_copy_run(s, &s->runs[0], &copy), 0);
    assert_true(copy->loops == 200000);
    plumb_session_free(s);
}

static void command_run_values_are_whole_executions(void **state)
{
    (void)state;
    plumb_session_t *s = plumb_session_new();
    plumb_run_t *run = NULL;
    plumb_sample_t sample;
    assert_int_equal(plumb_session_add_run(s, "cmd", "sleep 1", &run), 0);
    assert_true(run->loops == 0);
    plumb_sample_init(&sample);
    sample.metric[PLUMB_METRIC_WALL] = 1000000007;
    assert_int_equal(plumb_run_add_sample(run, &sample), 0);
    double *v = NULL;
    size_t n = 0;
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_WALL, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_true(v[0] == 1000000007.0);
    free(v);
    plumb_session_free(s);
}

static void loop_run_refuses_what_it_cannot_store(void **state)
{
    (void)state;
    plumb_session_t *s = plumb_session_new();
    plumb_loop_subject_t ok = subject(fast_ns, 6, 10);
    plumb_loop_subject_t no_loops = subject(fast_ns, 6, 0);
    plumb_loop_subject_t no_array = subject(NULL, 6, 10);
    double negative[] = {5.0, -1.0};
    double not_a_number[] = {5.0, NAN};
    double too_long[] = {1e10};
    plumb_loop_subject_t neg = subject(negative, 2, 10);
    plumb_loop_subject_t nan_time = subject(not_a_number, 2, 10);
    plumb_loop_subject_t overflow = subject(too_long, 1, UINT64_C(1000000000));

    assert_int_equal(plumb_session_add_loop_run(NULL, "a", "b", &ok, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, NULL, "b", &ok, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", NULL, &ok, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", NULL, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", &no_loops, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", &no_array, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", &neg, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", &nan_time, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_session_add_loop_run(s, "a", "b", &overflow, NULL),
                     PLUMB_EINVAL);
    /* a refused run leaves nothing behind */
    assert_int_equal(s->n_runs, 0);
    plumb_session_free(s);
}

/* The analysis compares loop runs per call, whatever their loops: the
 * slow run takes twice as long per call with half the calls per sample. */
static void analysis_and_report_read_loop_runs_per_call(void **state)
{
    (void)state;
    plumb_session_t *s = plumb_session_new();
    plumb_loop_subject_t fast = subject(fast_ns, 6, 200000);
    plumb_loop_subject_t slow = subject(slow_ns, 6, 100000);
    plumb_run_t *run = NULL;
    plumb_compare_opts_t opts;
    plumb_analysis_t *a = NULL;
    plumb_report_opts_t ro = {0, 0, 0};
    char *text = NULL, *json = NULL;
    assert_int_equal(plumb_session_add_loop_run(s, "fast", "m:fast", &fast,
                                                NULL),
                     0);
    assert_int_equal(plumb_session_add_loop_run(s, "slow", "m:slow", &slow,
                                                &run),
                     0);
    run->baseline = 0;
    s->overhead_ns = 5; /* the timing loop's own cost per call */
    plumb_compare_opts_init(&opts);
    assert_int_equal(plumb_analysis_new(s, &opts, &a), 0);
    assert_true(a->runs[0].measured[PLUMB_METRIC_WALL]);
    assert_true(a->runs[0].summary[PLUMB_METRIC_WALL].median == 45.375);
    assert_true(a->runs[1].summary[PLUMB_METRIC_WALL].median == 90.875);
    assert_int_equal(a->n_pairs, 1);
    assert_true(a->pairs[0].compared[0]);
    assert_true(fabs(a->pairs[0].cmp[0].ratio - 45.375 / 90.875) < 1e-12);
    assert_int_equal(a->pairs[0].cmp[0].verdict, PLUMB_VERDICT_HIGHER);
    /* 45 ns per call is under 10 overheads of 5 ns; 91 ns is not */
    int short_calls = 0;
    for (size_t i = 0; i < a->n_warnings; i++)
        if (strstr(a->warnings[i], "calls shorter than 10 times the "
                                   "harness's own cost (5.0 ns per call) in "
                                   "fast (45.4 ns): "))
            short_calls++;
    assert_int_equal(short_calls, 1);

    assert_int_equal(plumb_report_render(s, a, PLUMB_FORMAT_TEXT, &ro, &text),
                     0);
    assert_non_null(strstr(text, "6 samples × 200000 calls"));
    assert_non_null(strstr(text, "45.38 ns"));
    assert_non_null(strstr(text, "harness overhead 5.000 ns per call (the "
                                 "timing loop"));
    assert_null(strstr(text, "slow (91"));
    assert_int_equal(plumb_report_render(s, a, PLUMB_FORMAT_JSON, &ro, &json),
                     0);
    assert_non_null(strstr(json, "\"loops\": 100000"));
    free(text);
    free(json);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

int test_session_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_run_keeps_each_samples_total),
        cmocka_unit_test(command_run_values_are_whole_executions),
        cmocka_unit_test(loop_run_refuses_what_it_cannot_store),
        cmocka_unit_test(analysis_and_report_read_loop_runs_per_call),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
