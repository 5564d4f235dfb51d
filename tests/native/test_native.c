/* test_native.c: the native allocation shim (src/native/shim.c), from a
 * program run with LD_PRELOAD=build/libplumb-native.so (`make native-test`).
 * It finds plumb_native_set_hooks as a recorder does, with dlsym, and
 * checks what each interposed function reports: pointers and sizes, realloc
 * and mremap as free-then-allocation, anonymous mappings only, the guard
 * against hooks that allocate, errno, threads, fork, and silence once the
 * hooks are NULL.
 *
 * Built with -fno-builtin: the compiler must not elide or merge the calls
 * under test. ASan and valgrind bring their own allocator, which an
 * interposer preloaded beside them cannot wrap; this runs plain.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "plumb_native.h"

static plumb_native_set_hooks_fn set_hooks;

/* The log of what the hooks saw, in order. */
enum { EV_ALLOC = 'a', EV_FREE = 'f' };
typedef struct {
    int kind;
    void *ptr;
    size_t size;
} event_t;

#define MAX_EVENTS 1024
static event_t events[MAX_EVENTS];
static atomic_size_t n_events;

static void log_event(int kind, void *ptr, size_t size)
{
    size_t i = atomic_fetch_add(&n_events, 1);
    if (i < MAX_EVENTS)
        events[i] = (event_t){kind, ptr, size};
}

static void log_alloc(void *ptr, size_t size)
{
    log_event(EV_ALLOC, ptr, size);
}

static void log_free(void *ptr)
{
    log_event(EV_FREE, ptr, 0);
}

static void start_log(void)
{
    atomic_store(&n_events, 0);
    set_hooks(log_alloc, log_free);
}

/* Turns the hooks off; returns how many events were logged. */
static size_t stop_log(void)
{
    set_hooks(NULL, NULL);
    size_t n = atomic_load(&n_events);
    assert_true(n <= MAX_EVENTS);
    return n;
}

/* Blocks are compared by address, taken while they are alive (a pointer
 * is not to be used once freed, not even compared). */
#define ADDR(ptr) ((uintptr_t)(ptr))

static void assert_alloc(size_t i, uintptr_t addr, size_t size)
{
    assert_int_equal(events[i].kind, EV_ALLOC);
    assert_int_equal(ADDR(events[i].ptr), addr);
    assert_int_equal(events[i].size, size);
}

static void assert_free(size_t i, uintptr_t addr)
{
    assert_int_equal(events[i].kind, EV_FREE);
    assert_int_equal(ADDR(events[i].ptr), addr);
}

/* The block at addr, which a failed call left alive (through a volatile:
 * the compiler, which takes a failed realloc for a free, must not see it). */
static void *alive(uintptr_t addr)
{
    volatile uintptr_t kept = addr;
    return (void *)kept;
}

/* Sizes no allocator can serve; volatile, so the compiler cannot see them
 * (and warn) at the call. */
static volatile size_t huge = SIZE_MAX / 4;
static volatile size_t count_overflowing = SIZE_MAX / 2 + 2;

static void malloc_and_free(void **state)
{
    (void)state;
    start_log();
    char *p = malloc(100);
    uintptr_t a = ADDR(p);
    assert_non_null(p);
    memset(p, 1, 100);
    free(p);
    free(NULL);
    char *none = malloc(huge);
    assert_int_equal(stop_log(), 2);
    assert_null(none);
    assert_alloc(0, a, 100);
    assert_free(1, a);
}

static void calloc_reports_the_product(void **state)
{
    (void)state;
    start_log();
    unsigned char *p = calloc(10, 30);
    uintptr_t a = ADDR(p);
    void *none = calloc(count_overflowing, 2);
    free(p);
    assert_int_equal(stop_log(), 2);
    assert_null(none);
    assert_alloc(0, a, 300);
    assert_free(1, a);
}

static void calloc_zeroes(void **state)
{
    (void)state;
    start_log();
    unsigned char *p = calloc(1000, 4);
    assert_int_equal(stop_log(), 1);
    assert_non_null(p);
    for (size_t i = 0; i < 4000; i++)
        assert_int_equal(p[i], 0);
    free(p);
}

