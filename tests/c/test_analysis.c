/* test_analysis.c: plumb_analysis_new (src/analysis.c) on sessions built by
 * hand, so that every condition is known: statistics per measured metric,
 * each candidate against its baseline, complexity fits and crossovers over
 * a scan, and each kind of warning, present when its condition holds and
 * absent otherwise. Samples come from a seeded plumb_rng (stratified
 * uniform jitter, which produces no outlier) or are written out. No
 * process is started. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "tests.h"

#define MS 1e6 /* ns */
#define MB 1048576.0

/* ---- building sessions -------------------------------------------------- */

/* A session on a quiet machine: nothing in it calls for a warning. */
static plumb_session_t *quiet_session(void)
{
    plumb_session_t *s = plumb_session_new();
    assert_non_null(s);
    s->env.cpus = 4;
    s->env.load_avg1 = 0.5;
    snprintf(s->env.governor, sizeof s->env.governor, "performance");
    s->overhead_ns = (int64_t)(1 * MS);
    return s;
}

/* Appends a run; its index is s->n_runs - 1. The pointer is valid until
 * the next run is added. */
static plumb_run_t *add_run(plumb_session_t *s, const char *name)
{
    plumb_run_t *run = NULL;
    assert_int_equal(plumb_session_add_run(s, name, name, &run), 0);
    assert_non_null(run);
    return run;
}

static void add_wall(plumb_run_t *run, double wall_ns)
{
    plumb_sample_t sample;
    plumb_sample_init(&sample);
    sample.metric[PLUMB_METRIC_WALL] = (int64_t)llround(wall_ns);
    assert_int_equal(plumb_run_add_sample(run, &sample), 0);
}

/* The i-th of n values spread evenly, with a random offset, over
 * value * (1 +- spread): stratified, so that even a few of them have no
 * outlier (a plain uniform draw of ten can have its MAD fall short) and a
 * CV close to spread / sqrt(3). */
static double jitter(plumb_rng_t *rng, double value, double spread, size_t i,
                     size_t n)
{
    double u = ((double)i + plumb_rng_uniform(rng)) / (double)n;
    return value * (1 + spread * (2 * u - 1));
}

/* n samples whose wall time is jittered around median_ns. */
static void add_walls(plumb_run_t *run, plumb_rng_t *rng, double median_ns,
                      double spread, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_wall(run, jitter(rng, median_ns, spread, i, n));
}

static plumb_analysis_t *analyse(const plumb_session_t *s)
{
    plumb_analysis_t *a = NULL;
    int err = plumb_analysis_new(s, NULL, &a);
    if (err)
        print_error("plumb_analysis_new: %s\n", plumb_errname(err));
    assert_int_equal(err, 0);
    assert_non_null(a);
    assert_int_equal(a->n_runs, s->n_runs);
    return a;
}

/* How many warnings contain `part`. */
static size_t warnings_with(const plumb_analysis_t *a, const char *part)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_warnings; i++)
        n += strstr(a->warnings[i], part) != NULL;
    return n;
}

/* The one warning that contains `part`. */
static const char *warning_with(const plumb_analysis_t *a, const char *part)
{
    assert_int_equal(warnings_with(a, part), 1);
    for (size_t i = 0; i < a->n_warnings; i++)
        if (strstr(a->warnings[i], part))
            return a->warnings[i];
    return NULL;
}

static void print_warnings(const plumb_analysis_t *a)
{
    for (size_t i = 0; i < a->n_warnings; i++)
        print_message("warning %zu: %s\n", i, a->warnings[i]);
}

static void assert_no_warnings(const plumb_analysis_t *a)
{
    if (a->n_warnings)
        print_warnings(a);
    assert_int_equal(a->n_warnings, 0);
}

/* ---- statistics per run ------------------------------------------------- */

