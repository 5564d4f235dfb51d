/* counter.c: hooks written in C for the shim's Python smoke test
 * (tests/native/smoke.py loads this with ctypes; calling Python from an
 * allocation hook is not possible). They count every allocation and free,
 * and the allocations of one watched size and the frees of those blocks.
 * Lock-free: the hooks run on any thread, inside malloc.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "plumb_native.h"

int counter_start(size_t watched_size);
void counter_stop(void);
long counter_get(int which);

/* The blocks of the watched size still alive, as a small lock-free set. */
#define MAX_WATCHED 16
static _Atomic(void *) watched[MAX_WATCHED];
static atomic_size_t watch_size;
enum {
    ALL_ALLOCS,
    ALL_FREES,
    WATCHED_ALLOCS,
    WATCHED_FREES,
    WATCHED_LOST,
    N_COUNTS
};
static atomic_long counts[N_COUNTS];

static plumb_native_set_hooks_fn set_hooks;

static void on_alloc(void *ptr, size_t size)
{
    atomic_fetch_add_explicit(&counts[ALL_ALLOCS], 1, memory_order_relaxed);
    if (size != atomic_load_explicit(&watch_size, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&counts[WATCHED_ALLOCS], 1, memory_order_relaxed);
    for (int i = 0; i < MAX_WATCHED; i++) {
        void *empty = NULL;
        if (atomic_compare_exchange_strong(&watched[i], &empty, ptr))
            return;
    }
    atomic_fetch_add_explicit(&counts[WATCHED_LOST], 1, memory_order_relaxed);
}

static void on_free(void *ptr)
{
    atomic_fetch_add_explicit(&counts[ALL_FREES], 1, memory_order_relaxed);
    for (int i = 0; i < MAX_WATCHED; i++) {
        void *expected = ptr;
        if (atomic_compare_exchange_strong(&watched[i], &expected, NULL)) {
            atomic_fetch_add_explicit(&counts[WATCHED_FREES], 1,
                                      memory_order_relaxed);
            return;
        }
    }
}

/* Zeroes the counts, watches blocks of watched_size bytes (0: none) and sets
 * the hooks. -1 when the shim is not loaded. */
int counter_start(size_t watched_size)
{
    if (!set_hooks)
        set_hooks = (plumb_native_set_hooks_fn)dlsym(
            RTLD_DEFAULT, PLUMB_NATIVE_SET_HOOKS_SYMBOL);
    if (!set_hooks)
        return -1;
    for (int i = 0; i < N_COUNTS; i++)
        atomic_store(&counts[i], 0);
    for (int i = 0; i < MAX_WATCHED; i++)
        atomic_store(&watched[i], NULL);
    atomic_store(&watch_size, watched_size ? watched_size : (size_t)-1);
    set_hooks(on_alloc, on_free);
    return 0;
}

void counter_stop(void)
{
    if (set_hooks)
        set_hooks(NULL, NULL);
}

/* One count: 0 all allocations, 1 all frees, 2 watched allocations, 3
 * frees of watched blocks, 4 watched blocks the set had no room for. */
long counter_get(int which)
{
    return which >= 0 && which < N_COUNTS ? atomic_load(&counts[which]) : -1;
}
