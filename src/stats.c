/* stats.c: the statistics of one or two samples of measurements:
 * descriptive summaries, quantiles, an order-statistic confidence interval
 * of the median, the Mann-Whitney rank test and a bootstrap interval of a
 * ratio of medians. It knows nothing of metrics, runs or verdicts: deciding
 * what a difference means is compare.c's job, fitting growth curves is
 * complexity.c's.
 *
 * Every function leaves its inputs untouched and works on its own copies;
 * values must be finite (PLUMB_EINVAL otherwise).
 */
#include "plumb.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest sizes the exact Mann-Whitney distribution is computed for; above,
 * the normal approximation is already within a fraction of a percent. */
#define MWU_EXACT_MAX 50

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* A malloc'ed ascending copy of x[0..n), or NULL when out of memory. */
static double *sorted_copy(const double *x, size_t n)
{
    double *copy;

    if (n > SIZE_MAX / sizeof *copy)
        return NULL;
    copy = malloc(n * sizeof *copy);
    if (!copy)
        return NULL;
    memcpy(copy, x, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, compare_doubles);
    return copy;
}

/* Returns the quantile q of sorted[0..n) by Hyndman and Fan's type 7 (the
 * default of R and numpy): linear interpolation between the order
 * statistics around (n-1) q. q outside [0, 1] is clamped; NaN when n is 0,
 * sorted is NULL or q is NaN. */