static void statistics_only_for_measured_metrics(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    static const double wall_ms[] = {3, 1, 4, 1, 5, 9, 2, 6, 5};
    plumb_run_t *run = add_run(s, "measured");
    for (size_t i = 0; i < 9; i++) {
        plumb_sample_t sample;
        plumb_sample_init(&sample);
        sample.metric[PLUMB_METRIC_WALL] = (int64_t)(wall_ms[i] * MS);
        if (i < 5) /* max RSS known for the first five only */
            sample.metric[PLUMB_METRIC_MAX_RSS] = 1000 + (int64_t)i;
        if (i == 2)
            sample.exit_code = 1;
        if (i == 5) {
            sample.exit_code = -1;
            sample.term_signal = 9;
        }
        if (i == 7)
            sample.timed_out = 1;
        assert_int_equal(plumb_run_add_sample(run, &sample), 0);
    }
    run = add_run(s, "nothing known");
    for (int i = 0; i < 3; i++) {
        plumb_sample_t sample;
        plumb_sample_init(&sample);
        assert_int_equal(plumb_run_add_sample(run, &sample), 0);
    }
    add_run(s, "no samples");
    plumb_analysis_t *a = analyse(s);

    const plumb_run_stats_t *st = &a->runs[0];
    assert_true(st->measured[PLUMB_METRIC_WALL]);
    const plumb_summary_t *w = &st->summary[PLUMB_METRIC_WALL];
    assert_int_equal(w->n, 9);
    /* sorted: 1 1 2 3 4 5 5 6 9 ms */
    assert_near(w->median, 4 * MS, 0);
    assert_near(w->min, 1 * MS, 0);
    assert_near(w->max, 9 * MS, 0);
    assert_near_rel(w->mean, 36.0 / 9 * MS, 1e-12);
    assert_true(st->measured[PLUMB_METRIC_MAX_RSS]);
    assert_int_equal(st->summary[PLUMB_METRIC_MAX_RSS].n, 5);
    assert_near(st->summary[PLUMB_METRIC_MAX_RSS].median, 1002, 0);
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        if (m != PLUMB_METRIC_WALL && m != PLUMB_METRIC_MAX_RSS)
            assert_false(st->measured[m]);
    /* exit 1, a signal, a time-out */
    assert_int_equal(st->failures, 3);

    for (size_t r = 1; r < 3; r++) {
        for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
            assert_false(a->runs[r].measured[m]);
        assert_int_equal(a->runs[r].failures, 0);
    }
    assert_int_equal(a->n_pairs, 0);
    assert_int_equal(a->n_fits, 0);
    /* "measured" fails, varies and is short; the runs without wall times
     * are not called short, or anything else */
    assert_int_equal(a->n_warnings, 3);
    assert_non_null(strstr(warning_with(a, "failed runs"),
                           "measured (3 of 9)"));
    assert_non_null(strstr(warning_with(a, "high variance"), "measured"));
    assert_non_null(strstr(warning_with(a, "harness"), "measured (4.000 ms)"));
    assert_int_equal(warnings_with(a, "nothing known"), 0);
    assert_int_equal(warnings_with(a, "no samples"), 0);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void invalid_arguments_and_defaults(void **state)
{
    (void)state;
    plumb_analysis_t *a = (plumb_analysis_t *)1;
    assert_int_equal(plumb_analysis_new(NULL, NULL, &a), PLUMB_EINVAL);
    plumb_session_t *s = quiet_session();
    assert_int_equal(plumb_analysis_new(s, NULL, NULL), PLUMB_EINVAL);

    /* an empty session is analysed into nothing */
    a = analyse(s);
    plumb_compare_opts_t defaults;
    plumb_compare_opts_init(&defaults);
    assert_near(a->opts.alpha, defaults.alpha, 0);
    assert_int_equal(a->opts.resamples, defaults.resamples);
    assert_int_equal(a->n_runs, 0);
    assert_int_equal(a->n_pairs, 0);
    assert_no_warnings(a);
    plumb_analysis_free(a);
    plumb_analysis_free(NULL);
    plumb_session_free(s);
}

/* ---- comparisons -------------------------------------------------------- */

/* A sample with the four verdict metrics. */
static void add_verdict_sample(plumb_run_t *run, double wall, double cpu,
                               double rss, double wchar)
{
    plumb_sample_t sample;
    plumb_sample_init(&sample);
    sample.metric[PLUMB_METRIC_WALL] = (int64_t)llround(wall);
    sample.metric[PLUMB_METRIC_CPU] = (int64_t)llround(cpu);
    sample.metric[PLUMB_METRIC_MAX_RSS] = (int64_t)llround(rss);
    sample.metric[PLUMB_METRIC_WCHAR] = (int64_t)llround(wchar);
    assert_int_equal(plumb_run_add_sample(run, &sample), 0);
}

/* Baseline "old" (40 ms) and candidate "new", 20 samples each: it takes
 * half the wall time and 1.5 times the memory; its CPU time and bytes
 * written are the baseline's, value for value. */
static plumb_session_t *old_and_new(void)
{
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 11);
    for (int r = 0; r < 2; r++) {
        plumb_run_t *run = add_run(s, r == 0 ? "old" : "new");
        run->baseline = r == 0 ? -1 : 0;
        for (size_t i = 0; i < 20; i++)
            add_verdict_sample(
                run, jitter(&rng, r ? 20 * MS : 40 * MS, 0.02, i, 20),
                15 * MS + 1e4 * (double)i,
                jitter(&rng, r ? 150 * MB : 100 * MB, 0.01, (i * 7) % 20, 20),
                MB + 4096 * (double)(i % 7));
    }
    return s;
}