static void realloc_is_a_free_and_an_allocation(void **state)
{
    (void)state;
    start_log();
    char *p = realloc(NULL, 50);
    uintptr_t a = ADDR(p);
    memset(p, 7, 50);
    char *grown = realloc(p, 5000);
    uintptr_t b = ADDR(grown);
    char *shrunk = realloc(grown, 10);
    uintptr_t c = ADDR(shrunk);
    char *gone = realloc(shrunk, 0); /* glibc: free(shrunk) */
    size_t n = stop_log();
    assert_null(gone);
    assert_true(b != 0 && c != 0);
    assert_int_equal(n, 6);
    assert_alloc(0, a, 50);
    assert_free(1, a);
    assert_alloc(2, b, 5000);
    assert_free(3, b);
    assert_alloc(4, c, 10); /* also when it did not move */
    assert_free(5, c);
}

static void realloc_keeps_contents(void **state)
{
    (void)state;
    start_log();
    unsigned char *p = malloc(64);
    for (int i = 0; i < 64; i++)
        p[i] = (unsigned char)i;
    p = realloc(p, 1 << 20);
    stop_log();
    for (int i = 0; i < 64; i++)
        assert_int_equal(p[i], i);
    free(p);
}

/* A failed realloc leaves the block where it was: its free was reported
 * before the call, so it is reported again, with its usable size. */
static void failed_realloc_reports_the_block_again(void **state)
{
    (void)state;
    char *p = malloc(64);
    uintptr_t a = ADDR(p);
    start_log();
    errno = 0;
    char *none = realloc(p, huge);
    int err = errno;
    size_t n = stop_log();
    assert_null(none);
    assert_int_equal(err, ENOMEM);
    assert_int_equal(n, 2);
    assert_free(0, a);
    assert_alloc(1, a, malloc_usable_size(alive(a)));
    assert_true(events[1].size >= 64);
    free(alive(a));
}

/* glibc's reallocarray calls realloc through the PLT: the guard keeps that
 * inner call from being reported twice. */
static void reallocarray_reports_once(void **state)
{
    (void)state;
    start_log();
    long *p = reallocarray(NULL, 10, sizeof(long));
    uintptr_t a = ADDR(p);
    long *q = reallocarray(p, 20, sizeof(long));
    uintptr_t b = ADDR(q);
    errno = 0;
    void *none = reallocarray(q, count_overflowing, 2);
    int err = errno;
    free(alive(b));
    size_t n = stop_log();
    assert_null(none);
    assert_int_equal(err, ENOMEM);
    assert_int_equal(n, 4);
    assert_alloc(0, a, 10 * sizeof(long));
    assert_free(1, a);
    assert_alloc(2, b, 20 * sizeof(long));
    assert_free(3, b);
}

static void aligned_variants(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *pm = NULL, *bad = NULL;
    start_log();
    int ok = posix_memalign(&pm, 64, 1000);
    int einval = posix_memalign(&bad, 3, 10);
    void *aa = aligned_alloc(128, 256);
    void *ma = memalign(256, 100);
    void *va = valloc(100);
    void *pv = pvalloc(100);
    uintptr_t addrs[] = {ADDR(pm), ADDR(aa), ADDR(ma), ADDR(va), ADDR(pv)};
    free(pm);
    free(aa);
    free(ma);
    free(va);
    free(pv);
    size_t n = stop_log();
    assert_int_equal(ok, 0);
    assert_int_equal(einval, EINVAL);
    assert_int_equal(n, 10);
    assert_alloc(0, addrs[0], 1000);
    assert_alloc(1, addrs[1], 256);
    assert_alloc(2, addrs[2], 100);
    assert_alloc(3, addrs[3], 100);
    assert_alloc(4, addrs[4], 100);
    assert_int_equal(addrs[0] % 64, 0);
    assert_int_equal(addrs[1] % 128, 0);
    assert_int_equal(addrs[2] % 256, 0);
    assert_int_equal(addrs[3] % page, 0);
    assert_int_equal(addrs[4] % page, 0);
    for (size_t i = 0; i < 5; i++)
        assert_free(5 + i, addrs[i]);
}

