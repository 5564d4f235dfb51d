/* test_view.c: one sample's view of a target's memory (src/sampler/view.c)
 * and the vectored read under it (plumb__target_readv). The target is the
 * test runner itself: its buffers are known, and pages can be unmapped
 * under the view to play a program that changed between two samples.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests.h"

#include "sampler/target.h"
#include "sampler/view.h"

#define BLOCK 1024

typedef struct {
    plumb__target_t *target;
    plumb__view_t *view;
    size_t page;
    unsigned char *pages; /* three pages, mapped for the test */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || plumb__target_open(getpid(), &f->target, NULL, 0) != 0 ||
        plumb__view_new(f->target, 16, BLOCK, &f->view) != 0)
        return -1;
    f->page = (size_t)sysconf(_SC_PAGESIZE);
    f->pages = mmap(NULL, 3 * f->page, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->pages == MAP_FAILED)
        return -1;
    for (size_t i = 0; i < 3 * f->page; i++)
        f->pages[i] = (unsigned char)(i * 7 + 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    munmap(f->pages, 3 * f->page); /* a hole in it is fine */
    plumb__view_free(f->view);
    plumb__target_close(f->target);
    free(f);
    return 0;
}

static uint64_t addr_of(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* A read across blocks returns the target's bytes and costs one read per
 * block; reading them again costs nothing until the view is reset. */
static void reads_each_block_once(void **state)
{
    fixture_t *f = *state;
    unsigned char got[3000];
    const unsigned char *at = f->pages + BLOCK - 100; /* 4 blocks */
    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_read(f->view, addr_of(at), got, sizeof got),
                     0);
    assert_memory_equal(got, at, sizeof got);
    assert_int_equal(plumb__view_reads(f->view) - before, 4);

    memset(got, 0, sizeof got);
    assert_int_equal(plumb__view_read(f->view, addr_of(at + 50), got, 200),
                     0);
    assert_memory_equal(got, at + 50, 200);
    assert_int_equal(plumb__view_reads(f->view) - before, 4);

    plumb__view_reset(f->view);
    assert_int_equal(plumb__view_read(f->view, addr_of(at), got, 8), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 5);
}

/* Within a sample the view is a snapshot; renew reads the previous
 * sample's blocks again in one go and sees the target as it is now. */
static void renew_reads_last_blocks_in_one_go(void **state)
{
    fixture_t *f = *state;
    unsigned char a, b, c;
    unsigned char *pa = f->pages + 10, *pb = f->pages + f->page + 10,
                  *pc = f->pages + 2 * f->page + 10;
    assert_int_equal(plumb__view_read(f->view, addr_of(pa), &a, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pb), &b, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pc), &c, 1), 0);

    *pa = 0xaa;
    *pc = 0xcc;
    assert_int_equal(plumb__view_read(f->view, addr_of(pa), &a, 1), 0);
    assert_int_not_equal(a, 0xaa); /* the snapshot, not the live byte */

    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_renew(f->view), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    assert_int_equal(plumb__view_read(f->view, addr_of(pa), &a, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pb), &b, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pc), &c, 1), 0);
    assert_int_equal(a, 0xaa);
    assert_int_equal(b, *pb);
    assert_int_equal(c, 0xcc);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
}

/* A block the last sample read that is gone now is skipped by renew; the
 * blocks after it are still read, and a read of the gone one fails. */
static void renew_skips_a_block_that_went_away(void **state)
{
    fixture_t *f = *state;
    unsigned char byte;
    unsigned char *pa = f->pages, *pb = f->pages + f->page,
                  *pc = f->pages + 2 * f->page;
    assert_int_equal(plumb__view_read(f->view, addr_of(pa), &byte, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pb), &byte, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addr_of(pc), &byte, 1), 0);
    assert_int_equal(munmap(pb, f->page), 0);
    *pc = 0x5c;

    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_renew(f->view), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 2);
    assert_int_equal(plumb__view_read(f->view, addr_of(pc), &byte, 1), 0);
    assert_int_equal(byte, 0x5c);
    assert_int_equal(plumb__view_read(f->view, addr_of(pa), &byte, 1), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 2);
    assert_int_equal(plumb__view_read(f->view, addr_of(pb), &byte, 1),
                     PLUMB_EIO);
}