double plumb_stats_quantile(const double *sorted, size_t n, double q)
{
    double h, frac;
    size_t lo;

    if (!sorted || n == 0 || isnan(q))
        return NAN;
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    h = (double)(n - 1) * q;
    lo = (size_t)h;
    frac = h - (double)lo;
    if (lo + 1 >= n || frac == 0)
        return sorted[lo];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* The interval [X(j), X(n+1-j)] between symmetric order statistics holds
 * the median with probability 1 - 2 P(B <= j-1), B ~ binomial(n, 1/2),
 * whatever the distribution. The largest j (narrowest interval) whose
 * coverage still reaches `level` is wanted.
 *
 * The binomial terms are computed relative to the central one, r(k) =
 * C(n,k) / C(n, n/2), walking down from the mode by the ratio
 * C(n,k-1)/C(n,k) = k/(n-k+1): no factorial, no lgamma, and 0.5^n never
 * underflows. The walk stops once a term falls below 1e-280 of the mode:
 * what lies beyond is below double precision of the total, and stopping
 * there keeps the walk back up from a representable value. For large n this
 * touches O(sqrt n) terms only. */
int plumb_stats_median_ci(const double *sorted, size_t n, double level,
                          double *lo, double *hi, double *coverage)
{
    size_t k, k_low, best_j = 0;
    double r, low_sum = 0, total, cdf = 0, best_coverage = 0;

    if (n == 0)
        return PLUMB_ETOOFEW;
    if (!sorted || !lo || !hi || !coverage || !(level > 0 && level < 1))
        return PLUMB_EINVAL;

    /* Down from the mode m = floor(n/2): low_sum = sum of r(k_low..m). */
    k = n / 2;
    r = 1;
    for (;;) {
        low_sum += r;
        if (k == 0 || r < 1e-280)
            break;
        r *= (double)k / (double)(n - k + 1);
        k--;
    }
    k_low = k;
    /* By symmetry the terms above the mode mirror those below; for even n
     * the mode itself is counted once. */
    total = n % 2 == 0 ? 2 * low_sum - 1 : 2 * low_sum;

    /* Up again: cdf = P(B <= k); ranks j = k+1 keep the interval while
     * 1 - 2 cdf >= level. Ranks j <= k_low (large n only) have coverages
     * indistinguishable from 1 and give way to the first j tried here. */
    for (k = k_low; k + 1 <= (n + 1) / 2; k++) {
        double cov;
        cdf += r / total;
        cov = 1 - 2 * cdf;
        if (cov < level)
            break;
        best_j = k + 1;
        best_coverage = cov;
        r *= (double)(n - k) / (double)(k + 1);
    }

    if (best_j == 0) {
        /* Too few values for `level`: the widest interval there is, with
         * its exact coverage 1 - 2 (1/2)^n. This happens only for small n:
         * from n = 55 on, 1 - 2^(1-n) rounds to 1, above any level < 1. */
        *lo = sorted[0];
        *hi = sorted[n - 1];
        *coverage = n > 64 ? 1.0 : 1 - ldexp(1.0, 1 - (int)n);
        return 0;
    }
    *lo = sorted[best_j - 1];
    *hi = sorted[n - best_j];
    *coverage = best_coverage;
    return 0;
}

/* Summarises x[0..n) into *out: moments, quantiles, MAD, outliers and the
 * 95% order-statistic interval of the median. x is not modified.
 * PLUMB_ETOOFEW when n is 0, PLUMB_EINVAL for NULL or non-finite values,
 * PLUMB_ENOMEM when scratch memory cannot be had. */
int plumb_stats_summarize(const double *x, size_t n, plumb_summary_t *out)
{
    double *sorted = NULL, *deviation = NULL;
    double sum = 0, squares = 0;
    int err = 0;

    if (n == 0)
        return PLUMB_ETOOFEW;
    if (!x || !out || !all_finite(x, n))
        return PLUMB_EINVAL;
    sorted = sorted_copy(x, n);
    deviation = sorted_copy(x, n);
    if (!sorted || !deviation) {
        err = PLUMB_ENOMEM;
        goto out;
    }

    memset(out, 0, sizeof *out);
    out->n = n;
    out->min = sorted[0];
    out->max = sorted[n - 1];
    /* Two passes: the deviations from the mean are summed, not the raw
     * squares, which would cancel for values far from zero. */
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    out->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        squares += (x[i] - out->mean) * (x[i] - out->mean);
    out->stddev = n > 1 ? sqrt(squares / (double)(n - 1)) : 0;

    out->median = plumb_stats_quantile(sorted, n, 0.5);
    out->p5 = plumb_stats_quantile(sorted, n, 0.05);
    out->p25 = plumb_stats_quantile(sorted, n, 0.25);
    out->p75 = plumb_stats_quantile(sorted, n, 0.75);
    out->p95 = plumb_stats_quantile(sorted, n, 0.95);

    for (size_t i = 0; i < n; i++)
        deviation[i] = fabs(x[i] - out->median);
    qsort(deviation, n, sizeof *deviation, compare_doubles);
    out->mad = plumb_stats_quantile(deviation, n, 0.5);

    /* Iglewicz and Hoaglin's modified z-score. With a MAD of 0 (more than
     * half the values equal) the score is undefined and nothing is called
     * an outlier. */
    out->outliers = 0;
    if (out->mad > 0)
        for (size_t i = 0; i < n; i++)
            if (fabs(0.6745 * (x[i] - out->median) / out->mad) > 3.5)
                out->outliers++;

    err = plumb_stats_median_ci(sorted, n, 0.95, &out->median_ci_low,
                                &out->median_ci_high, &out->median_ci_level);
out:
    free(deviation);
    free(sorted);
    return err;
}

/* Two-sided p-value of U = u from the exact null distribution of U for
 * samples of m and n values without ties. f(u; m, n), the number of
 * orderings giving U = u, obeys f(u; m, n) = f(u - n; m-1, n) + f(u; m, n-1)
 * (the largest value belongs to the first sample and beats all n of the
 * second, or to the second). One row per m' is kept and rolled forward in
 * n' in place; counts reach C(100, 50) ~ 1e29, beyond exact integers in a
 * double, but only positive terms are ever added, so the relative error
 * stays at rounding level. */
static int mwu_exact_p(double u, size_t m, size_t n, double *p_value)
{
    size_t width, small = m < n ? m : n, large = m < n ? n : m;
    double *rows, below = 0, above = 0, total = 0;
    size_t u_int = (size_t)u;

    assert(u >= 0 && u == floor(u));
    width = small * large + 1;
    rows = calloc((small + 1) * width, sizeof *rows);
    if (!rows)
        return PLUMB_ENOMEM;
    /* The distribution of U is the same with the samples' roles swapped,
     * so the smaller one indexes the rows. f(0; m', 0) = 1. */
    for (size_t mm = 0; mm <= small; mm++)
        rows[mm * width] = 1;
    for (size_t nn = 1; nn <= large; nn++) {
        for (size_t mm = 1; mm <= small; mm++) {
            double *row = rows + mm * width;
            const double *fewer = rows + (mm - 1) * width;
            for (size_t uu = nn; uu <= mm * nn; uu++)
                row[uu] += fewer[uu - nn];
        }
    }
    for (size_t uu = 0; uu < width; uu++) {
        double f = rows[small * width + uu];
        total += f;
        if (uu <= u_int)
            below += f;
        if (uu >= u_int)
            above += f;
    }
    free(rows);
    *p_value = fmin(1.0, 2 * fmin(below, above) / total);
    return 0;
}

/* Two-sided Mann-Whitney U test of a against b; *u = U of a, the number of
 * pairs (a_i, b_j) with a_i > b_j plus half the ties. The p-value is exact
 * (*exact = 1) when there are no ties and both samples have at most 50
 * values; otherwise it comes from the normal approximation with the tie
 * correction of the variance and a continuity correction of 0.5 (as scipy's
 * mannwhitneyu, method "asymptotic"). PLUMB_ETOOFEW when a sample is empty,
 * PLUMB_EINVAL for NULL or non-finite values, PLUMB_ENOMEM. */
int plumb_stats_mann_whitney(const double *a, size_t na, const double *b,
                             size_t nb, double *u, double *p_value,
                             int *exact)
{
    double *sa = NULL, *sb = NULL;
    double rank_sum_a = 0, tie_sum = 0, u_a, mean, var;
    double n_all = (double)na + (double)nb;
    size_t i = 0, j = 0;
    int err = 0;

    if (na == 0 || nb == 0)
        return PLUMB_ETOOFEW;
    if (!a || !b || !u || !p_value || !exact || !all_finite(a, na) ||
        !all_finite(b, nb))
        return PLUMB_EINVAL;
    sa = sorted_copy(a, na);
    sb = sorted_copy(b, nb);
    if (!sa || !sb) {
        err = PLUMB_ENOMEM;
        goto out;
    }

    /* Merge the sorted samples; each run of equal values, t long, takes
     * the average of the ranks it spans and adds t^3 - t to the tie sum. */
    while (i < na || j < nb) {
        double v, first_rank, t;
        size_t in_a = 0, in_b = 0;
        if (j == nb || (i < na && sa[i] <= sb[j]))
            v = sa[i];
        else
            v = sb[j];
        while (i + in_a < na && sa[i + in_a] == v)
            in_a++;
        while (j + in_b < nb && sb[j + in_b] == v)
            in_b++;
        first_rank = (double)(i + j + 1);
        t = (double)(in_a + in_b);
        rank_sum_a += (double)in_a * (first_rank + (t - 1) / 2);
        tie_sum += t * t * t - t;
        i += in_a;
        j += in_b;
    }
    u_a = rank_sum_a - (double)na * (double)(na + 1) / 2;
    *u = u_a;

    if (tie_sum == 0 && na <= MWU_EXACT_MAX && nb <= MWU_EXACT_MAX) {
        *exact = 1;
        err = mwu_exact_p(u_a, na, nb, p_value);
        goto out;
    }
    *exact = 0;
    mean = (double)na * (double)nb / 2;
    var = (double)na * (double)nb / 12 *
          ((n_all + 1) - tie_sum / (n_all * (n_all - 1)));
    if (!(var > 0)) {
        /* Every value equal: no evidence of any difference. */
        *p_value = 1;
    } else {
        double z = (fabs(u_a - mean) - 0.5) / sqrt(var);
        *p_value = fmin(1.0, erfc(z / sqrt(2.0)));
    }
out:
    free(sb);
    free(sa);
    return err;
}

/* ---- bootstrap ---------------------------------------------------------
 *
 * A resample of a sample is drawn as ranks into its ascending copy: rank i
 * stands for sorted[i], and because sorted is ascending, the median of the
 * values is read off the median of the ranks. Ranks are small integers,
 * compare fast and make ties of values irrelevant to the selection.
 *
 * Most of a resample cannot hold its median: the number of draws below
 * rank n/2 - w is binomial with mean n/2 - w, so with w = 4 sqrt(n) + 2
 * the resample's median falls outside the band [n/2 - w, n/2 + w] with
 * probability below 2 exp(-2 w^2 / n) < 3e-14 (Hoeffding). Each draw is
 * counted (below the band) or kept (inside it) as it is made, and
 * quickselect runs on the few hundred kept ranks, not on thousands; on
 * the rare miss it runs on all the draws, as it always does for samples
 * under about 70 values, whose band is the whole sample. The result is
 * the same either way: only the time differs. */

typedef struct {
    double *sorted;           /* ascending copy of the sample */
    size_t n;
    size_t band_lo, band_hi;  /* ranks that almost surely hold the median */
} resample_source_t;

static void swap_ranks(size_t *x, size_t i, size_t j)
{
    size_t t = x[i];
    x[i] = x[j];
    x[j] = t;
}

/* Below this many ranks a range is finished by insertion sort. */
#define SELECT_SMALL 8

/* Moves the ranks of x[lo..hi) that are below pivot to the front and
 * returns where they end. Lomuto's scheme without a branch on the data:
 * every rank is swapped with the boundary, which advances by the
 * comparison's result. Resampled ranks are random, so a branch would be
 * mispredicted half the time. */
static size_t partition_front(size_t *x, size_t lo, size_t hi, size_t pivot)
{
    size_t boundary = lo;
    for (size_t i = lo; i < hi; i++) {
        size_t v = x[i];
        x[i] = x[boundary];
        x[boundary] = v;
        boundary += v < pivot;
    }
    return boundary;
}

/* Rearranges x[0..n) so that x[k] holds its k-th smallest entry (from 0),
 * with nothing larger before it and nothing smaller after it, and returns
 * x[k] (quickselect, pivot the median of the range's first, middle and
 * last entries). Copies of the pivot all go right, which would make
 * selection quadratic on inputs made of few distinct values; resampled
 * ranks are not such inputs, since each rank is drawn about once whatever
 * ties the values have. */
static size_t select_rank(size_t *x, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th smallest lies in x[lo..hi) */

    assert(k < n);
    while (hi - lo > SELECT_SMALL) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1, split, pivot;

        /* Order x[lo], x[mid], x[last]; their median goes to x[last]. */
        if (x[mid] < x[lo])
            swap_ranks(x, mid, lo);
        if (x[last] < x[lo])
            swap_ranks(x, last, lo);
        if (x[last] < x[mid])
            swap_ranks(x, last, mid);
        swap_ranks(x, mid, last);
        pivot = x[last];

        split = partition_front(x, lo, last, pivot);
        swap_ranks(x, split, last); /* x[lo..split) < pivot = x[split] */
        if (k == split)
            return pivot;
        if (k < split)
            hi = split;
        else
            lo = split + 1;
    }
    for (size_t i = lo + 1; i < hi; i++) {
        size_t v = x[i], j = i;
        for (; j > lo && x[j - 1] > v; j--)
            x[j] = x[j - 1];
        x[j] = v;
    }
    return x[k];
}