static void clear_difference_gets_a_verdict_per_metric(void **state)
{
    (void)state;
    static const plumb_metric_t metrics[] = PLUMB_VERDICT_METRICS;
    static const plumb_verdict_t verdicts[] = {
        PLUMB_VERDICT_LOWER, PLUMB_VERDICT_SAME, PLUMB_VERDICT_HIGHER,
        PLUMB_VERDICT_SAME};
    plumb_session_t *s = old_and_new();
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_pairs, 1);
    const plumb_pair_t *pair = &a->pairs[0];
    assert_int_equal(pair->baseline, 0);
    assert_int_equal(pair->candidate, 1);
    assert_int_equal(pair->cmp[0].metric, PLUMB_METRIC_WALL);
    for (int k = 0; k < PLUMB_N_VERDICT_METRICS; k++) {
        assert_true(pair->compared[k]);
        assert_int_equal(pair->cmp[k].metric, metrics[k]);
        assert_int_equal(pair->cmp[k].verdict, verdicts[k]);
    }
    /* baseline / candidate */
    assert_near_rel(pair->cmp[0].ratio, 2.0, 0.03);
    assert_true(pair->cmp[0].ci_low > 1.9 && pair->cmp[0].ci_high < 2.1);
    assert_true(pair->cmp[0].p_value < 1e-6);
    assert_near_rel(pair->cmp[2].ratio, 1 / 1.5, 0.02);
    assert_near(pair->cmp[1].ratio, 1, 0);
    assert_near(pair->cmp[3].ratio, 1, 0);
    /* the medians are the runs' own */
    assert_near(pair->cmp[0].baseline_median,
                a->runs[0].summary[PLUMB_METRIC_WALL].median, 0);
    assert_near(pair->cmp[0].candidate_median,
                a->runs[1].summary[PLUMB_METRIC_WALL].median, 0);
    assert_near(pair->cmp[2].candidate_median,
                a->runs[1].summary[PLUMB_METRIC_MAX_RSS].median, 0);
    assert_no_warnings(a);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void comparison_follows_the_options(void **state)
{
    (void)state;
    plumb_session_t *s = old_and_new();
    plumb_compare_opts_t opts;
    plumb_compare_opts_init(&opts);
    opts.min_effect = 2.0; /* only a change of 3x counts */
    plumb_analysis_t *a = NULL;
    assert_int_equal(plumb_analysis_new(s, &opts, &a), 0);
    assert_near(a->opts.min_effect, 2.0, 0);
    assert_int_equal(a->pairs[0].cmp[0].verdict, PLUMB_VERDICT_SAME);
    assert_int_equal(a->pairs[0].cmp[2].verdict, PLUMB_VERDICT_SAME);
    plumb_analysis_free(a);

    opts.min_effect = 0.01;
    opts.alpha = 2; /* out of range: compare refuses, analysis says nothing */
    assert_int_equal(plumb_analysis_new(s, &opts, &a), 0);
    assert_int_equal(a->n_pairs, 1);
    for (int k = 0; k < PLUMB_N_VERDICT_METRICS; k++)
        assert_false(a->pairs[0].compared[k]);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void unmeasured_metrics_are_not_compared(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 12);
    plumb_run_t *run = add_run(s, "old");
    add_walls(run, &rng, 20 * MS, 0.02, 10);
    run = add_run(s, "new");
    run->baseline = 0;
    add_walls(run, &rng, 20 * MS, 0.02, 10);
    /* one sample of one metric: too few to compare */
    for (size_t i = 0; i < run->n_samples; i++)
        run->samples[i].metric[PLUMB_METRIC_MAX_RSS] = 0;
    run->samples[0].metric[PLUMB_METRIC_CPU] = (int64_t)(5 * MS);
    s->runs[0].samples[0].metric[PLUMB_METRIC_CPU] = (int64_t)(5 * MS);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_pairs, 1);
    const plumb_pair_t *pair = &a->pairs[0];
    assert_true(pair->compared[0]);
    assert_int_equal(pair->cmp[0].metric, PLUMB_METRIC_WALL);
    assert_false(pair->compared[1]); /* CPU: one value on each side */
    assert_false(pair->compared[2]); /* max RSS: unknown in the baseline */
    assert_false(pair->compared[3]); /* bytes written: unknown */
    assert_true(a->runs[1].measured[PLUMB_METRIC_CPU]);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void pairs_only_for_runs_with_a_baseline(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 13);
    /* baselines: none, 0, none, 2, itself, out of range */
    static const int baseline[] = {-1, 0, -1, 2, 4, 99};
    static const char *const names[] = {"r0", "r1", "r2", "r3", "r4", "r5"};
    for (size_t i = 0; i < 6; i++) {
        plumb_run_t *run = add_run(s, names[i]);
        run->baseline = baseline[i];
        add_walls(run, &rng, 20 * MS, 0.02, 5);
    }
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_pairs, 2);
    assert_int_equal(a->pairs[0].baseline, 0);
    assert_int_equal(a->pairs[0].candidate, 1);
    assert_int_equal(a->pairs[1].baseline, 2);
    assert_int_equal(a->pairs[1].candidate, 3);
    assert_int_equal(a->pairs[0].cmp[0].verdict, PLUMB_VERDICT_SAME);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

