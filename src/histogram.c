/* histogram.c: durations kept in fixed memory for always-on timing. The
 * buckets are log-linear: values below 64 ns have one bucket each; above,
 * each power of two [2^e, 2^(e+1)) is cut into 64 equal buckets, so a
 * bucket is never wider than 1/64 of its lower bound. Index of v >= 64:
 * (e - 6) * 64 + (v >> (e - 6)), which continues the exact range without
 * a gap. What the histogram is for (timers, slow-call capture) is the
 * clients' business. */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUB_BITS 6
#define SUB_COUNT (1 << SUB_BITS)
/* Values at or above 2^MAX_EXP ns share the last bucket. */
#define MAX_EXP 45
#define BUCKETS ((MAX_EXP - SUB_BITS) * SUB_COUNT + SUB_COUNT)

struct plumb_histogram {
    uint64_t count;
    int64_t sum_ns, min_ns, max_ns;
    uint64_t buckets[BUCKETS];
};

static size_t bucket_of(uint64_t v)
{
    if (v < SUB_COUNT)
        return (size_t)v;
    if (v >> MAX_EXP)
        return BUCKETS - 1;
    int e = 63 - __builtin_clzll(v);
    int shift = e - SUB_BITS;
    return (size_t)shift * SUB_COUNT + (size_t)(v >> shift);
}

/* The first value of bucket i and its width. */
static void bucket_range(size_t i, uint64_t *low, uint64_t *width)
{
    if (i < 2 * SUB_COUNT) {
        *low = i;
        *width = 1;
        return;
    }
    unsigned shift = (unsigned)(i / SUB_COUNT) - 1;
    *low = (uint64_t)(i % SUB_COUNT + SUB_COUNT) << shift;
    *width = UINT64_C(1) << shift;
}

int plumb_histogram_new(plumb_histogram_t **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : PLUMB_ENOMEM;
}

void plumb_histogram_free(plumb_histogram_t *h)
{
    free(h);
}

void plumb_histogram_record(plumb_histogram_t *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    if (h->count == 0 || ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->count++;
    h->sum_ns += ns;
    h->buckets[bucket_of((uint64_t)ns)]++;
}

void plumb_histogram_reset(plumb_histogram_t *h)
{
    memset(h, 0, sizeof *h);
}

int plumb_histogram_merge(plumb_histogram_t *dst, const plumb_histogram_t *src)
{
    if (!dst || !src)
        return PLUMB_EINVAL;
    if (src->count == 0)
        return 0;
    if (dst->count == 0 || src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    for (size_t i = 0; i < BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    return 0;
}

void plumb_histogram_totals(const plumb_histogram_t *h,
                            plumb_histogram_totals_t *out)
{
    out->count = h->count;
    out->sum_ns = h->sum_ns;
    out->min_ns = h->min_ns;
    out->max_ns = h->max_ns;
    out->mean_ns = h->count ? (double)h->sum_ns / (double)h->count : NAN;
}

double plumb_histogram_quantile(const plumb_histogram_t *h, double q)
{
    if (!h || h->count == 0 || !(q >= 0 && q <= 1))
        return NAN;
    if (q == 0)
        return (double)h->min_ns;
    if (q == 1)
        return (double)h->max_ns;
    /* nearest rank: the smallest value with at least q of them at or
     * below it */
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen < rank)
            continue;
        uint64_t low, width;
        bucket_range(i, &low, &width);
        double mid = (double)low + (double)(width - 1) / 2;
        if (mid < (double)h->min_ns)
            mid = (double)h->min_ns;
        if (mid > (double)h->max_ns)
            mid = (double)h->max_ns;
        return mid;
    }
    return (double)h->max_ns;
}
