/* test_stats.c: descriptive statistics, the median's interval, the
 * Mann-Whitney test and the bootstrap against independently computed
 * values. "scipy" below is scipy 1.10.1 with numpy 1.24.2 under
 * /usr/bin/python3 (Python 3.11); the exact call is given with each value,
 * and tests/c/reference_values.py recomputes them all. */
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "synthetic.h"
#include "tests.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* ---- quantiles ---------------------------------------------------------- */

static void quantile_matches_numpy_linear(void **state)
{
    (void)state;
    /* sorted([3.1, 1.4, 15.9, 2.6, 5.3, 5.8, 9.7, 9.3]) */
    static const double x[] = {1.4, 2.6, 3.1, 5.3, 5.8, 9.3, 9.7, 15.9};
    /* numpy.quantile(x, q, method='linear') */
    assert_near(plumb_stats_quantile(x, 8, 0.05), 1.82, 1e-12);
    assert_near(plumb_stats_quantile(x, 8, 0.25), 2.975, 1e-12);
    assert_near(plumb_stats_quantile(x, 8, 0.5), 5.55, 1e-12);
    assert_near(plumb_stats_quantile(x, 8, 0.75), 9.4, 1e-12);
    assert_near(plumb_stats_quantile(x, 8, 0.95), 13.73, 1e-12);
    assert_near(plumb_stats_quantile(x, 8, 1.0 / 3), 3.8333333333333326,
                1e-12);
    /* By hand: h = (5-1) 0.1 = 0.4, 10 + 0.4 (20 - 10) = 14. */
    static const double y[] = {10, 20, 30, 40, 50};
    assert_near(plumb_stats_quantile(y, 5, 0.1), 14, 1e-12);
}

static void quantile_edges(void **state)
{
    (void)state;
    static const double one[] = {42.5};
    static const double x[] = {1.4, 2.6, 3.1, 5.3};
    assert_true(plumb_stats_quantile(one, 1, 0) == 42.5);
    assert_true(plumb_stats_quantile(one, 1, 0.37) == 42.5);
    assert_true(plumb_stats_quantile(one, 1, 1) == 42.5);
    assert_true(plumb_stats_quantile(x, 4, 0) == 1.4);
    assert_true(plumb_stats_quantile(x, 4, 1) == 5.3);
    /* Outside [0, 1] the quantile is clamped to the extremes. */
    assert_true(plumb_stats_quantile(x, 4, -0.5) == 1.4);
    assert_true(plumb_stats_quantile(x, 4, 7) == 5.3);
    assert_true(isnan(plumb_stats_quantile(x, 0, 0.5)));
    assert_true(isnan(plumb_stats_quantile(NULL, 4, 0.5)));
    assert_true(isnan(plumb_stats_quantile(x, 4, NAN)));
}

/* ---- summaries ---------------------------------------------------------- */

static void summarize_matches_numpy(void **state)
{
    (void)state;
    /* Ten steady timings and one slow one (30.0). */
    static const double x[] = {12.1, 11.8, 12.5, 13.0, 11.9, 12.2,
                               30.0, 12.0, 12.3, 11.7, 12.4};
    double copy[COUNT(x)];
    plumb_summary_t s;
    memcpy(copy, x, sizeof x);
    assert_int_equal(plumb_stats_summarize(x, COUNT(x), &s), 0);
    assert_memory_equal(copy, x, sizeof x); /* input untouched */
    assert_int_equal(s.n, 11);
    assert_true(s.min == 11.7);
    assert_true(s.max == 30.0);
    /* numpy: x.mean(), x.std(ddof=1), numpy.median(x),
     * numpy.quantile(x, q) */
    assert_near(s.mean, 13.80909090909091, 1e-12);
    assert_near(s.stddev, 5.382277314567607, 1e-12);
    assert_near(s.median, 12.2, 1e-12);
    assert_near(s.p5, 11.75, 1e-12);
    assert_near(s.p25, 11.95, 1e-12);
    assert_near(s.p75, 12.45, 1e-12);
    assert_near(s.p95, 21.5, 1e-12);
    /* scipy.stats.median_abs_deviation(x, scale=1.0) */
    assert_near(s.mad, 0.3, 1e-12);
    /* Modified z-scores 0.6745 |x - 12.2| / 0.3: 30.0 scores 40.0, the next
     * (13.0) 1.80; only 30.0 exceeds 3.5. */
    assert_int_equal(s.outliers, 1);
    /* n = 11: ranks (2, 10), coverage 1 - 2 (1 + 11) / 2^11 = 0.98828125
     * (by hand; scipy: 1 - 2 binom.cdf(1, 11, 0.5)). */
    assert_true(s.median_ci_low == 11.8);
    assert_true(s.median_ci_high == 13.0);
    assert_near(s.median_ci_level, 0.98828125, 1e-12);
}

