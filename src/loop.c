/* loop.c: in-process timing. Calibrates how many times a piece of code runs
 * per sample so that each sample lasts well above the clock's granularity,
 * warms it up, and takes samples of one or more subjects in seeded random
 * rounds until the budget is spent. The code itself is a callback: the
 * Python extension hands a loop over a callable, a C test a busy loop. It
 * computes no statistics (stats, compare and complexity do) and knows
 * nothing of Python.
 */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>

/* Loops per sample never grow beyond this: a sample of 10^12 loops of an
 * empty callback still lasts minutes. */
#define MAX_LOOPS UINT64_C(1000000000000)
/* Default shortest sample, and in clock steps when the clock is coarse.
 * 10 ms is far above any clock's step, and long enough that on a busy
 * machine every sample gets its share of preemption: with 1 ms samples a
 * time slice lands on some samples whole and on others not at all, and
 * the distribution splits in two. */
#define DEFAULT_MIN_SAMPLE_NS INT64_C(10000000)
#define MIN_SAMPLE_STEPS 1000
/* Calibration aims past the target so that noise does not leave the next
 * samples short, and grows at most this much per step so that a cold first
 * call does not make it overshoot by orders of magnitude. */
#define CALIBRATION_MARGIN 1.2
#define CALIBRATION_MAX_GROWTH 100.0
#define CLOCK_STEP_TRIES 51

void plumb_loop_opts_init(plumb_loop_opts_t *opts)
{
    opts->budget_s = 1;
    opts->min_sample_ns = 0;
    opts->warmup = 1;
    opts->min_samples = 10;
    opts->max_samples = 0;
    opts->samples = 0;
    opts->loops = 0;
    opts->seed = 0;
    opts->equal_samples = 0;
}

static int compare_int64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

int64_t plumb_loop_clock_step_ns(void)
{
    int64_t steps[CLOCK_STEP_TRIES];

    for (size_t i = 0; i < CLOCK_STEP_TRIES; i++) {
        int64_t t0 = plumb_clock_now_ns(), t1;
        while ((t1 = plumb_clock_now_ns()) == t0)
            ;
        steps[i] = t1 - t0;
    }
    qsort(steps, CLOCK_STEP_TRIES, sizeof *steps, compare_int64);
    return steps[CLOCK_STEP_TRIES / 2];
}

/* The smallest of 1, 2, 5, 10, 20, 50, ... that is >= x, so that a loop
 * count reads as a round number; MAX_LOOPS at most. */
static uint64_t round_loops(double x)
{
    for (uint64_t decade = 1; decade < MAX_LOOPS; decade *= 10) {
        if (x <= (double)decade)
            return decade;
        if (x <= 2.0 * (double)decade)
            return 2 * decade;
        if (x <= 5.0 * (double)decade)
            return 5 * decade;
    }
    return MAX_LOOPS;
}

/* One sample of s at `loops`: setup (untimed), then the timed run. *run_ns
 * is the run's time, *spent_ns the whole sample's, setup included. */
static int take_sample(const plumb_loop_subject_t *s, uint64_t loops,
                       int64_t *run_ns, int64_t *spent_ns)
{
    int64_t start = plumb_clock_now_ns(), t0, t1;
    int err;

    if (s->setup && (err = s->setup(s->data, loops)) < 0)
        return err;
    t0 = plumb_clock_now_ns();
    err = s->run(s->data, loops);
    t1 = plumb_clock_now_ns();
    if (err < 0)
        return err;
    *run_ns = t1 - t0;
    *spent_ns = t1 - start;
    return 0;
}

/* Sets s->loops to the first round count whose sample lasts target_ns,
 * twice in a row: one sample stretched by preemption would otherwise leave
 * every later one short. *sample_ns is the shorter of the two. */
static int calibrate(plumb_loop_subject_t *s, int64_t target_ns,
                     int64_t *sample_ns)
{
    uint64_t loops = 1;
    int64_t run_ns, spent_ns;

    for (;;) {
        double want;
        int err = take_sample(s, loops, &run_ns, &spent_ns);
        if (err < 0)
            return err;
        if (run_ns >= target_ns) {
            int64_t again;
            if ((err = take_sample(s, loops, &again, &spent_ns)) < 0)
                return err;
            if (again < run_ns)
                run_ns = again;
        }
        if (run_ns >= target_ns || loops >= MAX_LOOPS)
            break;
        want = run_ns > 0 ? (double)loops * CALIBRATION_MARGIN *
                                (double)target_ns / (double)run_ns
                          : (double)loops * CALIBRATION_MAX_GROWTH;
        if (want > (double)loops * CALIBRATION_MAX_GROWTH)
            want = (double)loops * CALIBRATION_MAX_GROWTH;
        if (want < (double)loops + 1)
            want = (double)loops + 1;
        loops = round_loops(want);
    }
    s->loops = loops;
    *sample_ns = run_ns;
    return 0;
}

