/* test_complexity.c: growth-law fits against numpy's least squares, exact
 * recovery of known curves (including n^3 at n = 1e6, where careless
 * arithmetic cancels), recovery from noisy synthetic timings, and
 * crossovers against their analytic values. tests/c/reference_values.py
 * recomputes the pasted values. */
#include <stdlib.h>

#include "approx.h"
#include "tests.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static double growth(plumb_order_t o, double n)
{
    switch (o) {
    case PLUMB_ORDER_LOGN:
        return log(n);
    case PLUMB_ORDER_N:
        return n;
    case PLUMB_ORDER_NLOGN:
        return n * log(n);
    case PLUMB_ORDER_N2:
        return n * n;
    case PLUMB_ORDER_N3:
        return n * n * n;
    case PLUMB_ORDER_EXP:
        return pow(2, n);
    default:
        return 0;
    }
}

static plumb_fit_t curve(plumb_order_t order, double a, double b)
{
    plumb_fit_t f = {.order = order, .a = a, .b = b};
    return f;
}

static void order_names(void **state)
{
    (void)state;
    assert_string_equal(plumb_order_name(PLUMB_ORDER_CONST), "O(1)");
    assert_string_equal(plumb_order_name(PLUMB_ORDER_NLOGN), "O(n log n)");
    assert_string_equal(plumb_order_name(PLUMB_ORDER_N2), "O(n^2)");
    assert_string_equal(plumb_order_name(PLUMB_ORDER_EXP), "O(2^n)");
    assert_string_equal(plumb_order_name(PLUMB_ORDER_COUNT), "?");
}

static void fit_matches_numpy_weighted_least_squares(void **state)
{
    (void)state;
    /* Three runs at each of four sizes, in ms: a 20 ms start-up and an
     * n log n body. Reference: numpy 1.24.2, np.linalg.lstsq on the design
     * [1, g(n)] and t, both rows scaled by sqrt(w), w = 1 / median(t at n)^2;
     * rss = sum w (t - fit)^2, bic = N ln(rss / N) + k ln N; fit_error over
     * the four medians. */
    static const double n[] = {100,   100,   100,   1000,  1000,  1000,
                               10000, 10000, 10000, 1e5,   1e5,   1e5};
    static const double t[] = {20.31, 19.87, 20.12, 21.02, 20.64, 21.35,
                               29.8,  30.9,  29.1,  131.5, 127.2, 135.9};
    static const double bic[] = {
        -17.353047716069113, -18.927969957425912, -82.444916240287,
        -84.53568144781735,  -44.4076448342647,   -41.80658177240264,
    };
    plumb_fit_t f;
    assert_int_equal(plumb_complexity_fit(n, t, COUNT(n), &f), 0);
    for (int o = 0; o < PLUMB_ORDER_EXP; o++)
        assert_near_rel(f.bic[o], bic[o], 1e-9);
    assert_true(isnan(f.bic[PLUMB_ORDER_EXP])); /* 2^1e5 overflows */
    assert_int_equal(f.order, PLUMB_ORDER_NLOGN);
    /* O(n) trails by 2.09, just past PLUMB_BIC_CLOSE: not named */
    assert_int_equal(f.close_order, PLUMB_ORDER_COUNT);
    assert_near_rel(f.a, 20.325199022052985, 1e-9);
    assert_near_rel(f.b, 9.744751365217944e-05, 1e-9);
    assert_near_rel(f.fit_error, 0.011138143603208495, 1e-9);
}