/* ---- scans -------------------------------------------------------------- */

static const double scan_sizes[] = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5};
#define N_SIZES (sizeof scan_sizes / sizeof *scan_sizes)

typedef double (*law_fn)(double n);

/* A series of runs (one per size, 5 samples each, 0.5% jitter) of `law`;
 * each run's baseline is the run at the same size of the series starting
 * at base_first, if that is >= 0. Returns the index of its first run. */
static size_t add_series(plumb_session_t *s, plumb_rng_t *rng,
                         const char *name, law_fn law, int base_first)
{
    size_t first = s->n_runs;
    for (size_t i = 0; i < N_SIZES; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s n=%g", name, scan_sizes[i]);
        plumb_run_t *run = add_run(s, label);
        run->series = (int)first;
        run->x = scan_sizes[i];
        run->baseline = base_first >= 0 ? base_first + (int)i : -1;
        char value[32];
        snprintf(value, sizeof value, "%g", scan_sizes[i]);
        assert_int_equal(plumb_run_add_param(run, "n", value), 0);
        add_walls(run, rng, law(scan_sizes[i]), 0.005, 5);
    }
    return first;
}

static double quadratic(double n) { return 2e6 + 0.1 * n * n; }
static double linear(double n) { return 2e6 + 100 * n; }
static double quadratic_low(double n) { return 1e5 + 0.01 * n * n; }
static double quadratic_high(double n) { return 1e7 + 0.01 * n * n; }