/* The median of src's values at the ranks x[0..n): ranks k (and k-1 when
 * n is even, whose median is their mean) counted `offset` ranks below x.
 * Type-7 arithmetic, as plumb_stats_quantile(sorted, n, 0.5). */
static double median_of_ranks(const resample_source_t *src, size_t *x,
                              size_t n, size_t offset)
{
    size_t k = src->n / 2 - offset, lower = 0;
    size_t upper = select_rank(x, n, k);
    double low_value, high_value;

    if (src->n % 2 == 1)
        return src->sorted[upper];
    /* After selection x[0..k) holds the k smallest ranks; the one just
     * below the upper middle is their maximum. */
    assert(k >= 1);
    for (size_t i = 0; i < k; i++)
        if (x[i] > lower)
            lower = x[i];
    low_value = src->sorted[lower];
    high_value = src->sorted[upper];
    return low_value + 0.5 * (high_value - low_value);
}

/* Draws one resample of src (src->n ranks from rng) and returns its median.
 * draws and band have room for src->n ranks. */
static double resampled_median(const resample_source_t *src,
                               plumb_rng_t *rng, size_t *draws, size_t *band)
{
    size_t n = src->n, below = 0, kept = 0;
    size_t band_width = src->band_hi - src->band_lo;
    size_t first_middle = n % 2 == 1 ? n / 2 : n / 2 - 1;

    for (size_t i = 0; i < n; i++) {
        size_t rank = (size_t)plumb_rng_below(rng, n);
        draws[i] = rank;
        band[kept] = rank;
        /* Branch-free: rank - band_lo wraps above band_width below it. */
        kept += rank - src->band_lo <= band_width;
        below += rank < src->band_lo;
    }
    if (below <= first_middle && n / 2 < below + kept)
        return median_of_ranks(src, band, kept, below);
    return median_of_ranks(src, draws, n, 0);
}

