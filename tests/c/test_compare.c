/* test_compare.c: verdicts on hand-made data whose answer is known, the
 * edge cases of zero medians, and the statistical behaviour of the
 * verdict (false alarms on A/A data, power against a 5% change) on seeded
 * synthetic measurements. p-values marked "scipy" are from scipy 1.10.1
 * mannwhitneyu(baseline, candidate, alternative='two-sided', method=...)
 * under /usr/bin/python3, recomputed by tests/c/reference_values.py. */
#include <stdlib.h>

#include "approx.h"
#include "synthetic.h"
#include "tests.h"

static void opts_defaults(void **state)
{
    (void)state;
    plumb_compare_opts_t o;
    plumb_compare_opts_init(&o);
    assert_true(o.alpha == 0.05);
    assert_true(o.min_effect == 0.01);
    assert_true(o.level == 0.95);
    assert_int_equal(o.resamples, 5000);
    assert_true(o.seed == UINT64_C(0x706c756d62)); /* "plumb" */
}

static void verdict_names(void **state)
{
    (void)state;
    assert_string_equal(plumb_verdict_name(PLUMB_VERDICT_SAME),
                        "no significant difference");
    assert_string_equal(plumb_verdict_name(PLUMB_VERDICT_LOWER), "lower");
    assert_string_equal(plumb_verdict_name(PLUMB_VERDICT_HIGHER), "higher");
    assert_string_equal(plumb_verdict_name((plumb_verdict_t)42), "?");
}

/* Eight runs near 100 ms and eight near 80 ms: no overlap at all. */
static const double slow[] = {100.2, 99.8, 101.5, 100.9,
                              99.5,  100.4, 102.3, 100.0};
static const double fast[] = {80.1, 81.0, 79.6, 80.4, 82.2, 80.8, 79.9, 80.3};

static void clear_improvement_is_lower(void **state)
{
    (void)state;
    plumb_comparison_t c;
    c.metric = PLUMB_METRIC_MAX_RSS;
    assert_int_equal(plumb_compare(slow, 8, fast, 8, NULL, &c), 0);
    /* The caller's metric is left alone. */
    assert_int_equal(c.metric, PLUMB_METRIC_MAX_RSS);
    /* Medians by hand: (100.2 + 100.4) / 2 and (80.3 + 80.4) / 2. */
    assert_near(c.baseline_median, 100.3, 1e-12);
    assert_near(c.candidate_median, 80.35, 1e-12);
    assert_near(c.ratio, 100.3 / 80.35, 1e-12);
    /* Every baseline value beats every candidate value: U = 8 * 8 and
     * p = 2 / C(16, 8) = 2 / 12870 (by hand; scipy method='exact'
     * agrees: 0.0001554001554001554). */
    assert_true(c.u == 64);
    assert_int_equal(c.exact, 1);
    assert_near_rel(c.p_value, 2.0 / 12870, 1e-12);
    /* Every resampled ratio lies between min/max and max/min of the
     * samples: [99.5 / 82.2, 102.3 / 79.6] = [1.2105, 1.2852]. */
    assert_true(c.ci_low >= 99.5 / 82.2 && c.ci_high <= 102.3 / 79.6);
    assert_true(c.ci_low <= c.ratio && c.ratio <= c.ci_high);
    assert_int_equal(c.verdict, PLUMB_VERDICT_LOWER);
}

static void clear_regression_is_higher(void **state)
{
    (void)state;
    plumb_comparison_t c;
    assert_int_equal(plumb_compare(fast, 8, slow, 8, NULL, &c), 0);
    assert_near(c.ratio, 80.35 / 100.3, 1e-12);
    assert_true(c.u == 0);
    assert_near_rel(c.p_value, 2.0 / 12870, 1e-12);
    assert_true(c.ci_high < 1);
    assert_int_equal(c.verdict, PLUMB_VERDICT_HIGHER);
}

static void identical_samples_are_same(void **state)
{
    (void)state;
    plumb_comparison_t c;
    assert_int_equal(plumb_compare(slow, 8, slow, 8, NULL, &c), 0);
    assert_true(c.ratio == 1);
    assert_true(c.u == 32); /* every value ties with its twin */
    assert_true(c.p_value == 1);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
}

static void small_effect_needs_min_effect(void **state)
{
    (void)state;
    /* A 0.5% change measured with 0.05% noise is certain (p ~ 1e-17) but
     * below the default 1% that counts: SAME. With min_effect 0.1% it is a
     * change. */
    enum { N = 50 };
    double base[N], cand[N];
    plumb_compare_opts_t o;
    plumb_comparison_t c;
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 17);
    for (int i = 0; i < N; i++) {
        base[i] = 100.0 * (1 + 0.0005 * plumb_rng_normal(&rng));
        cand[i] = 99.5 * (1 + 0.0005 * plumb_rng_normal(&rng));
    }
    plumb_compare_opts_init(&o);
    o.resamples = 1000;
    assert_int_equal(plumb_compare(base, N, cand, N, &o, &c), 0);
    assert_true(c.p_value < 1e-10);
    assert_true(c.ci_low > 1);
    assert_true(c.ratio < 1.01);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
    o.min_effect = 0.001;
    assert_int_equal(plumb_compare(base, N, cand, N, &o, &c), 0);
    assert_int_equal(c.verdict, PLUMB_VERDICT_LOWER);
}