static void scan_fit_finds_quadratic_growth(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 21);
    add_series(s, &rng, "sort", quadratic, -1);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_fits, 1);
    const plumb_series_fit_t *f = &a->fits[0];
    assert_int_equal(f->series, 0);
    assert_int_equal(f->first_run, 0);
    assert_near(f->n_lo, 1e3, 0);
    assert_near(f->n_hi, 1e5, 0);
    assert_int_equal(f->fit.order, PLUMB_ORDER_N2);
    assert_string_equal(plumb_order_name(f->fit.order), "O(n^2)");
    assert_near_rel(f->fit.b, 0.1, 0.05);
    assert_true(f->fit.fit_error < 0.02);
    assert_int_equal(a->n_crossovers, 0);
    plumb_analysis_free(a);

    /* the same runs, but no scanned parameter: nothing is fitted */
    assert_int_equal(plumb_set_string(&s->scan_param, NULL), 0);
    a = analyse(s);
    assert_int_equal(a->n_fits, 0);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void series_with_too_few_sizes_is_not_fitted(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 22);
    add_series(s, &rng, "full", linear, -1);
    /* a second series at two sizes only, and a run outside any scan */
    for (int i = 0; i < 2; i++) {
        plumb_run_t *run = add_run(s, i ? "short n=2000" : "short n=1000");
        run->series = 100;
        run->x = 1000.0 * (i + 1);
        add_walls(run, &rng, 5 * MS, 0.01, 5);
    }
    plumb_run_t *run = add_run(s, "unscanned");
    add_walls(run, &rng, 5 * MS, 0.01, 5);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_fits, 1);
    assert_int_equal(a->fits[0].series, 0);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void crossing_series_give_a_crossover(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 23);
    size_t base = add_series(s, &rng, "linear", linear, -1);
    size_t cand = add_series(s, &rng, "quadratic", quadratic_low, (int)base);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_fits, 2);
    assert_int_equal(a->n_crossovers, 1);
    const plumb_crossover_t *c = &a->crossovers[0];
    assert_int_equal(a->fits[c->fit_a].series, (int)base);
    assert_int_equal(a->fits[c->fit_b].series, (int)cand);
    assert_int_equal(a->fits[c->fit_b].first_run, cand);
    /* 2e6 + 100 n = 1e5 + 0.01 n^2 */
    double analytic = (100 + sqrt(100.0 * 100 + 4 * 0.01 * 1.9e6)) / 0.02;
    assert_near_rel(c->n, analytic, 0.05);
    assert_int_equal(a->n_pairs, N_SIZES);
    plumb_analysis_free(a);
    plumb_session_free(s);

    /* a candidate above the baseline at every size: no crossover */
    s = quiet_session();
    base = add_series(s, &rng, "linear", linear, -1);
    add_series(s, &rng, "quadratic", quadratic_high, (int)base);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    a = analyse(s);
    assert_int_equal(a->n_fits, 2);
    assert_int_equal(a->n_crossovers, 0);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void scan_through_zero_is_still_analysed(void **state)
{
    (void)state;
    /* plumb bench --param n=0,10,100,1000: no growth law takes n = 0 (log
     * 0), but the session must still be analysed, and fitted where it can
     * be */
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 24);
    static const double sizes[] = {0, 10, 100, 1000};
    for (size_t i = 0; i < 4; i++) {
        char label[32];
        snprintf(label, sizeof label, "scan n=%g", sizes[i]);
        plumb_run_t *run = add_run(s, label);
        run->series = 0;
        run->x = sizes[i];
        run->baseline = -1;
        add_walls(run, &rng, 20 * MS + 1e4 * sizes[i], 0.005, 5);
    }
    /* a series whose median at one size is 0 (a shell run whose start-up
     * was all of it) cannot be fitted, and must not stop the analysis */
    for (size_t i = 1; i < 4; i++) {
        char label[32];
        snprintf(label, sizeof label, "zero n=%g", sizes[i]);
        plumb_run_t *run = add_run(s, label);
        run->series = 1;
        run->x = sizes[i];
        for (int k = 0; k < 3; k++)
            add_wall(run, i == 1 ? 0 : 20 * MS);
    }
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    plumb_analysis_t *a = analyse(s);
    assert_true(a->runs[0].measured[PLUMB_METRIC_WALL]);
    assert_int_equal(a->n_fits, 1);
    assert_int_equal(a->fits[0].series, 0);
    assert_near(a->fits[0].n_lo, 10, 0);
    assert_near(a->fits[0].n_hi, 1000, 0);
    assert_int_equal(a->fits[0].fit.order, PLUMB_ORDER_N);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