static void resample_source_close(resample_source_t *src)
{
    free(src->sorted);
    src->sorted = NULL;
}

/* Prepares x[0..n) for resampling; PLUMB_ENOMEM. */
static int resample_source_init(resample_source_t *src, const double *x,
                                size_t n)
{
    size_t half_width = (size_t)(4 * sqrt((double)n)) + 2;

    src->n = n;
    src->sorted = sorted_copy(x, n);
    if (!src->sorted)
        return PLUMB_ENOMEM;
    src->band_lo = n / 2 > half_width ? n / 2 - half_width : 0;
    src->band_hi = n / 2 + half_width < n ? n / 2 + half_width : n - 1;
    return 0;
}

/* Percentile bootstrap CI at `level` of median(a) / median(b). Each of the
 * `resamples` rounds draws na ranks into a's ascending copy, then nb into
 * b's, with plumb_rng_below() from one generator seeded with `seed`, so a
 * seed fixes the result; *lo and *hi are the type-7 quantiles (1-level)/2
 * and (1+level)/2 of the sorted ratios. PLUMB_ETOOFEW when a sample is
 * empty, PLUMB_EINVAL for NULL, non-finite values, no resamples, a level
 * outside (0, 1) or a resampled median of b equal to 0; PLUMB_ENOMEM. */
