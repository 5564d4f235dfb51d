/* mem_fixture.h: a memory profile built by hand, as `plumb mem -- python3
 * etl.py --rows 1000000` would leave it, for the tests of the memory
 * profile, its JSON, its summary and the store (test_mem.c,
 * test_mem_store.c). Its figures are round numbers of MiB so that the
 * tests can say what the summary must print:
 *   alive at the peak (200 MiB): load() at etl.py:12 150 MiB, parse() at
 *   etl.py:20 40 MiB, json.loads (line unknown) 5 MiB, a truncated
 *   recursion in a file whose name is not UTF-8 5 MiB;
 *   allocated: load 900 MiB, parse 350 MiB, loads 50 MiB, a worker
 *   thread 10 MiB;
 *   alive at the end (12 MiB): remember() at etl.py:25.
 * The timeline, a point every 100 ms, climbs steadily to 200 MiB of heap
 * at 1.5 s, then falls to 12 MiB at 2.4 s; RSS is 10 MiB plus 1.2 times
 * the heap, unknown at the last point. */
#ifndef PLUMB_TESTS_MEM_FIXTURE_H
#define PLUMB_TESTS_MEM_FIXTURE_H

#include <stdio.h>

#include "tests.h"

#define MIB (UINT64_C(1) << 20)
#define MEM_FRAME(fn, fi, ln) ((plumb_frame_t){(fn), (fi), (ln)})

static inline plumb_mem_t *fixture_mem(void)
{
    plumb_mem_t *m = NULL;
    assert_int_equal(plumb_mem_new(&m), 0);
    const char *main_thread = "MainThread (tid 7)";
    /* innermost first, as plumb_stack_add takes them */
    const plumb_frame_t load[] = {MEM_FRAME("load", "/w/etl.py", 12),
                                  MEM_FRAME("main", "/w/etl.py", 33),
                                  MEM_FRAME("<module>", "/w/etl.py", 40)};
    const plumb_frame_t parse[] = {MEM_FRAME("parse", "/w/etl.py", 20),
                                   MEM_FRAME("main", "/w/etl.py", 34),
                                   MEM_FRAME("<module>", "/w/etl.py", 40)};
    const plumb_frame_t loads[] = {
        MEM_FRAME("loads", "/usr/lib/python3.12/json/__init__.py", 0),
        MEM_FRAME("<module>", "/w/etl.py", 41)};
    const plumb_frame_t deep[] = {MEM_FRAME("recurse", "/w/caf\xe9.py", 3),
                                  MEM_FRAME("recurse", "/w/caf\xe9.py", 4)};
    const plumb_frame_t keep[] = {MEM_FRAME("remember", "/w/etl.py", 25),
                                  MEM_FRAME("main", "/w/etl.py", 35),
                                  MEM_FRAME("<module>", "/w/etl.py", 40)};
    const plumb_frame_t worker[] = {MEM_FRAME("run", "/w/etl.py", 50)};
    assert_int_equal(plumb_stack_add(m->peak, main_thread, load, 3, 0,
                                     150 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->peak, main_thread, parse, 3, 0,
                                     40 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->peak, main_thread, loads, 2, 0,
                                     5 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->peak, main_thread, deep, 2, 1,
                                     5 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->allocated, main_thread, load, 3, 0,
                                     900 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->allocated, main_thread, parse, 3, 0,
                                     350 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->allocated, main_thread, loads, 2, 0,
                                     50 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->allocated, "worker (tid 8)", worker,
                                     1, 0, 10 * MIB), 0);
    assert_int_equal(plumb_stack_add(m->end, main_thread, keep, 3, 0,
                                     12 * MIB), 0);
    m->pid = 4242;
    snprintf(m->python, sizeof m->python, "CPython 3.12.1");
    snprintf(m->command, sizeof m->command, "python3 etl.py --rows 1000000");
    m->mean_bytes = 16384;
    m->duration_ns = INT64_C(2500000000);
    m->allocated_bytes = 1310 * MIB;
    m->allocations = 3512004;
    m->samples = 12850;
    m->peak_bytes = 200 * MIB;
    m->peak_ns = INT64_C(1500000000);
    m->end_bytes = 12 * MIB;
    m->start_rss_bytes = 10 * MIB;
    m->peak_rss_bytes = 251 * MIB;
    m->complete = 1;
    m->exit_status = 0;
    m->exit_signal = 0;
    m->timeline_step_ns = INT64_C(100000000);
    for (int i = 0; i <= 24; i++) {
        uint64_t heap = i <= 15 ? (uint64_t)i * 200 * MIB / 15
                                : 200 * MIB - (uint64_t)(i - 15) * 188 * MIB / 9;
        uint64_t rss = 10 * MIB + heap + heap / 5;
        assert_int_equal(plumb_mem_add_point(m, INT64_C(100000000) * i, heap,
                                             i == 24 ? 0 : rss), 0);
    }
    return m;
}

#endif