static void unstable_median_is_same(void **state)
{
    (void)state;
    /* Two clusters a side, 10 low and 11 high: the medians (200.1 and
     * 190.1, ratio 1.053) sit in the upper cluster, but a resample's
     * median lands in the lower one about 40% of the time, so the ratio's
     * interval spans 0.53 to 2.2 and includes 1. The ranks differ clearly
     * (scipy method='exact': U = 331, p = 0.004814236694067825), yet
     * without a stable ratio there is no verdict. */
    double base[21], cand[21];
    plumb_comparison_t c;
    for (int i = 0; i < 21; i++) {
        base[i] = (i < 10 ? 100 : 200) + 0.01 * i;
        cand[i] = (i < 10 ? 90 : 190) + 0.01 * i;
    }
    assert_int_equal(plumb_compare(base, 21, cand, 21, NULL, &c), 0);
    assert_true(c.u == 331);
    assert_near_rel(c.p_value, 0.004814236694067825, 1e-12);
    assert_true(c.ratio > 1.01);
    assert_true(c.ci_low < 1 && c.ci_high > 1);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
    assert_int_equal(plumb_compare(cand, 21, base, 21, NULL, &c), 0);
    assert_true(c.ratio < 1 / 1.01);
    assert_true(c.ci_low < 1 && c.ci_high > 1);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
}

static void median_shift_without_rank_evidence_is_same(void **state)
{
    (void)state;
    /* 22 runs near 100 plus 8 very fast ones, against 22 near 95 plus 8
     * very slow ones: the medians differ by 5% with a tight interval, but
     * the ranks balance out (scipy method='exact': U = 484 of 900,
     * p = 0.6228380837524874). No verdict without a significant test. */
    double base[30], cand[30];
    plumb_comparison_t c;
    for (int i = 0; i < 30; i++) {
        base[i] = i < 8 ? 1 + i : 100 + 0.01 * i;
        cand[i] = i < 8 ? 1000 + i : 95 + 0.01 * i;
    }
    assert_int_equal(plumb_compare(base, 30, cand, 30, NULL, &c), 0);
    assert_true(c.u == 484);
    assert_near_rel(c.p_value, 0.6228380837524874, 1e-12);
    assert_true(c.ci_low > 1.01);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
    assert_int_equal(plumb_compare(cand, 30, base, 30, NULL, &c), 0);
    assert_true(c.ci_high < 1 / 1.01);
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
}

static void zero_median_uses_sign_of_difference(void **state)
{
    (void)state;
    static const double zeros[] = {0, 0, 0, 0, 1};
    static const double some[] = {5, 6, 7, 8, 9};
    static const double zeros2[] = {0, 0, 0, 2};
    plumb_comparison_t c;
    /* Baseline median 0: ratio undefined. scipy method='asymptotic' (ties):
     * p = 0.009700785068229596 < 0.05, candidate median 7 > 0: HIGHER. */
    assert_int_equal(plumb_compare(zeros, 5, some, 5, NULL, &c), 0);
    assert_true(isnan(c.ratio) && isnan(c.ci_low) && isnan(c.ci_high));
    assert_int_equal(c.exact, 0);
    assert_near_rel(c.p_value, 0.009700785068229596, 1e-12);
    assert_int_equal(c.verdict, PLUMB_VERDICT_HIGHER);
    assert_int_equal(plumb_compare(some, 5, zeros, 5, NULL, &c), 0);
    assert_int_equal(c.verdict, PLUMB_VERDICT_LOWER);
    /* Both medians 0: no difference to speak of. */
    assert_int_equal(plumb_compare(zeros, 5, zeros2, 4, NULL, &c), 0);
    assert_true(isnan(c.ratio));
    assert_int_equal(c.verdict, PLUMB_VERDICT_SAME);
}

static void zero_resampled_median_drops_interval(void **state)
{
    (void)state;
    /* Candidate median 1 (five 1s, four 0s), but many of its resamples
     * have a median of 0: the ratio 4 stands, its interval cannot be had,
     * and the verdict rests on p (scipy method='asymptotic':
     * 0.00030476606690570026) and the ratio. */
    static const double base[] = {3, 3, 4, 4, 5, 5, 3, 4, 5};
    static const double cand[] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
    plumb_comparison_t c;
    assert_int_equal(plumb_compare(base, 9, cand, 9, NULL, &c), 0);
    assert_true(c.ratio == 4);
    assert_true(isnan(c.ci_low) && isnan(c.ci_high));
    assert_near_rel(c.p_value, 0.00030476606690570026, 1e-12);
    assert_int_equal(c.verdict, PLUMB_VERDICT_LOWER);
}