static void summarize_one_value(void **state)
{
    (void)state;
    static const double x[] = {7.0};
    plumb_summary_t s;
    assert_int_equal(plumb_stats_summarize(x, 1, &s), 0);
    assert_true(s.min == 7 && s.max == 7 && s.mean == 7 && s.median == 7);
    assert_true(s.stddev == 0 && s.mad == 0 && s.outliers == 0);
    assert_true(s.p5 == 7 && s.p95 == 7);
    /* One value: the interval [x, x] covers the median with probability
     * 1 - 2 (1/2)^1 = 0. */
    assert_true(s.median_ci_low == 7 && s.median_ci_high == 7);
    assert_true(s.median_ci_level == 0);
}

static void summarize_mad_zero_has_no_outliers(void **state)
{
    (void)state;
    /* Median 5, deviations {0, 0, 0, 0, 4}: MAD 0, the score of 9 is
     * undefined, and nothing is called an outlier. */
    static const double x[] = {5, 5, 9, 5, 5};
    plumb_summary_t s;
    assert_int_equal(plumb_stats_summarize(x, COUNT(x), &s), 0);
    assert_true(s.mad == 0);
    assert_int_equal(s.outliers, 0);
}

static void summarize_outliers_use_modified_z(void **state)
{
    (void)state;
    /* Median 10.1, MAD 0.3 (numpy). 11.4 lies 4.33 MADs out, modified z
     * 0.6745 * 4.33 = 2.92: not an outlier (it would be, on the raw
     * 4.33 > 3.5). 13.0 lies 9.67 MADs out, z = 6.52: an outlier. */
    static const double x[] = {10.0, 10.2, 9.8, 10.4, 9.6,
                               10.1, 9.9,  11.4, 13.0};
    plumb_summary_t s;
    assert_int_equal(plumb_stats_summarize(x, COUNT(x), &s), 0);
    assert_near(s.median, 10.1, 1e-12);
    assert_near(s.mad, 0.3, 1e-12);
    assert_int_equal(s.outliers, 1);
}

static void summarize_errors(void **state)
{
    (void)state;
    static const double x[] = {1, 2, NAN};
    plumb_summary_t s;
    assert_int_equal(plumb_stats_summarize(x, 0, &s), PLUMB_ETOOFEW);
    assert_int_equal(plumb_stats_summarize(x, 3, &s), PLUMB_EINVAL);
    assert_int_equal(plumb_stats_summarize(NULL, 3, &s), PLUMB_EINVAL);
    assert_int_equal(plumb_stats_summarize(x, 2, NULL), PLUMB_EINVAL);
}

/* ---- the median's interval ---------------------------------------------- */

/* Checks the interval of 1, 2, ..., n at level, whose bounds are ranks. */
static void check_median_ci(size_t n, double level, double rank_lo,
                            double rank_hi, double coverage)
{
    double *x = malloc(n * sizeof *x), lo, hi, cov;
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i + 1);
    assert_int_equal(plumb_stats_median_ci(x, n, level, &lo, &hi, &cov), 0);
    assert_true(lo == rank_lo);
    assert_true(hi == rank_hi);
    assert_near(cov, coverage, 1e-12);
    free(x);
}

static void median_ci_published_ranks(void **state)
{
    (void)state;
    /* The textbook 95% ranks: n = 10 -> (2, 9), n = 20 -> (6, 15); for
     * n = 100, (40, 61) also follows from the normal approximation
     * 50 -/+ 1.96 sqrt(100) / 2 = 40.2, 59.8 (+1 above). Coverages by
     * hand for n = 10 (1 - 2 * 11/1024), otherwise from scipy,
     * 1 - 2 binom.cdf(j - 1, n, 0.5). */
    check_median_ci(10, 0.95, 2, 9, 0.978515625);
    check_median_ci(20, 0.95, 6, 15, 0.9586105346679688);
    check_median_ci(100, 0.95, 40, 61, 0.9647997997822951);
    check_median_ci(50, 0.99, 16, 35, 0.9933995520331891);
}