static void anonymous_mappings_only(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 1 << 20;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    start_log();
    char *anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *file = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
    void *anon64 = mmap64(NULL, 3 * page, PROT_READ,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    void *failed = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    uintptr_t a = ADDR(anon), f = ADDR(file), a64 = ADDR(anon64);
    anon[len - 1] = 1;
    int r1 = munmap(file, page);
    int r2 = munmap(anon64, 3 * page);
    size_t n = stop_log();
    close(fd);
    assert_ptr_not_equal(anon, MAP_FAILED);
    assert_ptr_not_equal(file, MAP_FAILED);
    assert_ptr_not_equal(anon64, MAP_FAILED);
    assert_ptr_equal(failed, MAP_FAILED);
    assert_int_equal(r1, 0);
    assert_int_equal(r2, 0);
    assert_int_equal(n, 4);
    assert_alloc(0, a, len);
    assert_alloc(1, a64, 3 * page);
    assert_free(2, f); /* every munmap: the hook knows its mappings */
    assert_free(3, a64);

    start_log();
    char *moved = mremap(anon, len, 4 * len, MREMAP_MAYMOVE);
    uintptr_t m = ADDR(moved);
    assert_ptr_not_equal(moved, MAP_FAILED);
    assert_int_equal(moved[len - 1], 1);
    int r3 = munmap(moved, 4 * len);
    n = stop_log();
    assert_int_equal(r3, 0);
    assert_int_equal(n, 3);
    assert_free(0, a);
    assert_alloc(1, m, 4 * len);
    assert_free(2, m);
}

/* A failed mremap leaves the mapping: reported freed, then again. */
static void failed_mremap_reports_the_mapping_again(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t a = ADDR(p);
    assert_ptr_not_equal(p, MAP_FAILED);
    start_log();
    errno = 0;
    void *none = mremap(p, page, 2 * page, MREMAP_FIXED, (char *)p + 16 * page);
    int err = errno; /* MREMAP_FIXED without MREMAP_MAYMOVE */
    size_t n = stop_log();
    assert_ptr_equal(none, MAP_FAILED);
    assert_int_equal(err, EINVAL);
    assert_int_equal(n, 2);
    assert_free(0, a);
    assert_alloc(1, a, page);
    assert_int_equal(munmap(alive(a), page), 0);
}

/* Hooks that allocate, as every recorder's do: their allocations are not
 * reported and the hooks are not re-entered. */
static int hook_depth, hook_max_depth, hook_allocated;

static void allocating_alloc_hook(void *ptr, size_t size)
{
    if (++hook_depth > hook_max_depth)
        hook_max_depth = hook_depth;
    void *scratch = realloc(malloc(32), 64);
    hook_allocated += scratch != NULL;
    free(scratch);
    void *map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(map, 4096);
    log_alloc(ptr, size);
    hook_depth--;
}

static void allocating_free_hook(void *ptr)
{
    if (++hook_depth > hook_max_depth)
        hook_max_depth = hook_depth;
    free(malloc(16));
    log_free(ptr);
    hook_depth--;
}

static void hooks_that_allocate_are_not_reentered(void **state)
{
    (void)state;
    hook_depth = hook_max_depth = hook_allocated = 0;
    atomic_store(&n_events, 0);
    set_hooks(allocating_alloc_hook, allocating_free_hook);
    void *p = malloc(10);
    uintptr_t a = ADDR(p);
    void *q = realloc(p, 20);
    uintptr_t b = ADDR(q);
    free(q);
    size_t n = stop_log();
    assert_int_equal(hook_allocated, 2);
    assert_int_equal(hook_max_depth, 1);
    assert_int_equal(n, 4);
    assert_alloc(0, a, 10);
    assert_free(1, a);
    assert_alloc(2, b, 20);
    assert_free(3, b);
}

static void clobbering_alloc_hook(void *ptr, size_t size)
{
    errno = EBADF;
    log_alloc(ptr, size);
}

static void clobbering_free_hook(void *ptr)
{
    errno = EBADF;
    log_free(ptr);
}

static void errno_survives_the_hooks(void **state)
{
    (void)state;
    char *p = malloc(64);
    uintptr_t a = ADDR(p);
    atomic_store(&n_events, 0);
    set_hooks(clobbering_alloc_hook, clobbering_free_hook);
    errno = 42;
    void *q = malloc(10);
    int after_malloc = errno;
    free(q);
    int after_free = errno;
    errno = 0;
    void *none = realloc(p, huge);
    int after_failed_realloc = errno;
    size_t n = stop_log();
    assert_int_equal(n, 4);
    assert_null(none);
    assert_int_equal(after_malloc, 42);
    assert_int_equal(after_free, 42);
    assert_int_equal(after_failed_realloc, ENOMEM);
    free(alive(a));
}

static void nothing_is_reported_without_hooks(void **state)
{
    (void)state;
    start_log();
    set_hooks(NULL, NULL);
    void *p = malloc(100);
    p = realloc(p, 200);
    free(p);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m, 4096);
    assert_int_equal(atomic_load(&n_events), 0);

    /* Frees alone: the allocation hook is off. */
    atomic_store(&n_events, 0);
    set_hooks(NULL, log_free);
    p = malloc(100);
    void *q = realloc(p, 300);
    uintptr_t b = ADDR(q);
    free(q);
    size_t n = stop_log();
    assert_int_equal(n, 1);
    assert_free(0, b);
}

