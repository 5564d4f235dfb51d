/* complexity.c: empirical complexity. Fits t(n) = a + b g(n) for the growth
 * laws of PLUMB_ORDER_MAP to measurements taken at several input sizes,
 * chooses the law by BIC, evaluates fitted curves and finds where two of
 * them cross. It does not run anything or choose the sizes: the callers
 * (bench, the Python extension) measure and hand over (n, t) pairs.
 *
 * Logarithms are natural, so b of O(log n) and O(n log n) is per nat.
 */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>

/* Residual variances below (1e-10)^2, relative errors of a ten-billionth,
 * are rounding, not signal; flooring them keeps ln() finite on exact data
 * and lets two exact fits tie, so the slower growth wins. */
#define RSS_FLOOR 1e-20

/* Points of the crossover grid, log-spaced between the bounds. */
#define CROSSOVER_GRID 1000

static const char *const order_names[PLUMB_ORDER_COUNT] = {
#define PLUMB_ORDER_NAME(name, label) label,
    PLUMB_ORDER_MAP(PLUMB_ORDER_NAME)
#undef PLUMB_ORDER_NAME
};

/* A static label such as "O(n log n)"; "?" outside the enum. */
const char *plumb_order_name(plumb_order_t o)
{
    return (unsigned)o < PLUMB_ORDER_COUNT ? order_names[o] : "?";
}

/* g(n) of each law; infinite when it overflows (2^n beyond n = 1023). */
static double growth(plumb_order_t order, double n)
{
    switch (order) {
    case PLUMB_ORDER_CONST:
        return 0;
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
        return exp2(n);
    case PLUMB_ORDER_COUNT:
        break;
    }
    return NAN;
}

/* a + b g(n) of the chosen law; NaN for NULL. */
double plumb_complexity_eval(const plumb_fit_t *fit, double n)
{
    if (!fit)
        return NAN;
    if (fit->order == PLUMB_ORDER_CONST)
        return fit->a;
    return fit->a + fit->b * growth(fit->order, n);
}

typedef struct {
    double n, t;
    double weight; /* 1 / median(t at this n)^2 */
} point_t;

static int compare_points(const void *pa, const void *pb)
{
    const point_t *a = pa, *b = pb;
    if (a->n != b->n)
        return (a->n > b->n) - (a->n < b->n);
    return (a->t > b->t) - (a->t < b->t);
}

/* Weighted least squares of t = a + b g(n) over p[0..count), into *a, *b
 * and the weighted residual sum of squares *rss. Returns 0, or -1 when the
 * law cannot be fitted: g overflows, does not vary, or the slope is
 * negative (a growth law that shrinks is not that law).
 *
 * g is first divided by its largest magnitude, so n^3 = 1e18 or 2^1000
 * become numbers near 1 whose squares cannot overflow, then centred on its
 * weighted mean: the slope comes from sums of centred products, which do
 * not cancel the way sum(w g^2) - (sum(w g))^2 / sum(w) does. */
