/* heap.c: a live heap estimated from sampled allocations. Allocations are
 * sampled by bytes: the gaps between sampled bytes are exponential with
 * mean `mean_bytes`, so an allocation of s bytes is sampled with
 * probability p = 1 - exp(-s / mean_bytes) and then stands for s / p bytes,
 * which makes every estimate unbiased whatever the sizes. The heap keeps
 * the sampled allocations that are alive (by address), and per allocation
 * site what it allocated, what it holds now and what it held at the peak.
 * Counting every allocation's bytes is exact and costs an addition; the
 * rest happens once per sample.
 *
 * It does not intercept allocations or read stacks (its clients do, and
 * name each site with a small integer), and it is used by one thread at a
 * time (the client serialises, e.g. under Python's GIL).
 */
#include "plumb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The live table is an open-addressed hash of addresses; a slot that held
 * a freed allocation is a tombstone until the table is rebuilt. */
#define SLOT_EMPTY 0
#define SLOT_TOMB 1
#define LIVE_MIN_SLOTS 1024u

/* The per-site copy of what is alive at the peak is taken again only when
 * the live estimate passes the last copy's by 1/256: the sites' figures at
 * the peak are then those of a moment within 0.4% of it. */
#define PEAK_STEP_SHIFT 8

typedef struct {
    uintptr_t ptr;
    uint64_t weight;
    uint32_t site;
} live_t;

struct plumb_heap {
    plumb_heap_sampler_t sampler; /* plumb_heap_sample's own */
    live_t *live;
    size_t live_cap, live_used, live_tombs; /* used counts tombstones out */
    plumb_heap_site_t *sites;
    size_t n_sites, cap_sites;
    uint64_t live_bytes, peak_bytes, copied_at_bytes;
    int dipped; /* live fell a step below the copy since it was taken */
    uint64_t allocated_bytes, allocations, samples;
};

static int64_t draw_gap(plumb_heap_sampler_t *s)
{
    /* U in (0, 1]: the gap is finite */
    double u = 1.0 - plumb_rng_uniform(&s->rng);
    double gap = -s->mean_bytes * log(u);
    return gap > (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)gap + 1;
}

int plumb_heap_sampler_init(plumb_heap_sampler_t *s, uint64_t mean_bytes,
                            uint64_t seed)
{
    if (!s || mean_bytes == 0)
        return PLUMB_EINVAL;
    s->mean_bytes = (double)mean_bytes;
    plumb_rng_seed(&s->rng, seed);
    s->countdown = draw_gap(s);
    return 0;
}

uint64_t plumb_heap_sampler_hit(plumb_heap_sampler_t *s, size_t size)
{
    s->countdown = draw_gap(s);
    double p = -expm1(-(double)size / s->mean_bytes);
    double weight = (double)size / p;
    return weight < (double)size ? size : (uint64_t)llround(weight);
}

int plumb_heap_new(uint64_t mean_bytes, uint64_t seed, plumb_heap_t **out)
{
    if (!out || mean_bytes == 0)
        return PLUMB_EINVAL;
    *out = NULL;
    plumb_heap_t *h = calloc(1, sizeof *h);
    if (!h)
        return PLUMB_ENOMEM;
    h->live = calloc(LIVE_MIN_SLOTS, sizeof *h->live);
    if (!h->live) {
        free(h);
        return PLUMB_ENOMEM;
    }
    h->live_cap = LIVE_MIN_SLOTS;
    plumb_heap_sampler_init(&h->sampler, mean_bytes, seed);
    *out = h;
    return 0;
}

void plumb_heap_free(plumb_heap_t *h)
{
    if (!h)
        return;
    free(h->live);
    free(h->sites);
    free(h);
}

uint64_t plumb_heap_sample(plumb_heap_t *h, size_t size)
{
    h->allocated_bytes += size;
    h->allocations++;
    return plumb_heap_sampler_take(&h->sampler, size);
}

void plumb_heap_count(plumb_heap_t *h, uint64_t bytes, uint64_t allocations)
{
    h->allocated_bytes += bytes;
    h->allocations += allocations;
}

