/* compare.c: the verdict on a candidate against a baseline, for one metric.
 * It combines the evidence stats.c computes (Mann-Whitney p-value,
 * bootstrap interval of the ratio of medians) with the thresholds a user
 * chooses. It does not measure, schedule runs or word the result for a
 * reader: bench and report do.
 */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 0x706c756d62 is "plumb" in ASCII: a fixed seed makes every comparison
 * reproducible from its data. */
#define COMPARE_DEFAULT_SEED UINT64_C(0x706c756d62)

/* Fills *opts with the defaults: alpha 0.05, min_effect 1%, 95% intervals,
 * 5000 bootstrap resamples and the fixed seed. */
void plumb_compare_opts_init(plumb_compare_opts_t *opts)
{
    opts->alpha = 0.05;
    opts->min_effect = 0.01;
    opts->level = 0.95;
    opts->resamples = 5000;
    opts->seed = COMPARE_DEFAULT_SEED;
}

static int compare_doubles(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The median of x[0..n) into *median; PLUMB_ENOMEM. */
static int median_of(const double *x, size_t n, double *median)
{
    double *sorted;

    if (n > SIZE_MAX / sizeof *sorted)
        return PLUMB_ENOMEM;
    sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return PLUMB_ENOMEM;
    memcpy(sorted, x, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_doubles);
    *median = plumb_stats_quantile(sorted, n, 0.5);
    free(sorted);
    return 0;
}

/* Compares candidate[0..nc) against baseline[0..nb) into *out with opts
 * (NULL: the defaults). out->metric is left as the caller set it: only the
 * caller knows which metric the values are. A verdict other than SAME needs
 * all three of: p < alpha, a ratio interval excluding 1 on the same side,
 * and a ratio beyond 1 + min_effect (or below 1 / (1 + min_effect)).
 *
 * When a median is 0 the ratio and its interval are NaN, and the verdict
 * rests on the p-value and the sign of the difference of the medians. When
 * only some bootstrap resample of the candidate has a median of 0 (values
 * mostly 0, as page-fault counts often are), the interval is NaN and the
 * verdict rests on the p-value and the ratio.
 *
 * PLUMB_ETOOFEW when either side has fewer than 2 values; PLUMB_EINVAL for
 * NULL, non-finite values or options out of range (alpha and level in
 * (0, 1), min_effect >= 0, resamples > 0); PLUMB_ENOMEM. */
int plumb_compare(const double *baseline, size_t nb, const double *candidate,
                  size_t nc, const plumb_compare_opts_t *opts,
                  plumb_comparison_t *out)
{
    plumb_compare_opts_t defaults;
    double upper_bound, lower_bound;
    int err;

    if (nb < 2 || nc < 2)
        return PLUMB_ETOOFEW;
    if (!baseline || !candidate || !out)
        return PLUMB_EINVAL;
    if (!opts) {
        plumb_compare_opts_init(&defaults);
        opts = &defaults;
    }
    if (!(opts->alpha > 0 && opts->alpha < 1) ||
        !(opts->level > 0 && opts->level < 1) || !(opts->min_effect >= 0) ||
        opts->resamples == 0)
        return PLUMB_EINVAL;

    err = plumb_stats_mann_whitney(baseline, nb, candidate, nc, &out->u,
                                   &out->p_value, &out->exact);
    if (err < 0)
        return err;
    if ((err = median_of(baseline, nb, &out->baseline_median)) < 0 ||
        (err = median_of(candidate, nc, &out->candidate_median)) < 0)
        return err;

    out->verdict = PLUMB_VERDICT_SAME;
    if (out->baseline_median == 0 || out->candidate_median == 0) {
        out->ratio = out->ci_low = out->ci_high = NAN;
        if (out->p_value < opts->alpha &&
            out->candidate_median != out->baseline_median)
            out->verdict = out->candidate_median < out->baseline_median
                               ? PLUMB_VERDICT_LOWER
                               : PLUMB_VERDICT_HIGHER;
        return 0;
    }

    out->ratio = out->baseline_median / out->candidate_median;
    err = plumb_stats_bootstrap_ratio(baseline, nb, candidate, nc,
                                      opts->resamples, opts->level,
                                      opts->seed, &out->ci_low,
                                      &out->ci_high);
    if (err == PLUMB_EINVAL) {
        /* The inputs were checked above, so this is a resampled candidate
         * median of 0: the ratio's interval does not exist. */
        out->ci_low = out->ci_high = NAN;
    } else if (err < 0) {
        return err;
    }

    /* A NaN bound compares false, so it never blocks a verdict: it only
     * means the interval could not be had. */
    upper_bound = 1 + opts->min_effect;
    lower_bound = 1 / (1 + opts->min_effect);
    if (out->p_value < opts->alpha && !(out->ci_low <= 1) &&
        out->ratio > upper_bound)
        out->verdict = PLUMB_VERDICT_LOWER;
    else if (out->p_value < opts->alpha && !(out->ci_high >= 1) &&
             out->ratio < lower_bound)
        out->verdict = PLUMB_VERDICT_HIGHER;
    return 0;
}

/* A static description of v, for reports: "no significant difference",
 * "lower" or "higher"; "?" for a value outside the enum. */
const char *plumb_verdict_name(plumb_verdict_t v)
{
    switch (v) {
    case PLUMB_VERDICT_SAME:
        return "no significant difference";
    case PLUMB_VERDICT_LOWER:
        return "lower";
    case PLUMB_VERDICT_HIGHER:
        return "higher";
    }
    return "?";
}