static void a_runner_up_within_2_is_named(void **state)
{
    (void)state;
    /* Three noisy sizes over two decades, in µs: n log n wins by 0.41,
     * less than PLUMB_BIC_CLOSE, so O(n) is named beside it. Reference:
     * numpy, as above (tests/c/reference_values.py). */
    static const double n[] = {1e3, 1e3, 1e3, 1e4, 1e4, 1e4, 1e5, 1e5, 1e5};
    static const double t[] = {8.0,  8.4,   7.6,    93.0,  98.0,
                               88.0, 1050.0, 990.0, 1090.0};
    plumb_fit_t f;
    assert_int_equal(plumb_complexity_fit(n, t, COUNT(n), &f), 0);
    assert_near_rel(f.bic[PLUMB_ORDER_NLOGN], -47.53214451533078, 1e-9);
    assert_near_rel(f.bic[PLUMB_ORDER_N], -47.12511690369702, 1e-9);
    assert_int_equal(f.order, PLUMB_ORDER_NLOGN);
    assert_int_equal(f.close_order, PLUMB_ORDER_N);
}

/* t = a + b g(n) without noise at sizes n[0..count): the law must be
 * found and its coefficients recovered to 1e-9. */
static void check_exact(plumb_order_t order, double a, double b,
                        const double *n, size_t count)
{
    double t[16];
    plumb_fit_t f;
    assert_true(count <= COUNT(t));
    for (size_t i = 0; i < count; i++)
        t[i] = a + b * growth(order, n[i]);
    assert_int_equal(plumb_complexity_fit(n, t, count, &f), 0);
    assert_int_equal(f.order, order);
    assert_near_rel(f.a, a, 1e-9);
    assert_near_rel(f.b, b, 1e-9);
    assert_true(f.fit_error < 1e-9);
}

static void exact_curves_are_recovered(void **state)
{
    (void)state;
    static const double sizes[] = {1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6};
    static const double small[] = {10, 12, 14, 16, 18, 20};
    check_exact(PLUMB_ORDER_LOGN, 5, 2, sizes, COUNT(sizes));
    check_exact(PLUMB_ORDER_N, 5, 1e-3, sizes, COUNT(sizes));
    check_exact(PLUMB_ORDER_NLOGN, 5, 1e-4, sizes, COUNT(sizes));
    check_exact(PLUMB_ORDER_N2, 5, 1e-9, sizes, COUNT(sizes));
    /* n^3 reaches 1e18: the growth term is 1e3 against an intercept of 5,
     * and sum(w g^2) - (sum(w g))^2 / sum(w) would lose most digits. */
    check_exact(PLUMB_ORDER_N3, 5, 1e-15, sizes, COUNT(sizes));
    check_exact(PLUMB_ORDER_EXP, 3, 1e-3, small, COUNT(small));
}

static void constant_data_is_constant(void **state)
{
    (void)state;
    static const double n[] = {10, 100, 1000, 10, 100, 1000};
    static const double t[] = {7, 7, 7, 7, 7, 7};
    plumb_fit_t f;
    assert_int_equal(plumb_complexity_fit(n, t, 6, &f), 0);
    /* Every law with slope 0 fits exactly; the tie goes to the slowest
     * growth, which also has the fewest parameters. */
    assert_int_equal(f.order, PLUMB_ORDER_CONST);
    assert_true(f.a == 7 && f.b == 0 && f.fit_error == 0);
}

static void shrinking_growth_is_rejected(void **state)
{
    (void)state;
    /* Times that fall with n: every growth law would need b < 0. */
    static const double n[] = {10, 100, 1000, 10000};
    static const double t[] = {50, 40, 30, 20};
    plumb_fit_t f;
    assert_int_equal(plumb_complexity_fit(n, t, 4, &f), 0);
    assert_int_equal(f.order, PLUMB_ORDER_CONST);
    assert_true(!isnan(f.bic[PLUMB_ORDER_CONST]));
    for (int o = PLUMB_ORDER_LOGN; o < PLUMB_ORDER_COUNT; o++)
        assert_true(isnan(f.bic[o]));
    /* By hand: weights 1/t^2, so a = sum(1/t) / sum(1/t^2)
     * = 0.12833333 / 0.00463611 = 27.681246255242662, whose relative
     * errors against 50, 40, 30, 20 are -0.44638, -0.30797, -0.07729,
     * 0.38406: RMS 0.33450. */
    assert_near_rel(f.a, 27.681246255242662, 1e-12);
    assert_near(f.fit_error, 0.33450463271973474, 1e-12);
}