static void median_ci_small_n_is_min_max(void **state)
{
    (void)state;
    /* n = 5: even (1, 5) covers only 1 - 2/32 = 0.9375 < 0.95, so the
     * widest interval is returned with its true coverage. n = 6: (1, 6)
     * covers 1 - 2/64 = 0.96875 and is the answer. */
    check_median_ci(5, 0.95, 1, 5, 0.9375);
    check_median_ci(6, 0.95, 1, 6, 0.96875);
    check_median_ci(2, 0.95, 1, 2, 0.5);
}

static void median_ci_large_n(void **state)
{
    (void)state;
    /* Large n walks only the centre of the binomial. scipy: the largest j
     * with 1 - 2 binom.cdf(j - 1, n, 0.5) >= level. */
    check_median_ci(100000, 0.95, 49690, 50311, 0.9504442853304775);
    check_median_ci(100001, 0.90, 49740, 50262, 0.9012007768403221);
}

static void median_ci_errors(void **state)
{
    (void)state;
    static const double x[] = {1, 2, 3};
    double lo, hi, cov;
    assert_int_equal(plumb_stats_median_ci(x, 0, 0.95, &lo, &hi, &cov),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_stats_median_ci(x, 3, 1.0, &lo, &hi, &cov),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_stats_median_ci(x, 3, 0, &lo, &hi, &cov),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_stats_median_ci(x, 3, 0.95, &lo, NULL, &cov),
                     PLUMB_EINVAL);
}

/* ---- Mann-Whitney ------------------------------------------------------- */

static void mann_whitney_exact_matches_scipy(void **state)
{
    (void)state;
    static const double a[] = {12.4, 11.9, 13.1, 12.8, 12.2, 13.5, 12.9};
    static const double b[] = {11.8, 12.05, 11.5, 12.3, 11.7,
                               12.1, 11.6, 12.6, 11.95};
    static const double c[] = {5.1, 7.3, 6.2};
    static const double d[] = {4.0, 4.4, 5.0, 5.5, 5.9, 6.0,
                               6.1, 6.5, 6.6, 7.0, 7.1, 7.9};
    double u, p;
    int exact;
    /* scipy mannwhitneyu(a, b, alternative='two-sided', method='exact') */
    assert_int_equal(plumb_stats_mann_whitney(a, 7, b, 9, &u, &p, &exact), 0);
    assert_int_equal(exact, 1);
    assert_true(u == 55);
    assert_near_rel(p, 0.011538461538461539, 1e-12);
    assert_int_equal(plumb_stats_mann_whitney(c, 3, d, 12, &u, &p, &exact),
                     0);
    assert_int_equal(exact, 1);
    assert_true(u == 21);
    assert_near_rel(p, 0.734065934065934, 1e-12);
    /* U of the second sample is na nb - U of the first; p is the same. */
    assert_int_equal(plumb_stats_mann_whitney(d, 12, c, 3, &u, &p, &exact),
                     0);
    assert_true(u == 3 * 12 - 21);
    assert_near_rel(p, 0.734065934065934, 1e-12);
}

static void mann_whitney_critical_value_table(void **state)
{
    (void)state;
    /* Published table: n1 = n2 = 10, two-sided alpha 0.05, critical U = 23
     * (significant when U <= 23). b = 1..10; each a value's U contribution
     * is the number of b below it: 0,0,0,0,1,2,3,4,6,7 = 23, and with the
     * last moved above 8 of them, 24. */
    static const double b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const double a23[] = {0.1, 0.2, 0.3, 0.4, 1.5,
                                 2.5, 3.5, 4.5, 6.5, 7.5};
    static const double a24[] = {0.1, 0.2, 0.3, 0.4, 1.5,
                                 2.5, 3.5, 4.5, 6.5, 8.5};
    double u, p;
    int exact;
    assert_int_equal(plumb_stats_mann_whitney(a23, 10, b, 10, &u, &p, &exact),
                     0);
    assert_true(u == 23 && exact == 1);
    assert_true(p < 0.05);
    /* scipy mannwhitneyu(a23, b, method='exact') */
    assert_near_rel(p, 0.04325705254497823, 1e-12);
    assert_int_equal(plumb_stats_mann_whitney(a24, 10, b, 10, &u, &p, &exact),
                     0);
    assert_true(u == 24 && exact == 1);
    assert_true(p > 0.05);
    assert_near_rel(p, 0.0524259022711035, 1e-12);
}