static size_t slot_of(uintptr_t ptr, size_t cap)
{
    uint64_t x = (uint64_t)ptr;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static void place(live_t *table, size_t cap, const live_t *e)
{
    size_t i = slot_of(e->ptr, cap);
    while (table[i].ptr > SLOT_TOMB)
        i = (i + 1) & (cap - 1);
    table[i] = *e;
}

/* Rebuilds the table at a size that keeps it at most half full, dropping
 * the tombstones. */
static int rebuild(plumb_heap_t *h)
{
    size_t cap = h->live_cap;
    while (cap < 4 * (h->live_used + 1))
        cap *= 2;
    while (cap > LIVE_MIN_SLOTS && cap > 8 * (h->live_used + 1))
        cap /= 2;
    live_t *fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < h->live_cap; i++)
        if (h->live[i].ptr > SLOT_TOMB)
            place(fresh, cap, &h->live[i]);
    free(h->live);
    h->live = fresh;
    h->live_cap = cap;
    h->live_tombs = 0;
    return 0;
}

static int grow_sites(plumb_heap_t *h, uint32_t site)
{
    size_t cap = h->cap_sites ? h->cap_sites : 64;
    while (cap <= site)
        cap *= 2;
    plumb_heap_site_t *s = realloc(h->sites, cap * sizeof *s);
    if (!s)
        return PLUMB_ENOMEM;
    memset(s + h->cap_sites, 0, (cap - h->cap_sites) * sizeof *s);
    h->sites = s;
    h->cap_sites = cap;
    return 0;
}

/* A new peak: the sites' live figures are copied when the estimate has
 * passed the last copy by 1/256, or has come back to it after falling a
 * step below (what is alive may then be other allocations). */
static void note_peak(plumb_heap_t *h)
{
    h->peak_bytes = h->live_bytes;
    if (h->copied_at_bytes > 0 && !h->dipped &&
        h->live_bytes - h->copied_at_bytes <=
            h->copied_at_bytes >> PEAK_STEP_SHIFT)
        return;
    h->dipped = 0;
    for (size_t i = 0; i < h->n_sites; i++)
        h->sites[i].peak_bytes = h->sites[i].live_bytes;
    h->copied_at_bytes = h->live_bytes;
}

int plumb_heap_alloc(plumb_heap_t *h, uintptr_t ptr, uint64_t weight,
                     uint32_t site)
{
    int err;
    if (!h || ptr <= SLOT_TOMB || weight == 0 || site == UINT32_MAX)
        return PLUMB_EINVAL;
    if (site >= h->cap_sites && (err = grow_sites(h, site)) != 0)
        return err;
    if (2 * (h->live_used + h->live_tombs + 1) > h->live_cap &&
        (err = rebuild(h)) != 0)
        return err;
    /* an address handed out again without its free seen: the old entry
     * is gone (a client that misses frees must not count them twice) */
    plumb_heap_release(h, ptr);
    live_t e = {ptr, weight, site};
    place(h->live, h->live_cap, &e);
    h->live_used++;
    if (site >= h->n_sites)
        h->n_sites = (size_t)site + 1;
    plumb_heap_site_t *s = &h->sites[site];
    s->allocated_bytes += weight;
    s->allocations++;
    s->live_bytes += weight;
    h->live_bytes += weight;
    h->samples++;
    if (h->live_bytes > h->peak_bytes)
        note_peak(h);
    return 0;
}

int plumb_heap_release(plumb_heap_t *h, uintptr_t ptr)
{
    if (h->live_used == 0 || ptr <= SLOT_TOMB)
        return 0;
    size_t i = slot_of(ptr, h->live_cap);
    for (;;) {
        live_t *e = &h->live[i];
        if (e->ptr == SLOT_EMPTY)
            return 0;
        if (e->ptr == ptr) {
            h->sites[e->site].live_bytes -= e->weight;
            h->live_bytes -= e->weight;
            if (h->live_bytes + (h->copied_at_bytes >> PEAK_STEP_SHIFT) <
                h->copied_at_bytes)
                h->dipped = 1;
            e->ptr = SLOT_TOMB;
            h->live_used--;
            h->live_tombs++;
            return 1;
        }
        i = (i + 1) & (h->live_cap - 1);
    }
}

void plumb_heap_totals(const plumb_heap_t *h, plumb_heap_totals_t *out)
{
    memset(out, 0, sizeof *out);
    if (!h)
        return;
    out->mean_bytes = (uint64_t)h->sampler.mean_bytes;
    out->allocated_bytes = h->allocated_bytes;
    out->allocations = h->allocations;
    out->samples = h->samples;
    out->live_samples = h->live_used;
    out->live_bytes = h->live_bytes;
    out->peak_bytes = h->peak_bytes;
    out->sites = h->n_sites;
}

const plumb_heap_site_t *plumb_heap_site(const plumb_heap_t *h,
                                         uint32_t site)
{
    if (!h || site >= h->n_sites)
        return NULL;
    return &h->sites[site];
}