static void fit_errors(void **state)
{
    (void)state;
    static const double two_sizes[] = {10, 10, 10, 100, 100, 100};
    static const double t[] = {1, 2, 3, 4, 5, 6};
    static const double bad_n[] = {10, 0, 100};
    static const double nan_t[] = {1, NAN, 3};
    static const double neg_t[] = {1, -2, 3};
    static const double n3[] = {10, 100, 1000};
    static const double n6[] = {10, 10, 100, 100, 1000, 1000};
    static const double zero_median[] = {0, 0, 1, 2, 3, 4};
    plumb_fit_t f;
    assert_int_equal(plumb_complexity_fit(two_sizes, t, 6, &f),
                     PLUMB_ETOOFEW);
    assert_int_equal(plumb_complexity_fit(n3, t, 2, &f), PLUMB_ETOOFEW);
    assert_int_equal(plumb_complexity_fit(bad_n, t, 3, &f), PLUMB_EINVAL);
    assert_int_equal(plumb_complexity_fit(n3, nan_t, 3, &f), PLUMB_EINVAL);
    assert_int_equal(plumb_complexity_fit(n3, neg_t, 3, &f), PLUMB_EINVAL);
    assert_int_equal(plumb_complexity_fit(n6, zero_median, 6, &f),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_complexity_fit(NULL, t, 3, &f), PLUMB_EINVAL);
}

/* Five runs at each of n = 1e3, 1e4, 1e5 of a program with a 20 ms
 * start-up whose growth term reaches ten times that at n = 1e5, each time
 * multiplied by exp(0.03 z): 3% noise. */
static void synthetic_scan(plumb_rng_t *rng, plumb_order_t order, double *n,
                           double *t)
{
    static const double sizes[] = {1e3, 1e4, 1e5};
    const double start_up = 0.020;
    double b = order == PLUMB_ORDER_CONST
                   ? 0
                   : 10 * start_up / growth(order, 1e5);
    for (int s = 0, i = 0; s < 3; s++)
        for (int rep = 0; rep < 5; rep++, i++) {
            n[i] = sizes[s];
            t[i] = (start_up + b * growth(order, sizes[s])) *
                   exp(0.03 * plumb_rng_normal(rng));
        }
}

/* How many of `trials` seeded scans of `order` are fitted as `order`. */
static int recovered(plumb_order_t order, int trials, uint64_t seed)
{
    double n[15], t[15];
    plumb_fit_t f;
    plumb_rng_t rng;
    int right = 0;
    plumb_rng_seed(&rng, seed);
    for (int trial = 0; trial < trials; trial++) {
        synthetic_scan(&rng, order, n, t);
        assert_int_equal(plumb_complexity_fit(n, t, 15, &f), 0);
        right += f.order == order;
    }
    return right;
}

static void noisy_scans_are_recovered(void **state)
{
    (void)state;
    /* Over 500 scans each, this design picks the right law 99-100% of the
     * time for O(n), O(n log n) and O(n^2); 100 scans must give 95. */
    assert_true(recovered(PLUMB_ORDER_N, 100, 1) >= 95);
    assert_true(recovered(PLUMB_ORDER_NLOGN, 100, 2) >= 95);
    assert_true(recovered(PLUMB_ORDER_N2, 100, 3) >= 95);
}