static void mann_whitney_exact_at_fifty(void **state)
{
    (void)state;
    double a[50], b[50], u, p;
    int exact;
    /* Complete separation: U = 0 and p = 2 / C(100, 50) (by hand; Python
     * 2 / math.comb(100, 50) = 1.9823306042836678e-29). Counts near 1e29
     * exceed exact integers in a double, yet the sum stays accurate. */
    for (int i = 0; i < 50; i++) {
        a[i] = i + 1;
        b[i] = i + 51;
    }
    assert_int_equal(plumb_stats_mann_whitney(a, 50, b, 50, &u, &p, &exact),
                     0);
    assert_true(u == 0 && exact == 1);
    assert_near_rel(p, 1.9823306042836678e-29, 1e-12);
    /* Overlapping: scipy mannwhitneyu(a, b, method='exact') with
     * a_i = i + 0.5, b_i = 1.1 i + 3.25; the asymptotic p would be
     * 0.11050681166192877, so this also tells the two paths apart. */
    for (int i = 0; i < 50; i++) {
        a[i] = i + 0.5;
        b[i] = i * 1.1 + 3.25;
    }
    assert_int_equal(plumb_stats_mann_whitney(a, 50, b, 50, &u, &p, &exact),
                     0);
    assert_true(u == 1018 && exact == 1);
    assert_near_rel(p, 0.11075426074657428, 1e-12);
}

static void mann_whitney_ties_use_normal(void **state)
{
    (void)state;
    static const double a[] = {3, 4, 4, 5, 6, 6, 6, 8};
    static const double b[] = {2, 3, 3, 4, 5, 5, 7};
    double u, p;
    int exact;
    /* Average ranks for ties, tie-corrected variance, continuity 0.5:
     * scipy mannwhitneyu(a, b, method='asymptotic', use_continuity=True) */
    assert_int_equal(plumb_stats_mann_whitney(a, 8, b, 7, &u, &p, &exact), 0);
    assert_int_equal(exact, 0);
    assert_true(u == 39);
    assert_near_rel(p, 0.21762088415093472, 1e-12);
}

static void mann_whitney_large_samples_use_normal(void **state)
{
    (void)state;
    double a[60], b[55], u, p;
    int exact;
    for (int i = 0; i < 60; i++)
        a[i] = 100 + ((i * 37) % 101) * 0.173;
    for (int i = 0; i < 55; i++)
        b[i] = 99 + ((i * 53) % 97) * 0.191 + 0.0007 * i;
    /* No ties, but 60 > 50: scipy mannwhitneyu(a, b, method='asymptotic')
     * on the same formulas. */
    assert_int_equal(plumb_stats_mann_whitney(a, 60, b, 55, &u, &p, &exact),
                     0);
    assert_int_equal(exact, 0);
    assert_true(u == 1766);
    assert_near_rel(p, 0.5178417561049654, 1e-12);
}

static void mann_whitney_all_equal(void **state)
{
    (void)state;
    static const double a[] = {4, 4, 4};
    static const double b[] = {4, 4, 4, 4};
    double u, p;
    int exact;
    /* Every rank is 4: U = 3 * 4 / 2 and the variance is 0, p = 1. */
    assert_int_equal(plumb_stats_mann_whitney(a, 3, b, 4, &u, &p, &exact), 0);
    assert_true(u == 6 && p == 1 && exact == 0);
}

static void mann_whitney_errors(void **state)
{
    (void)state;
    static const double a[] = {1, 2, 3};
    static const double bad[] = {1, INFINITY};
    double u, p;
    int exact;
    assert_int_equal(plumb_stats_mann_whitney(a, 0, a, 3, &u, &p, &exact),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_stats_mann_whitney(a, 3, a, 0, &u, &p, &exact),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_stats_mann_whitney(a, 3, bad, 2, &u, &p, &exact),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_stats_mann_whitney(a, 3, a, 3, &u, NULL, &exact),
                     PLUMB_EINVAL);
}

