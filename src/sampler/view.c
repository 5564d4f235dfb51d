/* view.c: the blocks of a target read during one sample (view.h). A
 * block is a power-of-two part of a page (never straddling one, so it is
 * mapped or not as a whole); below, "page" means a block. Blocks are
 * kept in a small array searched from the most recent one: a sample holds
 * a few pages, and consecutive reads mostly hit the page just read (frames,
 * then the next frame on the same page). */
#include "plumb.h"
#include "sampler/view.h"

#include <stdlib.h>
#include <string.h>

/* Pages fetched by one prefetch at most: more would evict one another. */
#define PREFETCH_MAX 64

struct plumb__view {
    plumb__target_t *target;
    size_t page;           /* block size */
    size_t os_page;        /* the target's page size */
    size_t cap;            /* pages held at most */
    size_t used;           /* pages held now */
    size_t next_evict;     /* slot to reuse when full */
    size_t last;           /* slot of the last hit */
    uint64_t *at;          /* page address of each slot */
    unsigned char *read_now; /* per slot: this sample read from it */
    uint64_t *read_order;  /* the pages it read, first read first (cap) */
    size_t n_read;
    unsigned char *data;   /* cap pages */
    uint64_t reads;
};

int plumb__view_new(plumb__target_t *t, size_t pages, size_t block,
                    plumb__view_t **out)
{
    size_t os_page = t ? plumb__target_page_size(t) : 0;
    if (!t || !out || pages == 0 || block == 0 || (block & (block - 1)) ||
        block > os_page || os_page % block)
        return PLUMB_EINVAL;
    plumb__view_t *v = calloc(1, sizeof *v);
    if (!v)
        return PLUMB_ENOMEM;
    v->target = t;
    v->page = block;
    v->os_page = os_page;
    v->cap = pages;
    v->at = calloc(pages, sizeof *v->at);
    v->read_now = calloc(pages, 1);
    v->read_order = calloc(pages, sizeof *v->read_order);
    v->data = malloc(pages * v->page);
    if (!v->at || !v->read_now || !v->read_order || !v->data) {
        plumb__view_free(v);
        return PLUMB_ENOMEM;
    }
    *out = v;
    return 0;
}

void plumb__view_free(plumb__view_t *v)
{
    if (!v)
        return;
    free(v->at);
    free(v->read_now);
    free(v->read_order);
    free(v->data);
    free(v);
}

void plumb__view_reset(plumb__view_t *v)
{
    v->used = 0;
    v->next_evict = 0;
    v->last = 0;
    v->n_read = 0;
}

uint64_t plumb__view_reads(const plumb__view_t *v)
{
    return v->reads;
}

/* The slot holding the page at `page`, or -1. */
static long find(plumb__view_t *v, uint64_t page)
{
    if (v->last < v->used && v->at[v->last] == page)
        return (long)v->last;
    for (size_t i = v->used; i-- > 0;)
        if (v->at[i] == page) {
            v->last = i;
            return (long)i;
        }
    return -1;
}

/* A slot for a page about to be read: a free one, else the next in turn. */
static size_t claim(plumb__view_t *v)
{
    size_t slot;
    if (v->used < v->cap) {
        slot = v->used++;
    } else {
        slot = v->next_evict;
        v->next_evict = (v->next_evict + 1) % v->cap;
    }
    v->read_now[slot] = 0;
    return slot;
}

int plumb__view_read(plumb__view_t *v, uint64_t addr, void *buf, size_t len)
{
    unsigned char *out = buf;
    while (len > 0) {
        uint64_t page = addr - addr % v->page;
        size_t off = (size_t)(addr - page);
        size_t chunk = v->page - off < len ? v->page - off : len;
        long slot = find(v, page);
        if (slot < 0) {
            size_t fresh = claim(v);
            v->reads++;
            int err = plumb__target_read(v->target, page,
                                         v->data + fresh * v->page, v->page);
            if (err) {
                v->at[fresh] = UINT64_MAX; /* never a page address */
                return err;
            }
            v->at[fresh] = page;
            v->last = fresh;
            slot = (long)fresh;
        }
        if (!v->read_now[slot] && v->n_read < v->cap)
            v->read_order[v->n_read++] = page;
        v->read_now[slot] = 1;
        memcpy(out, v->data + (size_t)slot * v->page + off, chunk);
        out += chunk;
        addr += chunk;
        len -= chunk;
        if (addr < page) /* wrapped past the top of the address space */
            return len ? PLUMB_EIO : 0;
    }
    return 0;
}