static void flat_noisy_data_is_constant(void **state)
{
    (void)state;
    double n[15], t[15];
    plumb_fit_t f;
    plumb_rng_t rng;
    /* Pure noise around 20 ms. A growth law buys its extra parameter
     * (ln 15 = 2.7 of BIC) only when the noise happens to line up with it
     * and with a positive slope; O(1) wins about 92% of the time (461 of
     * these 500 scans), and must win at least 88%. */
    assert_true(recovered(PLUMB_ORDER_CONST, 500, 4) >= 440);
    plumb_rng_seed(&rng, 5);
    synthetic_scan(&rng, PLUMB_ORDER_CONST, n, t);
    assert_int_equal(plumb_complexity_fit(n, t, 15, &f), 0);
    assert_int_equal(f.order, PLUMB_ORDER_CONST);
    assert_near(f.a, 0.020, 0.020 * 0.03);
    assert_true(f.fit_error < 0.03);
}

static void eval_follows_the_law(void **state)
{
    (void)state;
    plumb_fit_t c = curve(PLUMB_ORDER_CONST, 4, 99);
    plumb_fit_t q = curve(PLUMB_ORDER_N2, 1, 0.5);
    plumb_fit_t e = curve(PLUMB_ORDER_EXP, 1, 0.25);
    plumb_fit_t l = curve(PLUMB_ORDER_NLOGN, 0, 1);
    assert_true(plumb_complexity_eval(&c, 1e9) == 4); /* b is not used */
    assert_true(plumb_complexity_eval(&q, 10) == 51);
    assert_true(plumb_complexity_eval(&e, 10) == 257);
    assert_near(plumb_complexity_eval(&l, exp(2)), 2 * exp(2), 1e-12);
    assert_true(isnan(plumb_complexity_eval(NULL, 10)));
}

static void crossover_matches_analytic(void **state)
{
    (void)state;
    double cross;
    /* 100 + 2n = 0.001 n^2: n = (2 + sqrt(4.4)) / 0.002 = 2048.80884817 */
    plumb_fit_t linear = curve(PLUMB_ORDER_N, 100, 2);
    plumb_fit_t square = curve(PLUMB_ORDER_N2, 0, 0.001);
    assert_int_equal(
        plumb_complexity_crossover(&linear, &square, 1, 1e6, &cross), 0);
    assert_near_rel(cross, 2048.8088481701516, 1e-12);
    assert_int_equal(
        plumb_complexity_crossover(&square, &linear, 1, 1e6, &cross), 0);
    assert_near_rel(cross, 2048.8088481701516, 1e-12);
    /* n ln n = 5 n: n = e^5 = 148.4131591025766 */
    plumb_fit_t nlogn = curve(PLUMB_ORDER_NLOGN, 0, 1);
    plumb_fit_t five_n = curve(PLUMB_ORDER_N, 0, 5);
    assert_int_equal(
        plumb_complexity_crossover(&nlogn, &five_n, 1, 1e4, &cross), 0);
    assert_near_rel(cross, 148.4131591025766, 1e-12);
    /* 2^n = n^3 crosses at 1.3735 and 9.9395; from 2 on, the second:
     * scipy.optimize.brentq(lambda n: 2**n - n**3, 2, 100). */
    plumb_fit_t exp2n = curve(PLUMB_ORDER_EXP, 0, 1);
    plumb_fit_t cube = curve(PLUMB_ORDER_N3, 0, 1);
    assert_int_equal(plumb_complexity_crossover(&exp2n, &cube, 2, 100, &cross),
                     0);
    assert_near_rel(cross, 9.939535141426905, 1e-12);
    /* From 1 on, the first: brentq(..., 1, 2) = 1.373467119696165. */
    assert_int_equal(plumb_complexity_crossover(&exp2n, &cube, 1, 100, &cross),
                     0);
    assert_near_rel(cross, 1.373467119696165, 1e-12);
}

static void crossover_where_curves_touch(void **state)
{
    (void)state;
    double cross;
    /* n and n^2 meet at n = 1, the lower bound: that is the crossing. */
    plumb_fit_t n1 = curve(PLUMB_ORDER_N, 0, 1);
    plumb_fit_t n2 = curve(PLUMB_ORDER_N2, 0, 1);
    assert_int_equal(plumb_complexity_crossover(&n1, &n2, 1, 100, &cross),
                     0);
    assert_true(cross == 1);
    /* n = 0.01 n^2 at n = 100, the upper bound, a grid point. */
    plumb_fit_t small_square = curve(PLUMB_ORDER_N2, 0, 0.01);
    assert_int_equal(
        plumb_complexity_crossover(&n1, &small_square, 1, 100, &cross), 0);
    assert_true(cross == 100);
}