/* ---- bootstrap ---------------------------------------------------------- */

/* The bootstrap done the slow, obvious way: the same draws (na ranks into
 * a's ascending copy, then nb into b's, per resample, from one generator),
 * each resample fully sorted for its median. */
static void naive_bootstrap(const double *a, size_t na, const double *b,
                            size_t nb, size_t resamples, double level,
                            uint64_t seed, double *lo, double *hi)
{
    double *sa = malloc(na * sizeof *sa), *sb = malloc(nb * sizeof *sb);
    double *ra = malloc(na * sizeof *ra), *rb = malloc(nb * sizeof *rb);
    double *ratios = malloc(resamples * sizeof *ratios);
    plumb_rng_t rng;
    assert_true(sa && sb && ra && rb && ratios);
    memcpy(sa, a, na * sizeof *sa);
    memcpy(sb, b, nb * sizeof *sb);
    qsort(sa, na, sizeof *sa, compare_doubles);
    qsort(sb, nb, sizeof *sb, compare_doubles);
    plumb_rng_seed(&rng, seed);
    for (size_t r = 0; r < resamples; r++) {
        for (size_t i = 0; i < na; i++)
            ra[i] = sa[plumb_rng_below(&rng, na)];
        for (size_t i = 0; i < nb; i++)
            rb[i] = sb[plumb_rng_below(&rng, nb)];
        qsort(ra, na, sizeof *ra, compare_doubles);
        qsort(rb, nb, sizeof *rb, compare_doubles);
        ratios[r] = plumb_stats_quantile(ra, na, 0.5) /
                    plumb_stats_quantile(rb, nb, 0.5);
    }
    qsort(ratios, resamples, sizeof *ratios, compare_doubles);
    *lo = plumb_stats_quantile(ratios, resamples, (1 - level) / 2);
    *hi = plumb_stats_quantile(ratios, resamples, (1 + level) / 2);
    free(ratios);
    free(rb);
    free(ra);
    free(sb);
    free(sa);
}

static void check_against_naive(size_t na, size_t nb, size_t resamples,
                                double level, uint64_t seed, int ties)
{
    double *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    double lo, hi, naive_lo, naive_hi;
    plumb_rng_t rng;
    assert_true(a && b);
    plumb_rng_seed(&rng, seed ^ 0xabcdef);
    synthetic_times(&rng, 100, 0.04, a, na);
    synthetic_times(&rng, 95, 0.04, b, nb);
    if (ties) /* few distinct values, as byte counts have */
        for (size_t i = 0; i < na || i < nb; i++) {
            if (i < na)
                a[i] = floor(a[i] / 5);
            if (i < nb)
                b[i] = floor(b[i] / 5);
        }
    assert_int_equal(plumb_stats_bootstrap_ratio(a, na, b, nb, resamples,
                                                 level, seed, &lo, &hi),
                     0);
    naive_bootstrap(a, na, b, nb, resamples, level, seed, &naive_lo,
                    &naive_hi);
    /* Same draws, same arithmetic: equal to the last bit. */
    assert_true(lo == naive_lo);
    assert_true(hi == naive_hi);
    assert_true(lo <= hi);
    free(b);
    free(a);
}

static void bootstrap_matches_naive_resampling(void **state)
{
    (void)state;
    /* Small samples (the whole resample is searched), odd and even. */
    check_against_naive(7, 8, 999, 0.95, 1, 0);
    check_against_naive(2, 3, 500, 0.90, 2, 0);
    /* Large samples: the median is searched in a band of ranks. */
    check_against_naive(301, 256, 400, 0.95, 3, 0);
    check_against_naive(1000, 999, 100, 0.99, 4, 0);
    /* Heavy ties. */
    check_against_naive(200, 151, 300, 0.95, 5, 1);
}

static void bootstrap_constant_samples(void **state)
{
    (void)state;
    static const double a[] = {6, 6, 6, 6};
    static const double b[] = {3, 3, 3};
    double lo, hi;
    /* Every resample's ratio is exactly 6 / 3. */
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 4, b, 3, 100, 0.95, 9, &lo, &hi), 0);
    assert_true(lo == 2 && hi == 2);
}