/* Neighbouring blocks are read as one range, but a page that went away
 * costs only its own blocks: the blocks of the page before it are kept. */
static void renew_merges_neighbours_within_a_page(void **state)
{
    fixture_t *f = *state;
    size_t per_page = f->page / BLOCK;
    unsigned char byte;
    /* every block of page 0 and the first of page 1: one run */
    for (size_t i = 0; i <= per_page; i++)
        assert_int_equal(
            plumb__view_read(f->view, addr_of(f->pages + i * BLOCK), &byte, 1),
            0);
    assert_int_equal(munmap(f->pages + f->page, f->page), 0);
    f->pages[per_page * BLOCK - 1] = 0x77;
    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_renew(f->view), 0);
    for (size_t i = 0; i < per_page; i++)
        assert_int_equal(plumb__view_read(f->view,
                                          addr_of(f->pages + i * BLOCK + 9),
                                          &byte, 1),
                         0);
    assert_int_equal(plumb__view_read(f->view,
                                      addr_of(f->pages + f->page - 1), &byte,
                                      1),
                     0);
    assert_int_equal(byte, 0x77);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    assert_int_equal(plumb__view_read(f->view, addr_of(f->pages + f->page),
                                      &byte, 1),
                     PLUMB_EIO);
}

/* Renew reads again what the last sample read from, not what it fetched
 * and did not need: a block prefetched in vain (a stack that moved on)
 * must not be read by every sample after it. */