/* Pages one fetch reads at most: half the view, so that what the sample
 * reads next still has room, and no more than the spans on the stack. */
static size_t batch_max(const plumb__view_t *v)
{
    return v->cap / 2 < PREFETCH_MAX ? v->cap / 2 : PREFETCH_MAX;
}

/* Reads the n pages at `pages` (none held yet, n <= cap / 2) in as few
 * system calls as it can: a page that cannot be read is skipped, and the
 * read goes on after it. Neighbouring pages that land in neighbouring
 * slots are asked for as one range (never across an OS page, so a range
 * is readable or not as a whole): the kernel pins and looks up each
 * range it is given, so fewer ranges cost it (and the target, whose
 * memory map it locks for each) less. */
static int fetch(plumb__view_t *v, const uint64_t *pages, size_t n)
{
    plumb__span_t spans[PREFETCH_MAX];
    size_t slots[PREFETCH_MAX], first[PREFETCH_MAX], n_spans = 0;
    for (size_t i = 0; i < n; i++) {
        slots[i] = claim(v);
        v->at[slots[i]] = UINT64_MAX;
        /* within one OS page, which is mapped or not as a whole */
        if (n_spans > 0 && pages[i] == pages[i - 1] + v->page &&
            slots[i] == slots[i - 1] + 1 && pages[i] % v->os_page != 0) {
            spans[n_spans - 1].len += v->page;
            continue;
        }
        first[n_spans] = i;
        spans[n_spans].addr = pages[i];
        spans[n_spans].buf = v->data + slots[i] * v->page;
        spans[n_spans].len = v->page;
        n_spans++;
    }
    size_t at = 0;
    while (at < n_spans) {
        size_t done = 0;
        v->reads++;
        int err = plumb__target_readv(v->target, spans + at, n_spans - at,
                                      &done);
        for (size_t s = at; s < at + done; s++)
            for (size_t i = first[s]; i < first[s] + spans[s].len / v->page;
                 i++)
                v->at[slots[i]] = pages[i];
        if (err)
            return err;
        /* past the range that failed: its pages are left to
         * plumb__view_read */
        at += done + (at + done < n_spans);
    }
    return 0;
}

int plumb__view_prefetch(plumb__view_t *v, const uint64_t *addrs, size_t n,
                         size_t len)
{
    uint64_t want[PREFETCH_MAX];
    size_t n_want = 0, most = batch_max(v);
    for (size_t i = 0; i < n && n_want < most; i++) {
        if (len == 0 || addrs[i] == 0 || addrs[i] > UINT64_MAX - len)
            continue;
        uint64_t first = addrs[i] - addrs[i] % v->page;
        uint64_t last = addrs[i] + len - 1;
        for (uint64_t p = first; p <= last && n_want < most; p += v->page) {
            int seen = find(v, p) >= 0;
            for (size_t j = 0; j < n_want && !seen; j++)
                seen = want[j] == p;
            if (!seen)
                want[n_want++] = p;
            if (p > UINT64_MAX - v->page)
                break;
        }
    }
    return fetch(v, want, n_want);
}

int plumb__view_renew(plumb__view_t *v)
{
    /* the first ones read: a walk that outgrows the view evicts its own
     * start, which the next sample reads first */
    uint64_t again[PREFETCH_MAX];
    size_t n = v->n_read < batch_max(v) ? v->n_read : batch_max(v);
    memcpy(again, v->read_order, n * sizeof *again);
    for (size_t i = 1; i < n; i++) /* by address, so neighbours merge */
        for (size_t j = i; j > 0 && again[j - 1] > again[j]; j--) {
            uint64_t swap = again[j];
            again[j] = again[j - 1];
            again[j - 1] = swap;
        }
    size_t kept = 0; /* a page evicted and read again is there twice */
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || again[kept - 1] != again[i])
            again[kept++] = again[i];
    plumb__view_reset(v);
    return fetch(v, again, kept);
}
