/* test_loop.c: in-process timing with callbacks whose cost is known: a
 * busy loop of a fixed duration per iteration. Calibration must reach the
 * shortest sample with a round loop count, the rounds must stop at the
 * counts and budget asked for, setups run once per sample, and an error
 * from a callback stops the measurement with that error. */
#include <stdlib.h>

#include "approx.h"
#include "tests.h"

typedef struct {
    int64_t ns_per_loop;     /* busy time per iteration */
    uint64_t loops_run;      /* iterations run, calibration included */
    unsigned setups;
    uint64_t last_setup_loops;
    unsigned fail_after;     /* run calls before failing; 0 never */
    unsigned runs;
    int id, *trace;          /* records the order of samples */
    size_t *trace_len;
} busy_t;

static int busy_run(void *data, uint64_t loops)
{
    busy_t *b = data;
    if (b->fail_after && ++b->runs > b->fail_after)
        return PLUMB_EFAILED;
    if (b->trace)
        b->trace[(*b->trace_len)++] = b->id;
    for (uint64_t i = 0; i < loops; i++) {
        int64_t end = plumb_clock_now_ns() + b->ns_per_loop;
        while (plumb_clock_now_ns() < end)
            ;
    }
    b->loops_run += loops;
    return 0;
}

static int busy_setup(void *data, uint64_t loops)
{
    busy_t *b = data;
    b->setups++;
    b->last_setup_loops = loops;
    return 0;
}

static void defaults(void **state)
{
    (void)state;
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    assert_true(o.budget_s == 1);
    assert_int_equal(o.min_sample_ns, 0);
    assert_int_equal(o.warmup, 1);
    assert_int_equal(o.min_samples, 10);
    assert_int_equal(o.max_samples, 0);
    assert_int_equal(o.samples, 0);
    assert_int_equal(o.loops, 0);
    assert_int_equal(o.equal_samples, 0);
}

static void clock_step_is_small_and_positive(void **state)
{
    (void)state;
    int64_t step = plumb_loop_clock_step_ns();
    assert_true(step > 0);
    assert_true(step < 1000000); /* any Linux clock is finer than 1 ms */
}

/* 20 us per loop and a 1 ms shortest sample: 50 loops would do, and
 * calibration aims 20% past it, so the round count is 100. */
static void calibration_reaches_min_sample(void **state)
{
    (void)state;
    busy_t b = {.ns_per_loop = 20000};
    plumb_loop_subject_t s = {.run = busy_run, .setup = busy_setup,
                              .data = &b};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.min_sample_ns = 1000000;
    o.samples = 5;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), 0);
    assert_true(s.loops == 50 || s.loops == 100);
    assert_int_equal(s.n_samples, 5);
    for (size_t i = 0; i < s.n_samples; i++) {
        assert_true(s.loop_ns[i] >= 20000);
        assert_true(s.loop_ns[i] * (double)s.loops >= 1000000);
    }
    /* one setup per sample: calibration (1, then 100 twice, or more
     * steps), one warm-up, five samples; the last at the calibrated count */
    assert_true(b.setups >= 5 + 1 + 3);
    assert_true(b.last_setup_loops == s.loops);
    free(s.loop_ns);
}

static void fixed_loops_skip_calibration(void **state)
{
    (void)state;
    busy_t b = {.ns_per_loop = 1000};
    plumb_loop_subject_t s = {.run = busy_run, .data = &b};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.loops = 7;
    o.samples = 3;
    o.warmup = 2;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), 0);
    assert_int_equal(s.loops, 7);
    assert_int_equal(s.n_samples, 3);
    assert_int_equal(b.loops_run, 7 * (2 + 3));
    free(s.loop_ns);
}

/* A budget of 20 ms with 2 ms samples: min_samples 3 is passed, the
 * budget decides: about 10 samples, each subject alike. */