/* ---- warnings ----------------------------------------------------------- */

static void quiet_session_has_no_warnings(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 31);
    for (int i = 0; i < 3; i++)
        add_walls(add_run(s, i ? "b" : "a"), &rng, 50 * MS, 0.05, 20);
    plumb_analysis_t *a = analyse(s);
    assert_no_warnings(a);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void high_variance_is_one_warning_naming_every_noisy_run(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 32);
    /* +-40% uniform: a CV of about 23% */
    add_walls(add_run(s, "alpha"), &rng, 50 * MS, 0.4, 20);
    add_walls(add_run(s, "quiet"), &rng, 50 * MS, 0.02, 20);
    add_walls(add_run(s, "beta"), &rng, 80 * MS, 0.4, 20);
    add_walls(add_run(s, "gamma"), &rng, 30 * MS, 0.4, 20);
    plumb_analysis_t *a = analyse(s);
    if (a->n_warnings != 1)
        print_warnings(a);
    assert_int_equal(a->n_warnings, 1);
    const char *w = warning_with(a, "high variance");
    assert_non_null(strstr(w, "alpha (CV "));
    assert_non_null(strstr(w, "beta (CV "));
    assert_non_null(strstr(w, "gamma (CV "));
    assert_null(strstr(w, "quiet"));
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void high_variance_starts_above_ten_percent(void **state)
{
    (void)state;
    /* 100 - d, 100 - d, 100 + d, 100 + d ms: mean 100, stddev d sqrt(4/3)
     * (n - 1 denominator), so the CV is 1.1547 d % */
    for (int d = 8; d <= 9; d++) {
        plumb_session_t *s = quiet_session();
        plumb_run_t *run = add_run(s, "run");
        for (int i = 0; i < 4; i++)
            add_wall(run, (100 + (i < 2 ? -d : d)) * MS);
        plumb_analysis_t *a = analyse(s);
        if (d == 8) { /* 9.24% */
            assert_no_warnings(a);
        } else { /* 10.39% */
            assert_int_equal(a->n_warnings, 1);
            assert_non_null(strstr(warning_with(a, "high variance"),
                                   "run (CV 10.4%)"));
        }
        plumb_analysis_free(a);
        plumb_session_free(s);
    }

    /* two values say nothing about variance */
    plumb_session_t *s = quiet_session();
    plumb_run_t *run = add_run(s, "two");
    add_wall(run, 50 * MS);
    add_wall(run, 100 * MS);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(warnings_with(a, "high variance"), 0);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void many_noisy_runs_fit_in_one_sentence(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 33);
    for (int i = 0; i < 60; i++) {
        char name[32];
        snprintf(name, sizeof name, "noisy-run-%02d", i);
        add_walls(add_run(s, name), &rng, 50 * MS, 0.4, 10);
    }
    plumb_analysis_t *a = analyse(s);
    if (a->n_warnings != 1)
        print_warnings(a);
    assert_int_equal(a->n_warnings, 1);
    const char *w = warning_with(a, "high variance");
    assert_non_null(strstr(w, "noisy-run-00 (CV"));
    assert_null(strstr(w, "noisy-run-59"));
    assert_true(strlen(w) < 1024);
    /* the names that do not fit are left out whole: the last one listed
     * is complete, with its detail, and ", ..." says more were noisy */
    const char *more = strstr(w, ", ...:");
    assert_non_null(more);
    assert_true(more[-1] == ')');
    const char *last = more;
    while (last > w && strncmp(last, ", noisy-run-", 12) != 0)
        last--;
    assert_true(last > w);
    assert_memory_equal(last + 14, " (CV ", 5);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void a_name_longer_than_the_list_is_cut_short(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 38);
    char name[1200];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    add_walls(add_run(s, name), &rng, 50 * MS, 0.4, 10);
    add_walls(add_run(s, "second"), &rng, 50 * MS, 0.4, 10);
    plumb_analysis_t *a = analyse(s);
    assert_int_equal(a->n_warnings, 1);
    const char *w = warning_with(a, "high variance");
    assert_non_null(strstr(w, "in xxxxxxxxxx"));
    assert_non_null(strstr(w, "xxxxx, ...:"));
    assert_null(strstr(w, "second"));
    assert_true(strlen(w) < 1024);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void outliers_are_a_warning_of_their_own(void **state)
{
    (void)state;
    for (int with_outlier = 0; with_outlier < 2; with_outlier++) {
        plumb_session_t *s = quiet_session();
        plumb_rng_t rng;
        plumb_rng_seed(&rng, 34);
        plumb_run_t *run = add_run(s, "steady");
        add_walls(run, &rng, 50 * MS, 0.01, 20);
        run = add_run(s, "spiky");
        add_walls(run, &rng, 50 * MS, 0.01, 20);
        /* 10% slow: far beyond 3.5 modified z-scores of a 1% jitter, yet
         * too little to raise the CV above 10% */
        if (with_outlier)
            add_wall(run, 55 * MS);
        plumb_analysis_t *a = analyse(s);
        if (!with_outlier) {
            assert_int_equal(a->runs[1].summary[PLUMB_METRIC_WALL].outliers,
                             0);
            assert_no_warnings(a);
        } else {
            assert_int_equal(a->runs[1].summary[PLUMB_METRIC_WALL].outliers,
                             1);
            assert_int_equal(a->n_warnings, 1);
            const char *w = warning_with(a, "outliers");
            assert_non_null(strstr(w, "spiky (1 of 21)"));
            assert_null(strstr(w, "steady"));
        }
        plumb_analysis_free(a);
        plumb_session_free(s);
    }
}

static void runs_near_the_harness_overhead_are_short(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session(); /* overhead 1 ms */
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 35);
    add_walls(add_run(s, "tiny"), &rng, 9.5 * MS, 0.01, 10);
    add_walls(add_run(s, "enough"), &rng, 10.5 * MS, 0.01, 10);
    plumb_analysis_t *a = analyse(s);
    if (a->n_warnings != 1)
        print_warnings(a);
    assert_int_equal(a->n_warnings, 1);
    const char *w = warning_with(a, "harness");
    assert_non_null(strstr(w, "tiny ("));
    assert_non_null(strstr(w, "1.000 ms per run"));
    assert_null(strstr(w, "enough"));
    plumb_analysis_free(a);

    /* an unknown overhead warns of nothing */
    s->overhead_ns = 0;
    a = analyse(s);
    assert_no_warnings(a);
    plumb_analysis_free(a);
    plumb_session_free(s);
}