static void bootstrap_seed_fixes_result(void **state)
{
    (void)state;
    double a[40], b[40], lo1, hi1, lo2, hi2, lo3, hi3;
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 11);
    synthetic_times(&rng, 100, 0.05, a, 40);
    synthetic_times(&rng, 100, 0.05, b, 40);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 40, b, 40, 500, 0.95, 1, &lo1, &hi1),
        0);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 40, b, 40, 500, 0.95, 1, &lo2, &hi2),
        0);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 40, b, 40, 500, 0.95, 2, &lo3, &hi3),
        0);
    assert_true(lo1 == lo2 && hi1 == hi2);
    assert_true(lo1 != lo3 || hi1 != hi3);
}

static void bootstrap_errors(void **state)
{
    (void)state;
    /* Median 0, so most resampled medians of b are 0. */
    static const double a[] = {1, 2, 3, 4, 5};
    static const double b[] = {0, 0, 0, 1, 2};
    static const double bad[] = {1, NAN, 3};
    double lo, hi;
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 5, b, 5, 100, 0.95, 1, &lo, &hi),
        PLUMB_EINVAL);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 0, a, 5, 100, 0.95, 1, &lo, &hi),
        PLUMB_ETOOFEW);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 5, a, 5, 0, 0.95, 1, &lo, &hi),
        PLUMB_EINVAL);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 5, a, 5, 100, 1.0, 1, &lo, &hi),
        PLUMB_EINVAL);
    assert_int_equal(
        plumb_stats_bootstrap_ratio(a, 5, bad, 3, 100, 0.95, 1, &lo, &hi),
        PLUMB_EINVAL);
}

static void bootstrap_ci_coverage(void **state)
{
    (void)state;
    /* a = 1.05 X, b = Y with X, Y drawn from one distribution: the ratio
     * of population medians is exactly 1.05, whatever the distribution.
     * A 95% interval must hold it in roughly 95% of trials; with 400
     * trials the binomial standard error is 1.1%, and the percentile
     * bootstrap of a median at n = 30 is known to run a little off its
     * nominal level, hence 90-98%. */
    enum { TRIALS = 400, N = 30 };
    const double true_ratio = 1.05;
    double a[N], b[N], lo, hi;
    int covered = 0;
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 2718);
    for (int trial = 0; trial < TRIALS; trial++) {
        synthetic_times(&rng, 100 * true_ratio, 0.04, a, N);
        synthetic_times(&rng, 100, 0.04, b, N);
        assert_int_equal(plumb_stats_bootstrap_ratio(a, N, b, N, 1000, 0.95,
                                                     (uint64_t)trial, &lo,
                                                     &hi),
                         0);
        covered += lo <= true_ratio && true_ratio <= hi;
    }
    assert_in_range(covered, TRIALS * 90 / 100, TRIALS * 98 / 100);
}

int test_stats_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantile_matches_numpy_linear),
        cmocka_unit_test(quantile_edges),
        cmocka_unit_test(summarize_matches_numpy),
        cmocka_unit_test(summarize_one_value),
        cmocka_unit_test(summarize_mad_zero_has_no_outliers),
        cmocka_unit_test(summarize_outliers_use_modified_z),
        cmocka_unit_test(summarize_errors),
        cmocka_unit_test(median_ci_published_ranks),
        cmocka_unit_test(median_ci_small_n_is_min_max),
        cmocka_unit_test(median_ci_large_n),
        cmocka_unit_test(median_ci_errors),
        cmocka_unit_test(mann_whitney_exact_matches_scipy),
        cmocka_unit_test(mann_whitney_critical_value_table),
        cmocka_unit_test(mann_whitney_exact_at_fifty),
        cmocka_unit_test(mann_whitney_ties_use_normal),
        cmocka_unit_test(mann_whitney_large_samples_use_normal),
        cmocka_unit_test(mann_whitney_all_equal),
        cmocka_unit_test(mann_whitney_errors),
        cmocka_unit_test(bootstrap_matches_naive_resampling),
        cmocka_unit_test(bootstrap_constant_samples),
        cmocka_unit_test(bootstrap_seed_fixes_result),
        cmocka_unit_test(bootstrap_errors),
        cmocka_unit_test(bootstrap_ci_coverage),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
