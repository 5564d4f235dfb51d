/* test_histogram.c: exact totals, quantiles within the bucket bound of the
 * exact order statistics (computed here by sorting), bucket edges, merge
 * and reset. */
#include <math.h>
#include <stdlib.h>

#include "approx.h"
#include "tests.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void empty_has_no_quantile(void **state)
{
    (void)state;
    plumb_histogram_t *h;
    plumb_histogram_totals_t t;
    assert_int_equal(plumb_histogram_new(&h), 0);
    plumb_histogram_totals(h, &t);
    assert_true(t.count == 0 && t.sum_ns == 0);
    assert_true(isnan(t.mean_ns));
    assert_true(isnan(plumb_histogram_quantile(h, 0.5)));
    plumb_histogram_record(h, 10);
    assert_true(isnan(plumb_histogram_quantile(h, -0.1)));
    assert_true(isnan(plumb_histogram_quantile(h, 1.5)));
    assert_true(isnan(plumb_histogram_quantile(NULL, 0.5)));
    assert_int_equal(plumb_histogram_new(NULL), PLUMB_EINVAL);
    plumb_histogram_free(h);
    plumb_histogram_free(NULL);
}

static void small_values_are_exact(void **state)
{
    (void)state;
    plumb_histogram_t *h;
    assert_int_equal(plumb_histogram_new(&h), 0);
    /* 1..100 ns: every value below 128 has its own bucket */
    for (int64_t v = 1; v <= 100; v++)
        plumb_histogram_record(h, v);
    assert_true(plumb_histogram_quantile(h, 0.5) == 50);
    assert_true(plumb_histogram_quantile(h, 0.9) == 90);
    assert_true(plumb_histogram_quantile(h, 0.99) == 99);
    assert_true(plumb_histogram_quantile(h, 0) == 1);
    assert_true(plumb_histogram_quantile(h, 1) == 100);
    plumb_histogram_totals_t t;
    plumb_histogram_totals(h, &t);
    assert_true(t.count == 100 && t.sum_ns == 5050 && t.min_ns == 1 &&
                t.max_ns == 100);
    assert_near(t.mean_ns, 50.5, 1e-12);
    plumb_histogram_free(h);
}

static void negative_counts_as_zero(void **state)
{
    (void)state;
    plumb_histogram_t *h;
    assert_int_equal(plumb_histogram_new(&h), 0);
    plumb_histogram_record(h, -5);
    plumb_histogram_record(h, 7);
    plumb_histogram_totals_t t;
    plumb_histogram_totals(h, &t);
    assert_true(t.min_ns == 0 && t.max_ns == 7 && t.sum_ns == 7);
    plumb_histogram_free(h);
}

/* Log-uniform values from 100 ns to 10 s: each quantile is within 1/128
 * of the exact nearest-rank order statistic. */
static void quantiles_within_bucket_bound(void **state)
{
    (void)state;
    enum { N = 20000 };
    plumb_histogram_t *h;
    int64_t *v = malloc(N * sizeof *v);
    plumb_rng_t rng;
    assert_non_null(v);
    assert_int_equal(plumb_histogram_new(&h), 0);
    plumb_rng_seed(&rng, 42);
    for (size_t i = 0; i < N; i++) {
        v[i] = (int64_t)exp(log(100) + plumb_rng_uniform(&rng) *
                                           (log(1e10) - log(100)));
        plumb_histogram_record(h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_i64);
    static const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99,
                                0.999};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        size_t rank = (size_t)ceil(qs[k] * N);
        double exact = (double)v[rank - 1];
        double got = plumb_histogram_quantile(h, qs[k]);
        assert_true(fabs(got - exact) <= exact / 128 + 0.5);
    }
    assert_true(plumb_histogram_quantile(h, 1) == (double)v[N - 1]);
    assert_true(plumb_histogram_quantile(h, 0) == (double)v[0]);
    free(v);
    plumb_histogram_free(h);
}

/* A value right at a power of two and the one before it land in different
 * buckets, both read back within the bound. */
static void bucket_edges(void **state)
{
    (void)state;
    static const int64_t edges[] = {127, 128, 129, 255, 256, 1023, 1024,
                                    INT64_C(1) << 30, (INT64_C(1) << 30) - 1,
                                    (INT64_C(1) << 44) + 12345};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        plumb_histogram_t *h;
        assert_int_equal(plumb_histogram_new(&h), 0);
        /* min and max far apart, so the clamp does not hide the bucket */
        plumb_histogram_record(h, 0);
        plumb_histogram_record(h, edges[k]);
        plumb_histogram_record(h, edges[k]);
        plumb_histogram_record(h, INT64_C(1) << 50);
        double got = plumb_histogram_quantile(h, 0.5);
        double want = (double)edges[k];
        assert_true(fabs(got - want) <= want / 128 + 0.5);
        plumb_histogram_free(h);
    }
}

static void beyond_range_keeps_exact_max(void **state)
{
    (void)state;
    plumb_histogram_t *h;
    assert_int_equal(plumb_histogram_new(&h), 0);
    int64_t huge = INT64_C(1) << 60;
    plumb_histogram_record(h, huge);
    plumb_histogram_record(h, huge + 1);
    assert_true(plumb_histogram_quantile(h, 1) == (double)(huge + 1));
    /* the shared last bucket answers within [min, max] */
    double mid = plumb_histogram_quantile(h, 0.5);
    assert_true(mid >= (double)huge && mid <= (double)(huge + 1));
    plumb_histogram_free(h);
}

static void merge_equals_recording_both(void **state)
{
    (void)state;
    plumb_histogram_t *a, *b, *both;
    assert_int_equal(plumb_histogram_new(&a), 0);
    assert_int_equal(plumb_histogram_new(&b), 0);
    assert_int_equal(plumb_histogram_new(&both), 0);
    for (int64_t v = 1000; v < 200000; v += 977) {
        plumb_histogram_record(v % 2 ? a : b, v);
        plumb_histogram_record(both, v);
    }
    assert_int_equal(plumb_histogram_merge(a, b), 0);
    plumb_histogram_totals_t ta, tb;
    plumb_histogram_totals(a, &ta);
    plumb_histogram_totals(both, &tb);
    assert_true(ta.count == tb.count && ta.sum_ns == tb.sum_ns &&
                ta.min_ns == tb.min_ns && ta.max_ns == tb.max_ns);
    for (double q = 0.05; q < 1; q += 0.05)
        assert_true(plumb_histogram_quantile(a, q) ==
                    plumb_histogram_quantile(both, q));
    assert_int_equal(plumb_histogram_merge(NULL, b), PLUMB_EINVAL);
    plumb_histogram_reset(a);
    plumb_histogram_totals(a, &ta);
    assert_true(ta.count == 0 && ta.max_ns == 0);
    /* merging into an empty one takes the other's min */
    assert_int_equal(plumb_histogram_merge(a, b), 0);
    plumb_histogram_totals(a, &ta);
    plumb_histogram_totals(b, &tb);
    assert_true(ta.min_ns == tb.min_ns && ta.count == tb.count);
    plumb_histogram_free(a);
    plumb_histogram_free(b);
    plumb_histogram_free(both);
}

int test_histogram_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_has_no_quantile),
        cmocka_unit_test(small_values_are_exact),
        cmocka_unit_test(negative_counts_as_zero),
        cmocka_unit_test(quantiles_within_bucket_bound),
        cmocka_unit_test(bucket_edges),
        cmocka_unit_test(beyond_range_keeps_exact_max),
        cmocka_unit_test(merge_equals_recording_both),
    };
    return cmocka_run_group_tests_name("histogram", tests, NULL, NULL);
}