static int fit_law(const point_t *p, size_t count, plumb_order_t order,
                   double *a, double *b, double *rss)
{
    double scale = 0, w_sum = 0, u_sum = 0, t_sum = 0;
    double u_mean, t_mean, suu = 0, sut = 0, slope;

    for (size_t i = 0; i < count; i++) {
        w_sum += p[i].weight;
        t_sum += p[i].weight * p[i].t;
    }
    t_mean = t_sum / w_sum;
    if (order == PLUMB_ORDER_CONST) {
        *a = t_mean;
        *b = 0;
        *rss = 0;
        for (size_t i = 0; i < count; i++)
            *rss += p[i].weight * (p[i].t - t_mean) * (p[i].t - t_mean);
        return 0;
    }

    for (size_t i = 0; i < count; i++) {
        double g = growth(order, p[i].n);
        if (!isfinite(g))
            return -1;
        if (fabs(g) > scale)
            scale = fabs(g);
    }
    if (scale == 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        u_sum += p[i].weight * (growth(order, p[i].n) / scale);
    u_mean = u_sum / w_sum;
    for (size_t i = 0; i < count; i++) {
        double du = growth(order, p[i].n) / scale - u_mean;
        suu += p[i].weight * du * du;
        sut += p[i].weight * du * (p[i].t - t_mean);
    }
    if (!(suu > 0))
        return -1;
    slope = sut / suu;
    if (slope < 0)
        return -1;

    *a = t_mean - slope * u_mean;
    *b = slope / scale;
    *rss = 0;
    for (size_t i = 0; i < count; i++) {
        double du = growth(order, p[i].n) / scale - u_mean;
        double r = p[i].t - t_mean - slope * du;
        *rss += p[i].weight * r * r;
    }
    return 0;
}

/* Type-7 median of the t of p[0..len), which are ascending in t. */
static double run_median(const point_t *p, size_t len)
{
    size_t k = len / 2;
    if (len % 2 == 1)
        return p[k].t;
    return p[k - 1].t + 0.5 * (p[k].t - p[k - 1].t);
}

/* Fits every law to (n[i], t[i]), i < count, several measurements per n,
 * and keeps the one of lowest BIC in *out. Each measurement is weighted by
 * 1 / m(n)^2, m(n) the median at its n: timing noise grows with the time,
 * so relative errors are what is comparable across sizes. BIC = N ln(RSS/N)
 * + k ln N, with k = 1 parameter for O(1) and 2 otherwise; a law with a
 * negative slope or an overflowing g gets a NaN BIC. Ties go to the slower
 * growth. out->close_order is the runner-up when it comes within
 * PLUMB_BIC_CLOSE: three noisy sizes over two decades can leave n and
 * n log n that close, and a reader must not take the winner for proven.
 * out->fit_error is the RMS over distinct n of the relative error of the
 * fitted curve at the median.
 *
 * PLUMB_ETOOFEW with fewer than 3 distinct n; PLUMB_EINVAL for NULL, an n
 * that is not finite and positive, a t that is not finite and >= 0, or a
 * median of 0 at some n; PLUMB_ENOMEM. */
int plumb_complexity_fit(const double *n, const double *t, size_t count,
                         plumb_fit_t *out)
{
    point_t *p = NULL;
    double *group_n = NULL, *group_median = NULL;
    size_t groups = 0;
    double best_bic = INFINITY, log_count, error_sum = 0;
    int err = 0;

    if (!n || !t || !out)
        return PLUMB_EINVAL;
    if (count < 3)
        return PLUMB_ETOOFEW;
    for (size_t i = 0; i < count; i++)
        if (!(isfinite(n[i]) && n[i] > 0 && isfinite(t[i]) && t[i] >= 0))
            return PLUMB_EINVAL;
    if (count > SIZE_MAX / sizeof *p)
        return PLUMB_ENOMEM;
    p = malloc(count * sizeof *p);
    group_n = malloc(count * sizeof *group_n);
    group_median = malloc(count * sizeof *group_median);
    if (!p || !group_n || !group_median) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        p[i].n = n[i];
        p[i].t = t[i];
    }
    qsort(p, count, sizeof *p, compare_points);

    /* Runs of equal n are the groups; each point takes its group's weight. */
    for (size_t start = 0, end; start < count; start = end) {
        double m;
        for (end = start + 1; end < count && p[end].n == p[start].n; end++)
            ;
        m = run_median(p + start, end - start);
        if (!(m > 0)) {
            err = PLUMB_EINVAL;
            goto out;
        }
        for (size_t i = start; i < end; i++)
            p[i].weight = 1 / (m * m);
        group_n[groups] = p[start].n;
        group_median[groups] = m;
        groups++;
    }
    if (groups < 3) {
        err = PLUMB_ETOOFEW;
        goto out;
    }

    log_count = log((double)count);
    out->order = PLUMB_ORDER_CONST;
    out->a = out->b = 0;
    for (int o = 0; o < PLUMB_ORDER_COUNT; o++) {
        double a, b, rss, variance;
        int params = o == PLUMB_ORDER_CONST ? 1 : 2;

        out->bic[o] = NAN;
        if (fit_law(p, count, (plumb_order_t)o, &a, &b, &rss) < 0)
            continue;
        variance = rss / (double)count;
        if (variance < RSS_FLOOR)
            variance = RSS_FLOOR;
        out->bic[o] = (double)count * log(variance) + params * log_count;
        if (out->bic[o] < best_bic) {
            best_bic = out->bic[o];
            out->order = (plumb_order_t)o;
            out->a = a;
            out->b = b;
        }
    }

    out->close_order = PLUMB_ORDER_COUNT;
    for (int o = 0; o < PLUMB_ORDER_COUNT; o++) {
        if (o == (int)out->order || !(out->bic[o] - best_bic < PLUMB_BIC_CLOSE))
            continue;
        if (out->close_order == PLUMB_ORDER_COUNT ||
            out->bic[o] < out->bic[out->close_order])
            out->close_order = (plumb_order_t)o;
    }

    for (size_t g = 0; g < groups; g++) {
        double e = (plumb_complexity_eval(out, group_n[g]) - group_median[g]) /
                   group_median[g];
        error_sum += e * e;
    }
    out->fit_error = sqrt(error_sum / (double)groups);
out:
    free(group_median);
    free(group_n);
    free(p);
    return err;
}

