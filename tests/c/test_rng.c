/* test_rng.c: the generator against published vectors and an independent
 * Python transcription, and its derived draws against their distributions.
 *
 * "Python transcription" below means the pure-Python rewrite of splitmix64,
 * xoshiro256**, Lemire's bounded draw and Box-Muller from their papers (not
 * from src/rng.c) in tests/c/reference_values.py, which prints every value
 * pasted here. */
#include <stdlib.h>

#include "approx.h"
#include "tests.h"

static void seed_is_splitmix64_of_the_seed(void **state)
{
    (void)state;
    plumb_rng_t rng;
    /* splitmix64 from 0: its published first outputs (Vigna's splitmix64.c,
     * repeated in the test suites of rand_xoshiro and others). */
    plumb_rng_seed(&rng, 0);
    assert_true(rng.s[0] == UINT64_C(0xe220a8397b1dcdaf));
    assert_true(rng.s[1] == UINT64_C(0x6e789e6aa1b965f4));
    assert_true(rng.s[2] == UINT64_C(0x06c45d188009454f));
    assert_true(rng.s[3] == UINT64_C(0xf88bb8a8724c81ec));
}

static void next_matches_reference_vector(void **state)
{
    (void)state;
    /* State {1, 2, 3, 4}: outputs of the reference xoshiro256starstar.c, as
     * in rand_xoshiro's `reference` test. */
    static const uint64_t expected[] = {
        UINT64_C(11520),
        UINT64_C(0),
        UINT64_C(1509978240),
        UINT64_C(1215971899390074240),
        UINT64_C(1216172134540287360),
        UINT64_C(607988272756665600),
    };
    plumb_rng_t rng = {{1, 2, 3, 4}};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        assert_true(plumb_rng_next(&rng) == expected[i]);
}

static void seeded_stream_matches_transcription(void **state)
{
    (void)state;
    plumb_rng_t rng;
    /* Python transcription, seed 12345. */
    plumb_rng_seed(&rng, 12345);
    assert_true(plumb_rng_next(&rng) == UINT64_C(0xbe6a36374160d49b));
    assert_true(plumb_rng_next(&rng) == UINT64_C(0x214aaa0637a688c6));
    assert_true(plumb_rng_next(&rng) == UINT64_C(0xf69d16de9954d388));
}

static void same_seed_same_stream(void **state)
{
    (void)state;
    plumb_rng_t a, b, c;
    int differ = 0;
    plumb_rng_seed(&a, 42);
    plumb_rng_seed(&b, 42);
    plumb_rng_seed(&c, 43);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = plumb_rng_next(&a);
        assert_true(x == plumb_rng_next(&b));
        differ += x != plumb_rng_next(&c);
    }
    assert_true(differ > 990);
}

static void uniform_uses_top_53_bits(void **state)
{
    (void)state;
    plumb_rng_t rng = {{1, 2, 3, 4}};
    /* First output 11520: 11520 >> 11 = 5, so 5 / 2^53 exactly. */
    assert_true(plumb_rng_uniform(&rng) == 5 * 0x1.0p-53);
    /* Second output 0 gives exactly 0, the bottom of [0, 1). */
    assert_true(plumb_rng_uniform(&rng) == 0.0);
    /* Python transcription, seed 12345: (next >> 11) * 2^-53. */
    plumb_rng_seed(&rng, 12345);
    assert_true(plumb_rng_uniform(&rng) == 0.7438081631565894);
    assert_true(plumb_rng_uniform(&rng) == 0.13004553462783452);
    assert_true(plumb_rng_uniform(&rng) == 0.9633344930128545);
}

static void uniform_mean_and_range(void **state)
{
    (void)state;
    plumb_rng_t rng;
    double sum = 0;
    const int draws = 100000;
    plumb_rng_seed(&rng, 7);
    for (int i = 0; i < draws; i++) {
        double u = plumb_rng_uniform(&rng);
        assert_true(u >= 0 && u < 1);
        sum += u;
    }
    /* Standard error of the mean: sqrt(1/12 / 1e5) = 0.00091; 0.005 is
     * 5.5 of them. */
    assert_near(sum / draws, 0.5, 0.005);
}