int plumb_stats_bootstrap_ratio(const double *a, size_t na, const double *b,
                                size_t nb, size_t resamples, double level,
                                uint64_t seed, double *lo, double *hi)
{
    resample_source_t source_a = {0}, source_b = {0};
    size_t *draws = NULL, *band = NULL;
    double *ratios = NULL;
    size_t longest = na > nb ? na : nb;
    plumb_rng_t rng;
    int err = 0;

    if (na == 0 || nb == 0)
        return PLUMB_ETOOFEW;
    if (!a || !b || !lo || !hi || resamples == 0 ||
        !(level > 0 && level < 1) || !all_finite(a, na) || !all_finite(b, nb))
        return PLUMB_EINVAL;
    if (longest > SIZE_MAX / sizeof *draws ||
        resamples > SIZE_MAX / sizeof *ratios)
        return PLUMB_ENOMEM;
    if ((err = resample_source_init(&source_a, a, na)) < 0 ||
        (err = resample_source_init(&source_b, b, nb)) < 0)
        goto out;
    draws = malloc(longest * sizeof *draws);
    band = malloc(longest * sizeof *band);
    ratios = malloc(resamples * sizeof *ratios);
    if (!draws || !band || !ratios) {
        err = PLUMB_ENOMEM;
        goto out;
    }

    plumb_rng_seed(&rng, seed);
    for (size_t r = 0; r < resamples; r++) {
        double median_a = resampled_median(&source_a, &rng, draws, band);
        double median_b = resampled_median(&source_b, &rng, draws, band);
        if (median_b == 0) {
            err = PLUMB_EINVAL;
            goto out;
        }
        ratios[r] = median_a / median_b;
    }
    qsort(ratios, resamples, sizeof *ratios, compare_doubles);
    *lo = plumb_stats_quantile(ratios, resamples, (1 - level) / 2);
    *hi = plumb_stats_quantile(ratios, resamples, (1 + level) / 2);
out:
    free(ratios);
    free(band);
    free(draws);
    resample_source_close(&source_b);
    resample_source_close(&source_a);
    return err;
}