/* eval(x) - eval(y); NaN where both overflow. */
static double curve_gap(const plumb_fit_t *x, const plumb_fit_t *y, double n)
{
    return plumb_complexity_eval(x, n) - plumb_complexity_eval(y, n);
}

/* The first n in [n_lo, n_hi] where the fitted curves x and y cross, into
 * *n_cross. The gap between them is sampled on a log-spaced grid (sizes
 * span decades) and the first sign change is bisected, geometrically, to
 * the last representable bit. A grid point where the curves are equal is
 * returned as it is. PLUMB_ENOTFOUND when the gap keeps its sign (two
 * crossings closer than a grid step are missed); PLUMB_EINVAL for NULL or
 * bounds that are not 0 < n_lo <= n_hi < inf. */
int plumb_complexity_crossover(const plumb_fit_t *x, const plumb_fit_t *y,
                               double n_lo, double n_hi, double *n_cross)
{
    double log_lo, log_hi, prev_n, prev_gap;

    if (!x || !y || !n_cross || !(n_lo > 0) || !(n_hi >= n_lo) ||
        !isfinite(n_hi))
        return PLUMB_EINVAL;
    log_lo = log(n_lo);
    log_hi = log(n_hi);
    prev_n = n_lo;
    prev_gap = curve_gap(x, y, n_lo);
    if (prev_gap == 0) {
        *n_cross = n_lo;
        return 0;
    }
    for (int i = 1; i <= CROSSOVER_GRID && n_hi > n_lo; i++) {
        double cur_n = i == CROSSOVER_GRID
                           ? n_hi
                           : exp(log_lo + (log_hi - log_lo) * i / CROSSOVER_GRID);
        double gap = curve_gap(x, y, cur_n);

        if (gap == 0) {
            *n_cross = cur_n;
            return 0;
        }
        /* NaN (both curves overflowed) carries no sign: it compares false
         * and is skipped, as is the step after it. */
        if ((prev_gap < 0 && gap > 0) || (prev_gap > 0 && gap < 0)) {
            double lo = prev_n, hi = cur_n, lo_gap = prev_gap;
            for (int step = 0; step < 200; step++) {
                double mid = sqrt(lo) * sqrt(hi), mid_gap;
                if (!(mid > lo && mid < hi))
                    break;
                mid_gap = curve_gap(x, y, mid);
                if (mid_gap == 0) {
                    lo = hi = mid;
                    break;
                }
                if ((mid_gap < 0) == (lo_gap < 0)) {
                    lo = mid;
                    lo_gap = mid_gap;
                } else {
                    hi = mid;
                }
            }
            *n_cross = lo + 0.5 * (hi - lo);
            return 0;
        }
        prev_n = cur_n;
        prev_gap = gap;
    }
    return PLUMB_ENOTFOUND;
}