static void below_matches_transcription(void **state)
{
    (void)state;
    plumb_rng_t rng;
    static const uint64_t thousand[] = {743, 130, 963, 48, 555, 10, 159, 295};
    static const uint64_t three[] = {2, 0, 2, 0, 1, 0, 0, 0};
    /* Python transcription of Lemire's method, seed 12345. */
    plumb_rng_seed(&rng, 12345);
    for (int i = 0; i < 8; i++)
        assert_true(plumb_rng_below(&rng, 1000) == thousand[i]);
    plumb_rng_seed(&rng, 12345);
    for (int i = 0; i < 8; i++)
        assert_true(plumb_rng_below(&rng, 3) == three[i]);
    /* bound = 2^63 + 12345 rejects almost half the raw draws: these four
     * values took seven, so the rejection loop is what is checked here. */
    plumb_rng_seed(&rng, 12345);
    uint64_t big = (UINT64_C(1) << 63) + 12345;
    assert_true(plumb_rng_below(&rng, big) == UINT64_C(6860419412842810923));
    assert_true(plumb_rng_below(&rng, big) == UINT64_C(5120658023159234025));
    assert_true(plumb_rng_below(&rng, big) == UINT64_C(98487714942453829));
    assert_true(plumb_rng_below(&rng, big) == UINT64_C(1473685501948101376));
}

static void below_is_uniform(void **state)
{
    (void)state;
    plumb_rng_t rng;
    long counts[10] = {0};
    const int draws = 100000;
    double chi2 = 0;
    plumb_rng_seed(&rng, 99);
    for (int i = 0; i < draws; i++) {
        uint64_t v = plumb_rng_below(&rng, 10);
        assert_true(v < 10);
        counts[v]++;
    }
    for (int k = 0; k < 10; k++) {
        double d = counts[k] - draws / 10.0;
        chi2 += d * d / (draws / 10.0);
    }
    /* Chi-square, 9 degrees of freedom: 27.88 is its 0.999 quantile
     * (scipy.stats.chi2.ppf(0.999, 9) = 27.877). */
    assert_true(chi2 < 27.88);
    plumb_rng_seed(&rng, 1);
    for (int i = 0; i < 100; i++)
        assert_true(plumb_rng_below(&rng, 1) == 0);
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static void normal_matches_transcription(void **state)
{
    (void)state;
    plumb_rng_t rng;
    /* Python transcription of Box-Muller, seed 2024:
     * sqrt(-2 ln(1 - u1)) cos(2 pi u2). */
    plumb_rng_seed(&rng, 2024);
    assert_near(plumb_rng_normal(&rng), 0.06788824651552398, 1e-13);
    assert_near(plumb_rng_normal(&rng), 0.20780665233422843, 1e-13);
    assert_near(plumb_rng_normal(&rng), 0.05552889597059467, 1e-13);
    assert_near(plumb_rng_normal(&rng), -0.044076569063412556, 1e-13);
}

static void normal_is_standard_normal(void **state)
{
    (void)state;
    enum { DRAWS = 20000 };
    double *z = malloc(DRAWS * sizeof *z);
    double sum = 0, squares = 0, ks = 0;
    plumb_rng_t rng;
    assert_non_null(z);
    plumb_rng_seed(&rng, 5);
    for (int i = 0; i < DRAWS; i++) {
        z[i] = plumb_rng_normal(&rng);
        sum += z[i];
        squares += z[i] * z[i];
    }
    /* Standard errors: mean 1/sqrt(2e4) = 0.0071, variance
     * sqrt(2/2e4) = 0.01; the bounds are 5 of them. */
    assert_near(sum / DRAWS, 0, 0.035);
    assert_near(squares / DRAWS, 1, 0.05);
    /* Kolmogorov-Smirnov distance to the normal CDF, 0.5 erfc(-x/sqrt 2);
     * its 0.999 critical value is 1.95 / sqrt(n) = 0.0138. */
    qsort(z, DRAWS, sizeof *z, compare_doubles);
    for (int i = 0; i < DRAWS; i++) {
        double cdf = 0.5 * erfc(-z[i] / sqrt(2.0));
        double above = (i + 1.0) / DRAWS - cdf, below = cdf - (double)i / DRAWS;
        ks = fmax(ks, fmax(above, below));
    }
    assert_true(ks < 0.0138);
    free(z);
}

int test_rng_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_is_splitmix64_of_the_seed),
        cmocka_unit_test(next_matches_reference_vector),
        cmocka_unit_test(seeded_stream_matches_transcription),
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(uniform_uses_top_53_bits),
        cmocka_unit_test(uniform_mean_and_range),
        cmocka_unit_test(below_matches_transcription),
        cmocka_unit_test(below_is_uniform),
        cmocka_unit_test(normal_matches_transcription),
        cmocka_unit_test(normal_is_standard_normal),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
