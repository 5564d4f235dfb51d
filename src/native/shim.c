/* shim.c: libplumb-native.so, the allocation shim that `plumb mem --native`
 * preloads into the program it records. It interposes the C allocator and
 * anonymous memory mappings, forwards each call to the real function (the
 * next definition after it, dlsym(RTLD_NEXT, ...)) and, while hooks are
 * set, reports allocations and frees to them (include/plumb_native.h says
 * what the hooks see and what they must do).
 *
 * It does not sample, aggregate or read stacks (the recorder's hooks do),
 * and it takes no lock of its own: with no hooks set a call costs one
 * relaxed atomic load more than the real function, and async-signal and
 * fork safety are those of the allocator under it.
 *
 * Two details make an interposer work:
 * - dlsym may allocate (the dlerror state, in some glibc versions) before
 *   the real functions are known. The thread that is resolving them serves
 *   those requests from a static buffer, whose blocks are never given to
 *   the real free.
 * - A hook allocates. A thread-local guard, set while a hook or the real
 *   function runs under a report, forwards the nested calls unreported (the
 *   real function too: glibc's reallocarray calls realloc through the PLT).
 * Thread-locals use the initial-exec model: the general-dynamic one may
 * allocate on a thread's first access, from inside malloc.
 */
#define _GNU_SOURCE
#include "plumb_native.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LOAD(var) atomic_load_explicit(&(var), memory_order_relaxed)
#define STORE(var, value)                                                   \
    atomic_store_explicit(&(var), (value), memory_order_release)

/* The real functions: real_<name> holds one, NULL until resolved, and
 * real_<name>_fn() resolves it on first use (NULL if the C library has
 * none). Any thread may resolve them (to the same values): atomics. */
typedef void *(*malloc_fn_t)(size_t);
typedef void (*free_fn_t)(void *);
typedef void *(*calloc_fn_t)(size_t, size_t);
typedef void *(*realloc_fn_t)(void *, size_t);
typedef void *(*reallocarray_fn_t)(void *, size_t, size_t);
typedef int (*posix_memalign_fn_t)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn_t)(size_t, size_t);
typedef void *(*memalign_fn_t)(size_t, size_t);
typedef void *(*valloc_fn_t)(size_t);
typedef void *(*pvalloc_fn_t)(size_t);
typedef void *(*mmap_fn_t)(void *, size_t, int, int, int, off_t);
typedef void *(*mmap64_fn_t)(void *, size_t, int, int, int, off64_t);
typedef int (*munmap_fn_t)(void *, size_t);
typedef void *(*mremap_fn_t)(void *, size_t, size_t, int, ...);

static void resolve(void);