/* Raises each subject's loops so that its calibrated sample lasts at least
 * as long as the longest one. */
static void equalize(plumb_loop_subject_t *subjects, size_t n,
                     const int64_t *sample_ns)
{
    int64_t longest = 0;

    for (size_t i = 0; i < n; i++)
        if (sample_ns[i] > longest)
            longest = sample_ns[i];
    for (size_t i = 0; i < n; i++)
        if (sample_ns[i] > 0 && sample_ns[i] < longest)
            subjects[i].loops =
                round_loops((double)subjects[i].loops * (double)longest /
                            (double)sample_ns[i]);
}

static int append_sample(plumb_loop_subject_t *s, size_t *cap, double v)
{
    if (s->n_samples == *cap) {
        size_t grown_cap = *cap ? 2 * *cap : 16;
        double *grown = realloc(s->loop_ns, grown_cap * sizeof *grown);
        if (!grown)
            return PLUMB_ENOMEM;
        s->loop_ns = grown;
        *cap = grown_cap;
    }
    s->loop_ns[s->n_samples++] = v;
    return 0;
}

/* Whether another round is due. Every round gives each subject one sample,
 * so all subjects hold the same count. */
static int round_due(const plumb_loop_opts_t *o,
                     const plumb_loop_subject_t *subjects, size_t n,
                     const int64_t *spent_ns)
{
    size_t have = subjects[0].n_samples;

    if (o->samples)
        return have < o->samples;
    if (have < o->min_samples)
        return 1;
    if (o->max_samples && have >= o->max_samples)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((double)spent_ns[i] < o->budget_s * 1e9)
            return 1;
    return 0;
}

int plumb_loop_measure(const plumb_loop_opts_t *opts,
                       plumb_loop_subject_t *subjects, size_t n)
{
    plumb_loop_opts_t defaults;
    int64_t target_ns, *spent_ns = NULL, *calibrated_ns = NULL;
    size_t *order = NULL, *caps = NULL;
    plumb_rng_t rng;
    int err = 0;

    if (!subjects || n == 0)
        return PLUMB_EINVAL;
    if (!opts) {
        plumb_loop_opts_init(&defaults);
        opts = &defaults;
    }
    if (!(opts->budget_s >= 0 && isfinite(opts->budget_s)) ||
        opts->min_sample_ns < 0 || opts->min_samples == 0 ||
        (opts->max_samples && opts->max_samples < opts->min_samples) ||
        opts->loops > MAX_LOOPS)
        return PLUMB_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!subjects[i].run)
            return PLUMB_EINVAL;
        subjects[i].loops = 0;
        subjects[i].loop_ns = NULL;
        subjects[i].n_samples = 0;
    }
    target_ns = opts->min_sample_ns;
    if (target_ns == 0) {
        target_ns = MIN_SAMPLE_STEPS * plumb_loop_clock_step_ns();
        if (target_ns < DEFAULT_MIN_SAMPLE_NS)
            target_ns = DEFAULT_MIN_SAMPLE_NS;
    }

    spent_ns = calloc(n, sizeof *spent_ns);
    calibrated_ns = calloc(n, sizeof *calibrated_ns);
    order = malloc(n * sizeof *order);
    caps = calloc(n, sizeof *caps);
    if (!spent_ns || !calibrated_ns || !order || !caps) {
        err = PLUMB_ENOMEM;
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        if (opts->loops)
            subjects[i].loops = opts->loops;
        else if ((err = calibrate(&subjects[i], target_ns,
                                  &calibrated_ns[i])) < 0)
            goto out;
    }
    if (opts->equal_samples && !opts->loops)
        equalize(subjects, n, calibrated_ns);
    for (size_t i = 0; i < n; i++) {
        int64_t run_ns, sample_ns;
        for (unsigned w = 0; w < opts->warmup; w++)
            if ((err = take_sample(&subjects[i], subjects[i].loops, &run_ns,
                                   &sample_ns)) < 0)
                goto out;
    }

    plumb_rng_seed(&rng, opts->seed);
    while (round_due(opts, subjects, n, spent_ns)) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)plumb_rng_below(&rng, i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < n; k++) {
            plumb_loop_subject_t *s = &subjects[order[k]];
            int64_t run_ns, sample_ns;
            if ((err = take_sample(s, s->loops, &run_ns, &sample_ns)) < 0 ||
                (err = append_sample(s, &caps[order[k]],
                                     (double)run_ns / (double)s->loops)) < 0)
                goto out;
            spent_ns[order[k]] += sample_ns;
        }
    }
out:
    free(caps);
    free(order);
    free(calibrated_ns);
    free(spent_ns);
    return err;
}