static void compare_errors(void **state)
{
    (void)state;
    plumb_compare_opts_t o;
    plumb_comparison_t c;
    static const double bad[] = {1, NAN, 3};
    assert_int_equal(plumb_compare(slow, 1, fast, 8, NULL, &c),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_compare(slow, 8, fast, 1, NULL, &c),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_compare(slow, 8, bad, 3, NULL, &c), PLUMB_EINVAL);
    assert_int_equal(plumb_compare(NULL, 8, fast, 8, NULL, &c),
                     PLUMB_EINVAL);
    plumb_compare_opts_init(&o);
    o.alpha = 0;
    assert_int_equal(plumb_compare(slow, 8, fast, 8, &o, &c), PLUMB_EINVAL);
    plumb_compare_opts_init(&o);
    o.level = 1.5;
    assert_int_equal(plumb_compare(slow, 8, fast, 8, &o, &c), PLUMB_EINVAL);
    plumb_compare_opts_init(&o);
    o.min_effect = -0.1;
    assert_int_equal(plumb_compare(slow, 8, fast, 8, &o, &c), PLUMB_EINVAL);
    plumb_compare_opts_init(&o);
    o.resamples = 0;
    assert_int_equal(plumb_compare(slow, 8, fast, 8, &o, &c), PLUMB_EINVAL);
}

/* The statistical tests below use 1000 bootstrap resamples instead of the
 * default 5000 to stay quick: the resample count only sets the Monte Carlo
 * noise of the interval's bounds, not what they estimate. */

static void aa_false_alarms_within_alpha(void **state)
{
    (void)state;
    /* 1000 A/A comparisons, both sides drawn from one machine-like
     * distribution (CV 4%, 5% of runs slowed 1.2-2x), 20 to 30 runs a
     * side. At alpha 0.05 at most 5% may be called a change; the
     * Mann-Whitney test alone rejects about 5%, and the interval and
     * min_effect conditions only remove verdicts (28 of 1000 here). */
    enum { TRIALS = 1000 };
    double a[30], b[30];
    int alarms = 0;
    plumb_compare_opts_t o;
    plumb_comparison_t c;
    plumb_rng_t rng;
    plumb_compare_opts_init(&o);
    o.resamples = 1000;
    plumb_rng_seed(&rng, 31337);
    for (int trial = 0; trial < TRIALS; trial++) {
        size_t n = 20 + (size_t)trial % 11;
        synthetic_times(&rng, 100, 0.04, a, n);
        synthetic_times(&rng, 100, 0.04, b, n);
        o.seed = (uint64_t)trial;
        assert_int_equal(plumb_compare(a, n, b, n, &o, &c), 0);
        alarms += c.verdict != PLUMB_VERDICT_SAME;
    }
    assert_true(alarms <= TRIALS * 5 / 100);
}

static void five_percent_change_is_detected(void **state)
{
    (void)state;
    /* The candidate's times are the baseline's distribution divided by
     * 1.05: 30 runs a side must find it LOWER in at least 80% of 500
     * trials (473 here; about 81% at CV 5%), and never HIGHER. */
    enum { TRIALS = 500, N = 30 };
    double a[N], b[N];
    int lower = 0, higher = 0;
    plumb_compare_opts_t o;
    plumb_comparison_t c;
    plumb_rng_t rng;
    plumb_compare_opts_init(&o);
    o.resamples = 1000;
    plumb_rng_seed(&rng, 4242);
    for (int trial = 0; trial < TRIALS; trial++) {
        synthetic_times(&rng, 100, 0.04, a, N);
        synthetic_times(&rng, 100 / 1.05, 0.04, b, N);
        o.seed = (uint64_t)trial;
        assert_int_equal(plumb_compare(a, N, b, N, &o, &c), 0);
        lower += c.verdict == PLUMB_VERDICT_LOWER;
        higher += c.verdict == PLUMB_VERDICT_HIGHER;
    }
    assert_true(lower >= TRIALS * 80 / 100);
    assert_int_equal(higher, 0);
}

int test_compare_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opts_defaults),
        cmocka_unit_test(verdict_names),
        cmocka_unit_test(clear_improvement_is_lower),
        cmocka_unit_test(clear_regression_is_higher),
        cmocka_unit_test(identical_samples_are_same),
        cmocka_unit_test(small_effect_needs_min_effect),
        cmocka_unit_test(unstable_median_is_same),
        cmocka_unit_test(median_shift_without_rank_evidence_is_same),
        cmocka_unit_test(zero_median_uses_sign_of_difference),
        cmocka_unit_test(zero_resampled_median_drops_interval),
        cmocka_unit_test(compare_errors),
        cmocka_unit_test(aa_false_alarms_within_alpha),
        cmocka_unit_test(five_percent_change_is_detected),
    };
    return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