/* Threads: every thread's allocations reach the hooks, none lost. Each
 * thread allocates a size of its own, and frees what it allocated; the
 * hooks count per size and recognise each thread's last block. */
#define THREADS 4
#define THREAD_PAIRS 200000
#define THREAD_SIZE(t) (3000 + (size_t)(t))

static atomic_long thread_allocs[THREADS], thread_frees[THREADS];
static _Thread_local void *thread_last_block;
static _Thread_local int thread_index = -1;

static void counting_alloc_hook(void *ptr, size_t size)
{
    if (thread_index >= 0 && size == THREAD_SIZE(thread_index)) {
        atomic_fetch_add(&thread_allocs[thread_index], 1);
        thread_last_block = ptr;
    }
}

static void counting_free_hook(void *ptr)
{
    if (thread_index >= 0 && ptr == thread_last_block) {
        atomic_fetch_add(&thread_frees[thread_index], 1);
        thread_last_block = NULL;
    }
}

static void *allocating_thread(void *arg)
{
    thread_index = (int)(intptr_t)arg;
    for (int i = 0; i < THREAD_PAIRS; i++) {
        char *p = malloc(THREAD_SIZE(thread_index));
        if (!p)
            abort();
        p[0] = (char)i;
        free(p);
    }
    return NULL;
}

static void threads_lose_no_events(void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        thread_allocs[t] = thread_frees[t] = 0;
    set_hooks(counting_alloc_hook, counting_free_hook);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, allocating_thread,
                                        (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    set_hooks(NULL, NULL);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(atomic_load(&thread_allocs[t]), THREAD_PAIRS);
        assert_int_equal(atomic_load(&thread_frees[t]), THREAD_PAIRS);
    }
}

/* Hooks set and cleared from one thread while others allocate: nothing
 * breaks, and once cleared nothing more is reported. Each churning thread
 * counts its finished rounds, so that the test can wait for a round that
 * began after the change. */
static atomic_int churn_stop;
static atomic_long churn_rounds[THREADS];

static void *churning_thread(void *arg)
{
    atomic_long *rounds = arg;
    while (!atomic_load(&churn_stop)) {
        void *p = malloc(100);
        p = realloc(p, 1000);
        free(p);
        void *m = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        munmap(m, 8192);
        atomic_fetch_add(rounds, 1);
    }
    return NULL;
}

static void start_churn(pthread_t *threads)
{
    atomic_store(&churn_stop, 0);
    for (int t = 0; t < THREADS; t++) {
        atomic_store(&churn_rounds[t], 0);
        assert_int_equal(pthread_create(&threads[t], NULL, churning_thread,
                                        &churn_rounds[t]), 0);
    }
}