static void renew_forgets_blocks_not_read(void **state)
{
    fixture_t *f = *state;
    uint64_t addrs[3] = {addr_of(f->pages), addr_of(f->pages + f->page),
                         addr_of(f->pages + 2 * f->page)};
    unsigned char byte;
    assert_int_equal(plumb__view_prefetch(f->view, addrs, 3, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addrs[0], &byte, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addrs[2], &byte, 1), 0);

    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_renew(f->view), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    assert_int_equal(plumb__view_read(f->view, addrs[0], &byte, 1), 0);
    assert_int_equal(plumb__view_read(f->view, addrs[2], &byte, 1), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    assert_int_equal(plumb__view_read(f->view, addrs[1], &byte, 1), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 2);

    /* a sample that reads nothing leaves nothing to renew */
    assert_int_equal(plumb__view_renew(f->view), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 3);
    assert_int_equal(plumb__view_renew(f->view), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 3);
    assert_int_equal(plumb__view_read(f->view, addrs[0], &byte, 1), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 4);
}

/* Prefetch reads many scattered blocks in one system call, once each. */
static void prefetch_reads_scattered_blocks_once(void **state)
{
    fixture_t *f = *state;
    uint64_t addrs[6];
    for (int i = 0; i < 6; i++) /* blocks 0, 2, 4, 6, 8, 10; one twice */
        addrs[i] = addr_of(f->pages + (size_t)(i % 5) * 2 * BLOCK + 8);
    uint64_t before = plumb__view_reads(f->view);
    assert_int_equal(plumb__view_prefetch(f->view, addrs, 6, 16), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    for (int i = 0; i < 6; i++) {
        unsigned char got[16];
        assert_int_equal(plumb__view_read(f->view, addrs[i], got, sizeof got),
                         0);
        assert_memory_equal(got, (void *)(uintptr_t)addrs[i], sizeof got);
    }
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
    /* what is held is not read again */
    assert_int_equal(plumb__view_prefetch(f->view, addrs, 6, 16), 0);
    assert_int_equal(plumb__view_reads(f->view) - before, 1);
}

/* More blocks than the view holds: older ones are evicted, and every read
 * still returns the target's bytes. */
static void evicts_when_full(void **state)
{
    fixture_t *f = *state;
    size_t blocks = 3 * f->page / BLOCK; /* 12 with 4 KiB pages: 16 slots */
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < blocks; i++) {
            unsigned char got[BLOCK];
            const unsigned char *at = f->pages + i * BLOCK;
            assert_int_equal(
                plumb__view_read(f->view, addr_of(at), got, sizeof got), 0);
            assert_memory_equal(got, at, sizeof got);
        }
    plumb__view_t *small = NULL;
    assert_int_equal(plumb__view_new(f->target, 2, BLOCK, &small), 0);
    for (size_t i = 0; i < blocks; i++) {
        unsigned char got[100];
        const unsigned char *at = f->pages + (i * 5 % blocks) * BLOCK + 7;
        assert_int_equal(plumb__view_read(small, addr_of(at), got, sizeof got),
                         0);
        assert_memory_equal(got, at, sizeof got);
    }
    plumb__view_free(small);
}

static void refuses_bad_block_sizes(void **state)
{
    fixture_t *f = *state;
    plumb__view_t *v = NULL;
    assert_int_equal(plumb__view_new(f->target, 4, 0, &v), PLUMB_EINVAL);
    assert_int_equal(plumb__view_new(f->target, 4, 1000, &v), PLUMB_EINVAL);
    assert_int_equal(plumb__view_new(f->target, 4, 2 * f->page, &v),
                     PLUMB_EINVAL);
    assert_int_equal(plumb__view_new(f->target, 0, BLOCK, &v), PLUMB_EINVAL);
    assert_null(v);
}

/* The vectored read says how many leading spans it read in full and stops
 * at one that is not mapped. */
static void readv_counts_spans_read(void **state)
{
    fixture_t *f = *state;
    unsigned char a[64], b[64], c[64];
    assert_int_equal(munmap(f->pages + f->page, f->page), 0);
    plumb__span_t spans[3] = {
        {addr_of(f->pages + 2 * f->page), a, sizeof a},
        {addr_of(f->pages + 100), b, sizeof b},
        {addr_of(f->pages + f->page), c, sizeof c}, /* the hole */
    };
    size_t done = 99;
    assert_int_equal(plumb__target_readv(f->target, spans, 3, &done), 0);
    assert_int_equal(done, 2);
    assert_memory_equal(a, f->pages + 2 * f->page, sizeof a);
    assert_memory_equal(b, f->pages + 100, sizeof b);
    assert_int_equal(plumb__target_readv(f->target, spans + 2, 1, &done), 0);
    assert_int_equal(done, 0);
    assert_int_equal(plumb__target_readv(f->target, spans, 0, &done), 0);
    assert_int_equal(done, 0);
    /* a span that wraps around the address space is never asked for */
    plumb__span_t wrap = {UINT64_MAX - 8, a, 64};
    assert_int_equal(plumb__target_readv(f->target, &wrap, 1, &done), 0);
    assert_int_equal(done, 0);
}

/* Many spans, more than one system call takes. */
static void readv_many_spans(void **state)
{
    fixture_t *f = *state;
    enum { N = 200 };
    static unsigned char bufs[N][8];
    plumb__span_t spans[N];
    for (int i = 0; i < N; i++) {
        spans[i].addr = addr_of(f->pages + (size_t)i * 13);
        spans[i].buf = bufs[i];
        spans[i].len = sizeof bufs[i];
    }
    size_t done = 0;
    assert_int_equal(plumb__target_readv(f->target, spans, N, &done), 0);
    assert_int_equal(done, N);
    for (int i = 0; i < N; i++)
        assert_memory_equal(bufs[i], f->pages + (size_t)i * 13, 8);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int test_view_run(void)
{
    const struct CMUnitTest tests[] = {
        T(reads_each_block_once),
        T(renew_reads_last_blocks_in_one_go),
        T(renew_skips_a_block_that_went_away),
        T(renew_merges_neighbours_within_a_page),
        T(renew_forgets_blocks_not_read),
        T(prefetch_reads_scattered_blocks_once),
        T(evicts_when_full),
        T(refuses_bad_block_sizes),
        T(readv_counts_spans_read),
        T(readv_many_spans),
    };
    return cmocka_run_group_tests_name("view", tests, NULL, NULL);
}