static void crossover_not_found(void **state)
{
    (void)state;
    double cross;
    plumb_fit_t linear = curve(PLUMB_ORDER_N, 100, 2);
    plumb_fit_t square = curve(PLUMB_ORDER_N2, 0, 0.001);
    plumb_fit_t parallel = curve(PLUMB_ORDER_N, 101, 2);
    /* The crossing at 2048.8 lies outside [1, 2000]. */
    assert_int_equal(
        plumb_complexity_crossover(&linear, &square, 1, 2000, &cross),
        PLUMB_ENOTFOUND);
    assert_int_equal(
        plumb_complexity_crossover(&linear, &parallel, 1, 1e9, &cross),
        PLUMB_ENOTFOUND);
    assert_int_equal(
        plumb_complexity_crossover(&linear, &square, 0, 10, &cross),
        PLUMB_EINVAL);
    assert_int_equal(
        plumb_complexity_crossover(&linear, &square, 10, 5, &cross),
        PLUMB_EINVAL);
}

static void crossover_of_fitted_curves(void **state)
{
    (void)state;
    /* A quadratic algorithm with a small constant against an n log n one
     * with a large start-up: the true curves 0.05 + 1e-9 n^2 and
     * 0.2 + 1e-6 n ln n cross at n = 18093.6 (scipy.optimize.brentq on
     * their difference over [1e3, 1e5]). Fitted from noisy scans, the crossover must land
     * within 5% of it. */
    static const double sizes[] = {1e3, 3e3, 1e4, 3e4, 1e5};
    double n[25], t_quad[25], t_nlogn[25], cross;
    plumb_fit_t quad, nlogn;
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 77);
    for (int s = 0, i = 0; s < 5; s++)
        for (int rep = 0; rep < 5; rep++, i++) {
            double m = sizes[s];
            n[i] = m;
            t_quad[i] = (0.05 + 1e-9 * m * m) *
                        exp(0.03 * plumb_rng_normal(&rng));
            t_nlogn[i] = (0.2 + 1e-6 * m * log(m)) *
                         exp(0.03 * plumb_rng_normal(&rng));
        }
    assert_int_equal(plumb_complexity_fit(n, t_quad, 25, &quad), 0);
    assert_int_equal(plumb_complexity_fit(n, t_nlogn, 25, &nlogn), 0);
    assert_int_equal(quad.order, PLUMB_ORDER_N2);
    assert_int_equal(nlogn.order, PLUMB_ORDER_NLOGN);
    assert_int_equal(
        plumb_complexity_crossover(&quad, &nlogn, 1e3, 1e5, &cross), 0);
    assert_near_rel(cross, 18093.6, 0.05);
}

int test_complexity_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_names),
        cmocka_unit_test(fit_matches_numpy_weighted_least_squares),
        cmocka_unit_test(a_runner_up_within_2_is_named),
        cmocka_unit_test(exact_curves_are_recovered),
        cmocka_unit_test(constant_data_is_constant),
        cmocka_unit_test(shrinking_growth_is_rejected),
        cmocka_unit_test(fit_errors),
        cmocka_unit_test(noisy_scans_are_recovered),
        cmocka_unit_test(flat_noisy_data_is_constant),
        cmocka_unit_test(eval_follows_the_law),
        cmocka_unit_test(crossover_matches_analytic),
        cmocka_unit_test(crossover_where_curves_touch),
        cmocka_unit_test(crossover_not_found),
        cmocka_unit_test(crossover_of_fitted_curves),
    };
    return cmocka_run_group_tests_name("complexity", tests, NULL, NULL);
}