static void budget_decides_count_and_rounds_interleave(void **state)
{
    (void)state;
    int trace[4096];
    size_t trace_len = 0;
    busy_t a = {.ns_per_loop = 200000, .id = 0, .trace = trace,
                .trace_len = &trace_len};
    busy_t b = a;
    b.id = 1;
    plumb_loop_subject_t s[2] = {{.run = busy_run, .data = &a},
                                 {.run = busy_run, .data = &b}};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.min_sample_ns = 2000000;
    o.budget_s = 0.02;
    o.min_samples = 3;
    o.seed = 42;
    assert_int_equal(plumb_loop_measure(&o, s, 2), 0);
    assert_int_equal(s[0].n_samples, s[1].n_samples);
    /* the budget (per subject) caps the samples at what it pays for (a
     * sample lasts its calibrated loops, 2 ms or more); a preempted
     * machine may afford fewer, never fewer than min_samples */
    double sample_ns = (double)s[0].loops * 200000;
    size_t affordable = (size_t)(0.02e9 / sample_ns);
    assert_true(s[0].n_samples >= 3);
    assert_true(s[0].n_samples <= (affordable > 3 ? affordable : 3) + 1);
    /* after calibration and warm-up, every round holds each subject once */
    size_t first = trace_len - 2 * s[0].n_samples;
    for (size_t k = first; k < trace_len; k += 2)
        assert_int_equal(trace[k] + trace[k + 1], 1);
    free(s[0].loop_ns);
    free(s[1].loop_ns);
}

/* 10 us and 3 ms per loop, 1 ms shortest sample: alone, the first would
 * run 200 loops (2 ms); made equal, its samples last the 3 ms of the
 * second's single loop: 300 loops, rounded up to 500. */
static void equal_samples_match_the_longest(void **state)
{
    (void)state;
    busy_t a = {.ns_per_loop = 10000}, b = {.ns_per_loop = 3000000};
    plumb_loop_subject_t s[2] = {{.run = busy_run, .data = &a},
                                 {.run = busy_run, .data = &b}};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.min_sample_ns = 1000000;
    o.samples = 2;
    o.warmup = 0;
    o.equal_samples = 1;
    assert_int_equal(plumb_loop_measure(&o, s, 2), 0);
    assert_int_equal(s[1].loops, 1);
    assert_true(s[0].loops * 10000 >= 3000000);
    assert_true(s[0].loops == 500 || s[0].loops == 1000);
    free(s[0].loop_ns);
    free(s[1].loop_ns);
}

static void max_samples_caps_the_budget(void **state)
{
    (void)state;
    busy_t b = {.ns_per_loop = 1000};
    plumb_loop_subject_t s = {.run = busy_run, .data = &b};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.min_sample_ns = 100000;
    o.budget_s = 60;
    o.min_samples = 2;
    o.max_samples = 4;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), 0);
    assert_int_equal(s.n_samples, 4);
    free(s.loop_ns);
}

static void callback_error_stops(void **state)
{
    (void)state;
    busy_t b = {.ns_per_loop = 1000, .fail_after = 4};
    plumb_loop_subject_t s = {.run = busy_run, .data = &b};
    plumb_loop_opts_t o;
    plumb_loop_opts_init(&o);
    o.loops = 10;
    o.warmup = 0;
    o.samples = 10;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), PLUMB_EFAILED);
    assert_int_equal(s.n_samples, 4); /* kept what it had */
    free(s.loop_ns);
}

static void invalid_arguments(void **state)
{
    (void)state;
    busy_t b = {.ns_per_loop = 1};
    plumb_loop_subject_t s = {.run = busy_run, .data = &b};
    plumb_loop_subject_t no_run = {.data = &b};
    plumb_loop_opts_t o;
    assert_int_equal(plumb_loop_measure(NULL, NULL, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_loop_measure(NULL, &s, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_loop_measure(NULL, &no_run, 1), PLUMB_EINVAL);
    plumb_loop_opts_init(&o);
    o.min_samples = 0;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), PLUMB_EINVAL);
    plumb_loop_opts_init(&o);
    o.budget_s = -1;
    assert_int_equal(plumb_loop_measure(&o, &s, 1), PLUMB_EINVAL);
    plumb_loop_opts_init(&o);
    o.max_samples = 3; /* below min_samples 10 */
    assert_int_equal(plumb_loop_measure(&o, &s, 1), PLUMB_EINVAL);
}

int test_loop_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(clock_step_is_small_and_positive),
        cmocka_unit_test(calibration_reaches_min_sample),
        cmocka_unit_test(fixed_loops_skip_calibration),
        cmocka_unit_test(budget_decides_count_and_rounds_interleave),
        cmocka_unit_test(equal_samples_match_the_longest),
        cmocka_unit_test(max_samples_caps_the_budget),
        cmocka_unit_test(callback_error_stops),
        cmocka_unit_test(invalid_arguments),
    };
    return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
