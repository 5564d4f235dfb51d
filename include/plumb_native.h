/* plumb_native.h: the interface of plumb's native allocation shim,
 * build/libplumb-native.so, which `plumb mem --native` preloads into the
 * program it records (LD_PRELOAD). The shim interposes the C allocator
 * (malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc) and anonymous memory mappings
 * (mmap, mmap64, munmap, mremap), forwards every call to the real function
 * and, while hooks are set, reports each allocation and free to them.
 *
 * A recorder finds the shim at run time, so that it works with and without
 * it:
 *
 *     plumb_native_set_hooks_fn set = (plumb_native_set_hooks_fn)
 *         dlsym(RTLD_DEFAULT, PLUMB_NATIVE_SET_HOOKS_SYMBOL);
 *     if (set)
 *         set(on_alloc, on_free);
 *
 * What the hooks see:
 * - on_alloc(ptr, size) after each successful allocation, with the size the
 *   caller asked for (calloc: count * size; an anonymous mmap: its length);
 * - on_free(ptr) before each free of a non-NULL pointer (and before each
 *   munmap, with the address unmapped from: a free of the mapping that
 *   starts there, if the hook knows one);
 * - realloc, reallocarray and mremap as on_free(old) then on_alloc(new, size),
 *   also when the block did not move (its size changed). A realloc that
 *   fails after its on_free reports the old block again with
 *   on_alloc(old, malloc_usable_size(old)); mremap with its old size.
 *   realloc(ptr, 0), which frees ptr in glibc, is on_free(ptr) alone.
 * - mremap is reported whatever the mapping's kind (the shim keeps no table
 *   of mappings): a hook that knows only anonymous mappings ignores the
 *   free of an address it does not know, and then the new mapping too.
 * - Everything that goes through these functions, the interpreter's own
 *   allocations included: in CPython, PyMem_RawMalloc, large objects and
 *   pymalloc's arenas (anonymous mmap) arrive here as well. A recorder that
 *   also hooks the PyMem allocators sets a thread-local flag of its own
 *   around the allocator it wraps, and ignores the native reports made
 *   under it, or it counts those bytes twice.
 *
 * Contract for the hooks:
 * - They are called from any thread, concurrently, and do their own
 *   locking; the shim holds no lock of its own while calling them.
 * - Allocations made while a hook runs on a thread (by the hook or anything
 *   it calls) are forwarded without calling the hooks again.
 * - A hook may still be called shortly after plumb_native_set_hooks has
 *   replaced it, by a thread that loaded it just before: keep its code
 *   loaded and its state valid (or checked) for as long as the process
 *   runs.
 * - A hook that runs in a signal handler's allocation, or in a child after
 *   fork, is the hook's concern: the shim adds no lock of its own, so it is
 *   as async-signal-safe and fork-safe as the allocator under it.
 * - errno is preserved across the hooks.
 */
#ifndef PLUMB_NATIVE_H
#define PLUMB_NATIVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called after a successful allocation of size bytes at ptr. */
typedef void (*plumb_native_alloc_fn)(void *ptr, size_t size);
/* Called before ptr (non-NULL) is freed. */
typedef void (*plumb_native_free_fn)(void *ptr);

/* Sets the hooks that the shim calls from now on; NULL for either turns
 * its reports off (both NULL: the shim only forwards, at the cost of one
 * relaxed atomic load per call). Callable at any time from any thread. */
void plumb_native_set_hooks(plumb_native_alloc_fn on_alloc,
                            plumb_native_free_fn on_free);

/* The type of plumb_native_set_hooks, for dlsym. */
typedef void (*plumb_native_set_hooks_fn)(plumb_native_alloc_fn on_alloc,
                                          plumb_native_free_fn on_free);
#define PLUMB_NATIVE_SET_HOOKS_SYMBOL "plumb_native_set_hooks"

#ifdef __cplusplus
}
#endif

#endif