#define REAL_SLOT(name)                                                     \
    static _Atomic(name##_fn_t) real_##name;                                \
    static inline name##_fn_t real_##name##_fn(void)                        \
    {                                                                       \
        name##_fn_t fn = LOAD(real_##name);                                 \
        if (UNLIKELY(!fn)) {                                                \
            resolve();                                                      \
            fn = LOAD(real_##name);                                         \
        }                                                                   \
        return fn;                                                          \
    }

REAL_SLOT(free)
REAL_SLOT(malloc)
REAL_SLOT(calloc)
REAL_SLOT(realloc)
REAL_SLOT(reallocarray)
REAL_SLOT(posix_memalign)
REAL_SLOT(aligned_alloc)
REAL_SLOT(memalign)
REAL_SLOT(valloc)
REAL_SLOT(pvalloc)
REAL_SLOT(mmap)
REAL_SLOT(mmap64)
REAL_SLOT(munmap)
REAL_SLOT(mremap)
static atomic_int resolved;

static _Atomic(plumb_native_alloc_fn) hook_alloc;
static _Atomic(plumb_native_free_fn) hook_free;

static THREAD_LOCAL int in_hook;   /* the guard: reports are off */
static THREAD_LOCAL int resolving; /* this thread is inside resolve() */
static THREAD_LOCAL int *errno_at; /* where this thread's errno lives */

/* The static buffer for what dlsym allocates before the real functions
 * are known: a bump allocator of 16-byte aligned blocks, each after a
 * 16-byte header holding its size (for realloc). It is zero and never
 * reused, so calloc needs no memset. */
#define EARLY_BYTES (64 * 1024)
#define EARLY_ALIGN 16
static alignas(EARLY_ALIGN) unsigned char early[EARLY_BYTES];
static atomic_size_t early_used;

static int is_early(const void *ptr)
{
    return (uintptr_t)ptr - (uintptr_t)early < EARLY_BYTES;
}

static void *early_alloc(size_t size)
{
    if (size > EARLY_BYTES - 2 * EARLY_ALIGN) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = (size + EARLY_ALIGN - 1) & ~(size_t)(EARLY_ALIGN - 1);
    size_t need = EARLY_ALIGN + rounded;
    size_t at = atomic_fetch_add_explicit(&early_used, need,
                                          memory_order_relaxed);
    if (at > EARLY_BYTES - need) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(early + at, &size, sizeof size);
    return early + at + EARLY_ALIGN;
}

static size_t early_size(const void *ptr)
{
    size_t size;
    memcpy(&size, (const unsigned char *)ptr - EARLY_ALIGN, sizeof size);
    return size;
}

#define RESOLVE(name)                                                       \
    STORE(real_##name, (name##_fn_t)dlsym(RTLD_NEXT, #name))

/* Looks up every real function. free comes first: whatever dlsym frees
 * while malloc is still unknown came from the static buffer. */
static void resolve(void)
{
    if (LOAD(resolved) || resolving)
        return; /* resolving: a wrapper that dlsym called fails (ENOMEM) */
    int saved_errno = errno;
    resolving = 1;
    RESOLVE(free);
    RESOLVE(malloc);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(reallocarray);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    RESOLVE(mmap);
    RESOLVE(mmap64);
    RESOLVE(munmap);
    RESOLVE(mremap);
    resolving = 0;
    STORE(resolved, 1);
    errno = saved_errno;
}

__attribute__((constructor)) static void shim_init(void)
{
    resolve();
}

/* This thread's errno, whose address never changes while the thread
 * lives: kept, it saves the reports two calls to __errno_location (a
 * third of what trivial hooks cost). */
static int *thread_errno(void)
{
    int *at = errno_at;
    if (UNLIKELY(!at))
        errno_at = at = &errno;
    return at;
}

/* The reports. The caller has set the guard; errno is the real function's
 * and survives the hook. */
static void report_alloc(plumb_native_alloc_fn hook, void *ptr, size_t size)
{
    int *err = thread_errno(), saved_errno = *err;
    hook(ptr, size);
    *err = saved_errno;
}

static void report_free(plumb_native_free_fn hook, void *ptr)
{
    int *err = thread_errno(), saved_errno = *err;
    hook(ptr);
    *err = saved_errno;
}

EXPORT void plumb_native_set_hooks(plumb_native_alloc_fn on_alloc,
                                   plumb_native_free_fn on_free)
{
    /* Frees are reported from before allocations are, until after they
     * stop: a block whose allocation was reported has its free reported. */
    if (on_alloc) {
        STORE(hook_free, on_free);
        STORE(hook_alloc, on_alloc);
    } else {
        STORE(hook_alloc, NULL);
        STORE(hook_free, on_free);
    }
}

/* The end of every allocating wrapper once the real function is known:
 * forward CALL, and report a result other than FAILED while hooks are
 * set. */
#define FORWARD_ALLOC(call, failed, size)                                   \
    do {                                                                    \
        plumb_native_alloc_fn hook_ = LOAD(hook_alloc);                     \
        if (LIKELY(!hook_) || in_hook)                                      \
            return call;                                                    \
        in_hook = 1;                                                        \
        void *ptr_ = call;                                                  \
        if (ptr_ != (failed))                                               \
            report_alloc(hook_, ptr_, size);                                \
        in_hook = 0;                                                        \
        return ptr_;                                                        \
    } while (0)

/* malloc, free, calloc and realloc, the calls that count, keep apart the
 * path they take with no hooks once the real function is known (two loads
 * and a jump, nothing to save on the stack); the rest is in *_slow. */
#define SLOW __attribute__((noinline))

static SLOW void *malloc_slow(size_t size)
{
    malloc_fn_t fn = LOAD(real_malloc);
    if (UNLIKELY(!fn)) {
        if (resolving)
            return early_alloc(size);
        if (!(fn = real_malloc_fn())) {
            errno = ENOMEM;
            return NULL;
        }
    }
    FORWARD_ALLOC(fn(size), NULL, size);
}

EXPORT void *malloc(size_t size)
{
    malloc_fn_t fn = LOAD(real_malloc);
    if (LIKELY(fn != NULL) && LIKELY(LOAD(hook_alloc) == NULL))
        return fn(size);
    return malloc_slow(size);
}

static SLOW void free_slow(void *ptr)
{
    free_fn_t fn = LOAD(real_free);
    if (UNLIKELY(!fn || is_early(ptr))) {
        if (is_early(ptr) || resolving || !(fn = real_free_fn()))
            return; /* a static block, or nothing to free it with */
    }
    plumb_native_free_fn hook = LOAD(hook_free);
    if (LIKELY(!hook) || !ptr || in_hook) {
        fn(ptr);
        return;
    }
    in_hook = 1;
    report_free(hook, ptr);
    fn(ptr);
    in_hook = 0;
}

EXPORT void free(void *ptr)
{
    free_fn_t fn = LOAD(real_free);
    if (LIKELY(fn != NULL) && LIKELY(LOAD(hook_free) == NULL) &&
        LIKELY(!is_early(ptr))) {
        fn(ptr);
        return;
    }
    free_slow(ptr);
}

static SLOW void *calloc_slow(size_t count, size_t size)
{
    calloc_fn_t fn = LOAD(real_calloc);
    size_t total;
    int overflow = __builtin_mul_overflow(count, size, &total);
    if (UNLIKELY(!fn)) {
        if (resolving) {
            if (overflow) {
                errno = ENOMEM;
                return NULL;
            }
            return early_alloc(total);
        }
        if (!(fn = real_calloc_fn())) {
            errno = ENOMEM;
            return NULL;
        }
    }
    FORWARD_ALLOC(fn(count, size), NULL, total);
}

EXPORT void *calloc(size_t count, size_t size)
{
    calloc_fn_t fn = LOAD(real_calloc);
    if (LIKELY(fn != NULL) && LIKELY(LOAD(hook_alloc) == NULL))
        return fn(count, size);
    return calloc_slow(count, size);
}

/* realloc of a static block, or by the resolving thread before the real
 * realloc is known (free and malloc are by then): a copy to a new block. */
static void *realloc_by_copy(void *ptr, size_t size)
{
    void *copy = NULL;
    if (size != 0) { /* else glibc frees ptr and returns NULL */
        if (!(copy = malloc(size)))
            return NULL;
        if (ptr) {
            size_t old = is_early(ptr) ? early_size(ptr)
                                       : malloc_usable_size(ptr);
            memcpy(copy, ptr, old < size ? old : size);
        }
    }
    free(ptr); /* static blocks stay */
    return copy;
}

/* realloc and reallocarray under hooks: the old block's free is reported
 * before the real call, so that no other thread can be given the address
 * and report it first. Returns the hook that was told, or NULL. */
static plumb_native_free_fn realloc_before(void *ptr)
{
    plumb_native_free_fn on_free = ptr ? LOAD(hook_free) : NULL;
    if (on_free)
        report_free(on_free, ptr);
    return on_free;
}

/* ... and the new block's allocation after it; a failure leaves the old
 * block in place, which is reported again (realloc(ptr, 0), which frees
 * ptr in glibc, is not a failure). */
static void realloc_after(plumb_native_alloc_fn on_alloc,
                          plumb_native_free_fn told, void *ptr, void *moved,
                          size_t size)
{
    if (moved)
        report_alloc(on_alloc, moved, size);
    else if (told && size != 0)
        report_alloc(on_alloc, ptr, malloc_usable_size(ptr));
}

static SLOW void *realloc_slow(void *ptr, size_t size)
{
    realloc_fn_t fn = LOAD(real_realloc);
    if (UNLIKELY(!fn || is_early(ptr))) {
        if (is_early(ptr) || resolving)
            return realloc_by_copy(ptr, size);
        if (!(fn = real_realloc_fn())) {
            errno = ENOMEM;
            return NULL;
        }
    }
    plumb_native_alloc_fn hook = LOAD(hook_alloc);
    if (LIKELY(!hook) || in_hook)
        return fn(ptr, size);
    in_hook = 1;
    plumb_native_free_fn told = realloc_before(ptr);
    void *moved = fn(ptr, size);
    realloc_after(hook, told, ptr, moved, size);
    in_hook = 0;
    return moved;
}

EXPORT void *realloc(void *ptr, size_t size)
{
    realloc_fn_t fn = LOAD(real_realloc);
    if (LIKELY(fn != NULL) && LIKELY(LOAD(hook_alloc) == NULL) &&
        LIKELY(!is_early(ptr)))
        return fn(ptr, size);
    return realloc_slow(ptr, size);
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    reallocarray_fn_t fn = real_reallocarray_fn();
    if (UNLIKELY(!fn || is_early(ptr)))
        return realloc(ptr, total); /* a C library without it, or static */
    plumb_native_alloc_fn hook = LOAD(hook_alloc);
    if (LIKELY(!hook) || in_hook)
        return fn(ptr, count, size);
    in_hook = 1;
    plumb_native_free_fn told = realloc_before(ptr);
    void *moved = fn(ptr, count, size);
    realloc_after(hook, told, ptr, moved, total);
    in_hook = 0;
    return moved;
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    posix_memalign_fn_t fn = real_posix_memalign_fn();
    if (UNLIKELY(!fn))
        return ENOMEM;
    plumb_native_alloc_fn hook = LOAD(hook_alloc);
    if (LIKELY(!hook) || in_hook)
        return fn(out, alignment, size);
    in_hook = 1;
    int err = fn(out, alignment, size);
    if (err == 0 && *out)
        report_alloc(hook, *out, size);
    in_hook = 0;
    return err;
}

/* The wrapper of NAME PARAMS, which allocates SIZE bytes. */
#define ALLOC_WRAPPER(name, params, args, size)                             \
    EXPORT void *name params                                                \
    {                                                                       \
        name##_fn_t fn = real_##name##_fn();                                \
        if (UNLIKELY(!fn)) {                                                \
            errno = ENOMEM;                                                 \
            return NULL;                                                    \
        }                                                                   \
        FORWARD_ALLOC(fn args, NULL, size);                                 \
    }

ALLOC_WRAPPER(aligned_alloc, (size_t alignment, size_t size),
              (alignment, size), size)
ALLOC_WRAPPER(memalign, (size_t alignment, size_t size),
              (alignment, size), size)
ALLOC_WRAPPER(valloc, (size_t size), (size), size)
ALLOC_WRAPPER(pvalloc, (size_t size), (size), size)

/* Mappings: only anonymous ones are memory the program allocates; a file
 * mapping's pages belong to the page cache. */
#define MMAP_WRAPPER(name, off_type)                                        \
    EXPORT void *name(void *addr, size_t length, int prot, int flags,       \
                      int fd, off_type offset)                              \
    {                                                                       \
        name##_fn_t fn = real_##name##_fn();                                \
        if (UNLIKELY(!fn)) {                                                \
            errno = ENOMEM;                                                 \
            return MAP_FAILED;                                              \
        }                                                                   \
        if (!(flags & MAP_ANONYMOUS))                                       \
            return fn(addr, length, prot, flags, fd, offset);               \
        FORWARD_ALLOC(fn(addr, length, prot, flags, fd, offset),            \
                      MAP_FAILED, length);                                  \
    }

MMAP_WRAPPER(mmap, off_t)
#ifdef __GLIBC__
MMAP_WRAPPER(mmap64, off64_t)
#endif

/* Reported whatever was mapped there: the hooks know which addresses
 * start the anonymous mappings they were told of. */
EXPORT int munmap(void *addr, size_t length)
{
    munmap_fn_t fn = real_munmap_fn();
    if (UNLIKELY(!fn)) {
        errno = EINVAL;
        return -1;
    }
    plumb_native_free_fn hook = LOAD(hook_free);
    if (LIKELY(!hook) || !addr || in_hook)
        return fn(addr, length);
    in_hook = 1;
    report_free(hook, addr);
    int result = fn(addr, length);
    in_hook = 0;
    return result;
}

/* As realloc: the old mapping freed, then the new one allocated, or the
 * old one again when the call fails. */
EXPORT void *mremap(void *old_address, size_t old_size, size_t new_size,
                    int flags, ...)
{
    void *new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_address = va_arg(ap, void *);
        va_end(ap);
    }
    mremap_fn_t fn = real_mremap_fn();
    if (UNLIKELY(!fn)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    plumb_native_alloc_fn hook = LOAD(hook_alloc);
    if (LIKELY(!hook) || in_hook)
        return fn(old_address, old_size, new_size, flags, new_address);
    in_hook = 1;
    /* An old size of 0 duplicates a shared mapping: nothing is freed. */
    plumb_native_free_fn told = old_size ? LOAD(hook_free) : NULL;
    if (told)
        report_free(told, old_address);
    void *moved = fn(old_address, old_size, new_size, flags, new_address);
    if (moved != MAP_FAILED)
        report_alloc(hook, moved, new_size);
    else if (told)
        report_alloc(hook, old_address, old_size);
    in_hook = 0;
    return moved;
}
