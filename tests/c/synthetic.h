/* synthetic.h: measurements as a busy machine produces them, for the
 * statistical tests. Seeded, so every test that uses them is deterministic.
 */
#ifndef PLUMB_TESTS_SYNTHETIC_H
#define PLUMB_TESTS_SYNTHETIC_H

#include <math.h>

#include "tests.h"

/* One timing whose population median is close to `median`: a log-normal
 * body with a coefficient of variation of about `cv`, and one value in 20
 * slowed by a factor uniform in [1.2, 2.0] (a context switch, a cache
 * flush), which skews the distribution to the right. */
static inline double synthetic_time(plumb_rng_t *rng, double median,
                                    double cv)
{
    double t = median * exp(cv * plumb_rng_normal(rng));
    if (plumb_rng_uniform(rng) < 0.05)
        t *= 1.2 + 0.8 * plumb_rng_uniform(rng);
    return t;
}

/* Fills x[0..n) with synthetic_time(rng, median, cv). */
static inline void synthetic_times(plumb_rng_t *rng, double median, double cv,
                                   double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = synthetic_time(rng, median, cv);
}

#endif
