/* test_heap.c: the sampled heap against the exact one, computed here
 * alongside (every allocation and free tracked by the test): totals are
 * exact, estimates unbiased within their sampling error, the peak is
 * attributed to what was alive at it, and the live table survives churn
 * and misuse. */
#include <math.h>
#include <stdlib.h>

#include "tests.h"

#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)

static plumb_heap_t *new_heap(uint64_t mean_bytes, uint64_t seed)
{
    plumb_heap_t *h = NULL;
    assert_int_equal(plumb_heap_new(mean_bytes, seed, &h), 0);
    assert_non_null(h);
    return h;
}

/* Allocates size bytes at a fresh fake address for site; returns the
 * address (the heap never dereferences it). */
static uintptr_t next_addr = 0x10000;

static uintptr_t alloc(plumb_heap_t *h, size_t size, uint32_t site)
{
    uintptr_t ptr = next_addr;
    next_addr += 16 + (size & ~(size_t)15);
    uint64_t weight = plumb_heap_sample(h, size);
    if (weight)
        assert_int_equal(plumb_heap_alloc(h, ptr, weight, site), 0);
    return ptr;
}

static void rejects_bad_arguments(void **state)
{
    (void)state;
    plumb_heap_t *h = NULL;
    assert_int_equal(plumb_heap_new(0, 1, &h), PLUMB_EINVAL);
    assert_int_equal(plumb_heap_new(64, 1, NULL), PLUMB_EINVAL);
    h = new_heap(64 * KIB, 1);
    assert_int_equal(plumb_heap_alloc(h, 0, 10, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_heap_alloc(h, 1, 10, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_heap_alloc(h, 0x1000, 0, 0), PLUMB_EINVAL);
    assert_int_equal(plumb_heap_alloc(h, 0x1000, 10, UINT32_MAX),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_heap_alloc(NULL, 0x1000, 10, 0), PLUMB_EINVAL);
    assert_null(plumb_heap_site(h, 0));
    assert_int_equal(plumb_heap_release(h, 0x1000), 0);
    plumb_heap_free(h);
    plumb_heap_free(NULL);
}

/* Every allocation is counted exactly, sampled or not; an allocation far
 * above the mean gap is always sampled and stands for its own size. */
static void totals_are_exact(void **state)
{
    (void)state;
    plumb_heap_t *h = new_heap(64 * KIB, 7);
    uint64_t sum = 0;
    for (size_t i = 1; i <= 1000; i++) {
        alloc(h, i, 0);
        sum += i;
    }
    plumb_heap_totals_t t;
    plumb_heap_totals(h, &t);
    assert_true(t.allocated_bytes == sum);
    assert_true(t.allocations == 1000);
    assert_true(t.mean_bytes == 64 * KIB);
    uint64_t before = t.samples;
    uint64_t w = plumb_heap_sample(h, 64 * MIB);
    /* p = 1 - exp(-1024): the weight is the size */
    assert_true(w == 64 * MIB);
    assert_int_equal(plumb_heap_alloc(h, 0x7000000, w, 3), 0);
    plumb_heap_totals(h, &t);
    assert_true(t.samples == before + 1);
    assert_true(t.sites == 4);
    assert_true(plumb_heap_site(h, 3)->live_bytes == 64 * MIB);
    assert_true(plumb_heap_site(h, 2)->allocations == 0);
    plumb_heap_free(h);
}

/* 200 000 allocations of 16 B to 64 KiB (log-uniform), 60% of them freed
 * again at random: the estimates of what was allocated and of what is
 * alive are within 3% of the exact figures (their sampling error is near
 * 1% at this mean). */
static void estimates_are_unbiased(void **state)
{
    (void)state;
    enum { N = 200000 };
    plumb_heap_t *h = new_heap(64 * KIB, 11);
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 99);
    uintptr_t *ptr = malloc(N * sizeof *ptr);
    size_t *size = malloc(N * sizeof *size);
    assert_non_null(ptr);
    assert_non_null(size);
    uint64_t live_exact = 0, allocated_exact = 0;
    for (size_t i = 0; i < N; i++) {
        size[i] = (size_t)exp(log(16) + plumb_rng_uniform(&rng) *
                                            (log(64.0 * 1024) - log(16)));
        ptr[i] = alloc(h, size[i], (uint32_t)(i % 5));
        allocated_exact += size[i];
        live_exact += size[i];
    }
    for (size_t i = 0; i < N; i++)
        if (plumb_rng_uniform(&rng) < 0.6) {
            plumb_heap_release(h, ptr[i]);
            live_exact -= size[i];
        }
    plumb_heap_totals_t t;
    plumb_heap_totals(h, &t);
    assert_true(t.allocated_bytes == allocated_exact);
    uint64_t allocated_est = 0, live_sites = 0;
    for (uint32_t s = 0; s < 5; s++) {
        allocated_est += plumb_heap_site(h, s)->allocated_bytes;
        live_sites += plumb_heap_site(h, s)->live_bytes;
    }
    assert_true(live_sites == t.live_bytes);
    assert_true(fabs((double)allocated_est / (double)allocated_exact - 1) <
                0.03);
    assert_true(fabs((double)t.live_bytes / (double)live_exact - 1) < 0.03);
    /* the peak was the moment before the frees: everything allocated */
    assert_true(fabs((double)t.peak_bytes / (double)allocated_exact - 1) <
                0.03);
    free(ptr);
    free(size);
    plumb_heap_free(h);
}

/* Four samplers taking turns (as four threads would) and the heap's totals
 * fed by plumb_heap_count: the estimates stay unbiased and the totals
 * exact; a mean of 1 byte samples every allocation of 16 bytes or more at
 * its own size. */
static void samplers_of_their_own_sample_like_one(void **state)
{
    (void)state;
    enum { N = 200000, THREADS = 4 };
    plumb_heap_t *h = new_heap(64 * KIB, 3);
    plumb_heap_sampler_t s[THREADS];
    for (int k = 0; k < THREADS; k++)
        assert_int_equal(plumb_heap_sampler_init(&s[k], 64 * KIB,
                                                 (uint64_t)k + 1), 0);
    assert_int_equal(plumb_heap_sampler_init(&s[0], 0, 1), PLUMB_EINVAL);
    assert_int_equal(plumb_heap_sampler_init(&s[0], 64 * KIB, 1), 0);
    plumb_rng_t rng;
    plumb_rng_seed(&rng, 5);
    uint64_t exact = 0, counted = 0;
    for (size_t i = 0; i < N; i++) {
        size_t size = 16 + (size_t)plumb_rng_below(&rng, 8 * KIB);
        uint64_t w = plumb_heap_sampler_take(&s[i % THREADS], size);
        if (w)
            assert_int_equal(plumb_heap_alloc(h, 0x1000 + 16 * i, w, 0), 0);
        exact += size;
        counted++;
    }
    plumb_heap_count(h, exact, counted);
    plumb_heap_totals_t t;
    plumb_heap_totals(h, &t);
    assert_true(t.allocated_bytes == exact && t.allocations == N);
    assert_true(fabs((double)t.live_bytes / (double)exact - 1) < 0.03);

    plumb_heap_sampler_t every;
    assert_int_equal(plumb_heap_sampler_init(&every, 1, 9), 0);
    for (size_t size = 16; size < 4096; size += 7)
        assert_true(plumb_heap_sampler_take(&every, size) == size);
    assert_true(plumb_heap_sampler_take(&every, 0) == 0);
    plumb_heap_free(h);
}

/* Site 0 holds 100 MiB, lets it go; site 1 then holds 50 MiB: the peak is
 * site 0's, the end is site 1's. */
static void peak_belongs_to_what_was_alive_then(void **state)
{
    (void)state;
    plumb_heap_t *h = new_heap(64 * KIB, 3);
    uintptr_t held[100];
    for (size_t i = 0; i < 100; i++)
        held[i] = alloc(h, MIB, 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(plumb_heap_release(h, held[i]), 1);
    for (size_t i = 0; i < 50; i++)
        alloc(h, MIB, 1);
    plumb_heap_totals_t t;
    plumb_heap_totals(h, &t);
    assert_true(t.peak_bytes >= 100 * MIB && t.peak_bytes < 101 * MIB);
    const plumb_heap_site_t *a = plumb_heap_site(h, 0), *b =
                                                          plumb_heap_site(h, 1);
    assert_true(a->peak_bytes >= 99 * MIB);
    assert_true(b->peak_bytes == 0);
    assert_true(a->live_bytes == 0);
    assert_true(b->live_bytes >= 50 * MIB && b->live_bytes < 51 * MIB);
    assert_true(t.live_bytes == b->live_bytes);
    plumb_heap_free(h);
}

/* After a dip, a new peak only a little above the old one is made of other
 * allocations: the sites' figures at the peak are taken again. */
static void a_new_peak_after_a_dip_is_copied_again(void **state)
{
    (void)state;
    plumb_heap_t *h = new_heap(64 * KIB, 5);
    uintptr_t held[100];
    for (size_t i = 0; i < 100; i++)
        held[i] = alloc(h, MIB, 0);
    for (size_t i = 0; i < 100; i++)
        plumb_heap_release(h, held[i]);
    for (size_t i = 0; i < 100; i++)
        alloc(h, MIB, 1);
    alloc(h, 512 * KIB, 1); /* 0.5% above the first peak */
    assert_true(plumb_heap_site(h, 0)->peak_bytes == 0);
    assert_true(plumb_heap_site(h, 1)->peak_bytes >= 100 * MIB);
    plumb_heap_free(h);
}

/* An address recorded twice counts once; a million alloc/free cycles of
 * sampled addresses leave the table empty and small (tombstones are
 * swept). */
static void live_table_survives_churn(void **state)
{
    (void)state;
    plumb_heap_t *h = new_heap(1, 1);
    assert_int_equal(plumb_heap_alloc(h, 0x5000, 100, 0), 0);
    assert_int_equal(plumb_heap_alloc(h, 0x5000, 100, 0), 0);
    plumb_heap_totals_t t;
    plumb_heap_totals(h, &t);
    assert_true(t.live_bytes == 100 && t.live_samples == 1);
    assert_int_equal(plumb_heap_release(h, 0x5000), 1);
    assert_int_equal(plumb_heap_release(h, 0x5000), 0);
    for (uintptr_t i = 0; i < 1000000; i++) {
        uintptr_t p = 0x100000 + 16 * (i % 3000);
        assert_int_equal(plumb_heap_alloc(h, p, 16, (uint32_t)(i % 7)), 0);
        if (i % 3 != 0)
            assert_int_equal(plumb_heap_release(h, p), 1);
    }
    plumb_heap_totals(h, &t);
    /* every third kept, but addresses repeat every 3000: at most 3000
     * alive, each counted once */
    assert_true(t.live_samples <= 3000);
    uint64_t live_sites = 0;
    for (uint32_t s = 0; s < 7; s++)
        live_sites += plumb_heap_site(h, s)->live_bytes;
    assert_true(live_sites == t.live_bytes);
    assert_true(t.live_bytes == 16 * t.live_samples);
    plumb_heap_free(h);
}

int test_heap_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_arguments),
        cmocka_unit_test(totals_are_exact),
        cmocka_unit_test(estimates_are_unbiased),
        cmocka_unit_test(samplers_of_their_own_sample_like_one),
        cmocka_unit_test(peak_belongs_to_what_was_alive_then),
        cmocka_unit_test(a_new_peak_after_a_dip_is_copied_again),
        cmocka_unit_test(live_table_survives_churn),
    };
    return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