static void stop_churn(pthread_t *threads)
{
    atomic_store(&churn_stop, 1);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
}

/* Waits until every churning thread has finished the round it is in. */
static void wait_for_a_round(void)
{
    long seen[THREADS];
    for (int t = 0; t < THREADS; t++)
        seen[t] = atomic_load(&churn_rounds[t]);
    for (int t = 0; t < THREADS; t++)
        while (atomic_load(&churn_rounds[t]) <= seen[t])
            sched_yield();
}

static void hooks_change_while_threads_allocate(void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    start_churn(threads);
    wait_for_a_round();
    for (int i = 0; i < 20000; i++) {
        if (i % 2)
            set_hooks(NULL, NULL);
        else
            set_hooks(log_alloc, log_free);
    }
    atomic_store(&n_events, 0);
    set_hooks(log_alloc, log_free);
    wait_for_a_round();
    wait_for_a_round(); /* a whole round each: 6 events */
    assert_true(atomic_load(&n_events) >= THREADS * 6);
    set_hooks(NULL, NULL);
    /* A hook loaded just before the change may still run in the round
     * under way; the rounds after it report nothing. */
    wait_for_a_round();
    atomic_store(&n_events, 0);
    wait_for_a_round();
    wait_for_a_round();
    assert_int_equal(atomic_load(&n_events), 0);
    stop_churn(threads);
}

/* fork while other threads allocate under hooks: the child allocates, its
 * hooks see it, and it exits (an alarm turns a deadlock into a failure). */
#define CHILD_SIZE 4321
static atomic_long child_allocs, child_frees;
static void *child_block;

static void child_alloc_hook(void *ptr, size_t size)
{
    if (size == CHILD_SIZE) {
        atomic_fetch_add(&child_allocs, 1);
        child_block = ptr;
    }
}

static void child_free_hook(void *ptr)
{
    if (ptr && ptr == child_block)
        atomic_fetch_add(&child_frees, 1);
}

static void child_keeps_working_after_fork(void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    set_hooks(child_alloc_hook, child_free_hook);
    start_churn(threads);
    for (int round = 0; round < 50; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(10);
            atomic_store(&child_allocs, 0);
            atomic_store(&child_frees, 0);
            for (int i = 0; i < 100; i++) {
                char *p = malloc(CHILD_SIZE);
                if (!p)
                    _exit(3);
                p[0] = 1;
                free(p);
            }
            int seen_all = atomic_load(&child_allocs) == 100 &&
                           atomic_load(&child_frees) == 100;
            _exit(seen_all ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    stop_churn(threads);
    set_hooks(NULL, NULL);
}

int main(void)
{
    set_hooks = (plumb_native_set_hooks_fn)dlsym(
        RTLD_DEFAULT, PLUMB_NATIVE_SET_HOOKS_SYMBOL);
    if (!set_hooks) {
        fprintf(stderr, "test-native: %s not found; run it with "
                        "LD_PRELOAD=build/libplumb-native.so "
                        "(make native-test)\n",
                PLUMB_NATIVE_SET_HOOKS_SYMBOL);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malloc_and_free),
        cmocka_unit_test(calloc_reports_the_product),
        cmocka_unit_test(calloc_zeroes),
        cmocka_unit_test(realloc_is_a_free_and_an_allocation),
        cmocka_unit_test(realloc_keeps_contents),
        cmocka_unit_test(failed_realloc_reports_the_block_again),
        cmocka_unit_test(reallocarray_reports_once),
        cmocka_unit_test(aligned_variants),
        cmocka_unit_test(anonymous_mappings_only),
        cmocka_unit_test(failed_mremap_reports_the_mapping_again),
        cmocka_unit_test(hooks_that_allocate_are_not_reentered),
        cmocka_unit_test(errno_survives_the_hooks),
        cmocka_unit_test(nothing_is_reported_without_hooks),
        cmocka_unit_test(threads_lose_no_events),
        cmocka_unit_test(hooks_change_while_threads_allocate),
        cmocka_unit_test(child_keeps_working_after_fork),
    };
    return cmocka_run_group_tests_name("native", tests, NULL, NULL);
}