static void failed_samples_are_a_warning(void **state)
{
    (void)state;
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 36);
    add_walls(add_run(s, "fine"), &rng, 50 * MS, 0.01, 10);
    plumb_run_t *run = add_run(s, "flaky");
    add_walls(run, &rng, 50 * MS, 0.01, 10);
    plumb_analysis_t *a = analyse(s);
    assert_no_warnings(a);
    plumb_analysis_free(a);

    run->samples[3].exit_code = 2;
    a = analyse(s);
    assert_int_equal(a->runs[1].failures, 1);
    assert_int_equal(a->n_warnings, 1);
    const char *w = warning_with(a, "failed runs");
    assert_non_null(strstr(w, "flaky (1 of 10)"));
    assert_null(strstr(w, "fine"));
    plumb_analysis_free(a);
    plumb_session_free(s);
}

/* A quiet session of one steady run, on a machine as given. */
static plumb_analysis_t *analyse_machine(int cpus, double load,
                                         const char *governor, int partial)
{
    plumb_session_t *s = quiet_session();
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 37);
    add_walls(add_run(s, "run"), &rng, 50 * MS, 0.01, 10);
    s->env.cpus = cpus;
    s->env.load_avg1 = load;
    snprintf(s->env.governor, sizeof s->env.governor, "%s", governor);
    s->partial = partial;
    plumb_analysis_t *a = analyse(s);
    plumb_session_free(s); /* the analysis holds nothing of it */
    return a;
}

static void loaded_machine_is_a_warning(void **state)
{
    (void)state;
    plumb_analysis_t *a = analyse_machine(4, 4.5, "performance", 0);
    assert_int_equal(a->n_warnings, 1);
    assert_non_null(strstr(warning_with(a, "loaded"),
                           "load average 4.50 on 4 CPUs"));
    plumb_analysis_free(a);

    /* not above the CPU count, unknown load, unknown CPU count */
    static const struct {
        int cpus;
        double load;
    } quiet[] = {{4, 4.0}, {4, -1}, {0, 4.5}};
    for (size_t i = 0; i < 3; i++) {
        a = analyse_machine(quiet[i].cpus, quiet[i].load, "performance", 0);
        assert_no_warnings(a);
        plumb_analysis_free(a);
    }
}

static void governor_other_than_performance_is_a_warning(void **state)
{
    (void)state;
    static const char *const noisy[] = {"powersave", "schedutil"};
    for (size_t i = 0; i < 2; i++) {
        plumb_analysis_t *a = analyse_machine(4, 0.5, noisy[i], 0);
        assert_int_equal(a->n_warnings, 1);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", noisy[i]);
        assert_non_null(strstr(warning_with(a, "governor"), quoted));
        plumb_analysis_free(a);
    }
    /* "performance", and unknown */
    static const char *const quiet[] = {"performance", ""};
    for (size_t i = 0; i < 2; i++) {
        plumb_analysis_t *a = analyse_machine(4, 0.5, quiet[i], 0);
        assert_no_warnings(a);
        plumb_analysis_free(a);
    }
}

static void partial_session_is_a_warning(void **state)
{
    (void)state;
    plumb_analysis_t *a = analyse_machine(4, 0.5, "performance", 1);
    assert_int_equal(a->n_warnings, 1);
    warning_with(a, "partial");
    plumb_analysis_free(a);

    /* every machine warning at once, one of each */
    a = analyse_machine(2, 3.0, "powersave", 1);
    assert_int_equal(a->n_warnings, 3);
    warning_with(a, "partial");
    warning_with(a, "loaded");
    warning_with(a, "governor");
    plumb_analysis_free(a);
}

int test_analysis_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statistics_only_for_measured_metrics),
        cmocka_unit_test(invalid_arguments_and_defaults),
        cmocka_unit_test(clear_difference_gets_a_verdict_per_metric),
        cmocka_unit_test(comparison_follows_the_options),
        cmocka_unit_test(unmeasured_metrics_are_not_compared),
        cmocka_unit_test(pairs_only_for_runs_with_a_baseline),
        cmocka_unit_test(scan_fit_finds_quadratic_growth),
        cmocka_unit_test(series_with_too_few_sizes_is_not_fitted),
        cmocka_unit_test(crossing_series_give_a_crossover),
        cmocka_unit_test(scan_through_zero_is_still_analysed),
        cmocka_unit_test(quiet_session_has_no_warnings),
        cmocka_unit_test(high_variance_is_one_warning_naming_every_noisy_run),
        cmocka_unit_test(high_variance_starts_above_ten_percent),
        cmocka_unit_test(many_noisy_runs_fit_in_one_sentence),
        cmocka_unit_test(a_name_longer_than_the_list_is_cut_short),
        cmocka_unit_test(outliers_are_a_warning_of_their_own),
        cmocka_unit_test(runs_near_the_harness_overhead_are_short),
        cmocka_unit_test(failed_samples_are_a_warning),
        cmocka_unit_test(loaded_machine_is_a_warning),
        cmocka_unit_test(governor_other_than_performance_is_a_warning),
        cmocka_unit_test(partial_session_is_a_warning),
    };
    return cmocka_run_group_tests_name("analysis", tests, NULL, NULL);
}
