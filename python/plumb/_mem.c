/* _mem.c: the memory recorder behind plumb.memory() and `plumb mem`. It
 * puts hooks in front of CPython's three allocator domains (raw, mem and
 * object) and, when asked, behind the native shim's malloc & co.; samples
 * allocations by bytes (src/heap.c: unbiased estimates of what is alive,
 * at the peak and at the end, per allocation site); names each sampled
 * allocation's site by its Python stack (_memstack.c); and keeps a
 * timeline of the estimated heap and the process's RSS on a thread of its
 * own, which also writes the whole record to a file now and then when
 * `plumb mem` asked for one (so a program that dies still leaves a
 * report).
 *
 * Cost on the fast path, which every allocation of the program takes: the
 * mem and object domains run under the GIL, so their counting and their
 * byte countdown are plain (GIL-guarded) integers; the raw domain and
 * native allocations may run on any thread, so theirs are atomic counters
 * and a countdown per thread. A free looks at a small counting filter of
 * the sampled addresses and takes the lock only when the address may be
 * one. Only a sampled allocation (one per mean_bytes allocated, on
 * average) takes the lock and reads the stack.
 *
 * One recording at a time per process. Not for free-threaded builds (the
 * GIL is what serialises the fast path).
 */
#include "_core.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "plumb.h"
/* the native shim's interface, looked up at run time (dlsym) so that the
 * extension works without the shim */
#include "plumb_native.h"

#define MAX_DEPTH 128
/* The counting filter of sampled addresses: 2^20 one-byte counters (1 MiB,
 * touched only where the heap lies). A free whose counter is 0 was not
 * sampled; with 15 000 sampled blocks alive (bench/mem_overhead.py's
 * 242 MB peak at the default mean) 1.4% of frees look further, against
 * 5.7% with 2^18 counters, whose lookups perf put at 1.4% of the run. */
#define FILTER_BITS 20
#define FILTER_SATURATED 255
/* The timeline's first step; plumb_mem_add_point widens it as it fills. */
#define TICK_NS INT64_C(10000000)

#define HOT __attribute__((tls_model("initial-exec")))


/* One allocation site: a stack, and whether the allocation was native. */
typedef struct {
    uint64_t hash;
    size_t first;          /* its frames: pool[first .. first + n) */
    uint16_t n;
    uint8_t truncated, native;
    plumb_frame_t *named;  /* names and lines, looked up on first report */
} site_t;

static struct {
    int on;                      /* started and not yet fully stopped */
    int stopping;                /* mem_stop is waiting for the ticker */
    int pid;
    uint64_t mean_bytes, seed;
    int native;
    plumb_heap_t *heap;          /* under lock */
    atomic_flag lock;
    PyMemAllocatorEx orig[3];    /* raw, mem, object */
    plumb_native_set_hooks_fn native_set;

    /* the mem and object domains: under the GIL */
    plumb_heap_sampler_t gil_sampler;
    uint64_t gil_bytes, gil_allocs;
    size_t fast_max;             /* gil_malloc's fast half takes requests
                                    of 1 to fast_max bytes */
    /* the raw domain and native allocations: any thread */
    _Atomic uint64_t other_bytes, other_allocs;
    _Atomic uint64_t tls_seeds;
    _Atomic uint64_t generation; /* of the recording: a thread's sampler
                                    from an earlier one is drawn again */

    /* sites, under lock */
    site_t *sites;
    size_t n_sites, cap_sites;
    uint32_t *index;             /* site id + 1; 0: empty slot */
    size_t index_cap;
    plumb_py_mem_frame_t *pool;
    size_t pool_used, pool_cap;
    int out_of_memory;           /* a sample was lost to ENOMEM */

    /* the figures the ticker reads without the lock */
    _Atomic uint64_t live_bytes;
    uint64_t peak_bytes;         /* under lock */
    int64_t peak_ns;             /* under lock */
    int64_t t0;

    /* the ticker thread and the timeline it keeps */
    pthread_t ticker;
    int ticker_on;
    pthread_mutex_t mu;          /* guards timeline, stop */
    pthread_cond_t cv;           /* on CLOCK_MONOTONIC, made once */
    int stop;
    plumb_mem_t *timeline;       /* only its timeline is used */
    int statm;                   /* /proc/self/statm, or -1 */
    uint64_t start_rss;
    char *out_path;              /* periodic snapshots go there; NULL none */
    int64_t snapshot_ns;
    char python[32];
    char command[1024];
} R = {.lock = ATOMIC_FLAG_INIT,
       .mu = PTHREAD_MUTEX_INITIALIZER,
       .statm = -1};

/* Set while a hook works or calls the allocator underneath: allocations
 * made meanwhile (pymalloc asking the raw domain for an arena, the
 * recorder's own tables) are the recorder's or already counted. */
static _Thread_local int in_hook HOT;
/* The byte countdown of this thread for the raw domain and native
 * allocations. */
static _Thread_local plumb_heap_sampler_t tls_sampler HOT;
static _Thread_local uint64_t tls_generation HOT;

/* The counting filter, outside R: a hook that has not yet seen the
 * recording stop may still read it. */
static _Atomic uint8_t filter[(size_t)1 << FILTER_BITS];
static int filter_used; /* by an earlier recording; under the GIL */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lock(void)
{
    unsigned spins = 0;
    while (atomic_flag_test_and_set_explicit(&R.lock, memory_order_acquire))
        if (++spins % 64 == 0)
            sched_yield();
}

static void unlock(void)
{
    atomic_flag_clear_explicit(&R.lock, memory_order_release);
}

/* The counter of ptr's 16-byte granule, modulo a 16 MiB window: blocks
 * allocated together lie together, so the frees of a program's objects
 * walk the filter in order and find it in the cache (a hash of the
 * address sent each free to a random line: 85% of the free hook's time,
 * on a loop of small dicts). */
static size_t filter_slot(const void *ptr)
{
    return (size_t)(((uintptr_t)ptr >> 4) & (((uintptr_t)1 << FILTER_BITS) -
                                            1));
}

/* ---- sites ----------------------------------------------------------- */

static uint64_t stack_hash(const plumb_py_mem_frame_t *f, size_t n,
                           int truncated, int native)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)n ^
                 ((uint64_t)truncated << 40) ^ ((uint64_t)native << 41);
    for (size_t i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)f[i].code + (uint64_t)f[i].offset;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    return h;
}

static int same_stack(const site_t *s, const plumb_py_mem_frame_t *f,
                      size_t n, int truncated, int native)
{
    if (s->n != n || s->truncated != truncated || s->native != native)
        return 0;
    const plumb_py_mem_frame_t *g = R.pool + s->first;
    for (size_t i = 0; i < n; i++)
        if (g[i].code != f[i].code || g[i].offset != f[i].offset)
            return 0;
    return 1;
}

static int grow_index(void)
{
    size_t cap = R.index_cap ? R.index_cap * 2 : 1024;
    uint32_t *fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return -1;
    for (size_t id = 0; id < R.n_sites; id++) {
        size_t i = (size_t)R.sites[id].hash & (cap - 1);
        while (fresh[i])
            i = (i + 1) & (cap - 1);
        fresh[i] = (uint32_t)id + 1;
    }
    free(R.index);
    R.index = fresh;
    R.index_cap = cap;
    return 0;
}

/* The site of this stack, made on first sight (its code objects are then
 * kept alive, so their addresses keep naming them). UINT32_MAX when out
 * of memory. Under lock; the GIL is held when n > 0. */
static uint32_t site_of(const plumb_py_mem_frame_t *f, size_t n,
                        int truncated, int native)
{
    uint64_t h = stack_hash(f, n, truncated, native);
    if (2 * (R.n_sites + 1) > R.index_cap && grow_index() < 0)
        return UINT32_MAX;
    size_t i = (size_t)h & (R.index_cap - 1);
    for (; R.index[i]; i = (i + 1) & (R.index_cap - 1)) {
        site_t *s = &R.sites[R.index[i] - 1];
        if (s->hash == h && same_stack(s, f, n, truncated, native))
            return R.index[i] - 1;
    }
    if (R.n_sites >= UINT32_MAX - 1)
        return UINT32_MAX;
    if (R.n_sites == R.cap_sites) {
        size_t cap = R.cap_sites ? 2 * R.cap_sites : 256;
        site_t *s = realloc(R.sites, cap * sizeof *s);
        if (!s)
            return UINT32_MAX;
        R.sites = s;
        R.cap_sites = cap;
    }
    if (R.pool_used + n > R.pool_cap) {
        size_t cap = R.pool_cap ? 2 * R.pool_cap : 4096;
        while (cap < R.pool_used + n)
            cap *= 2;
        plumb_py_mem_frame_t *p = realloc(R.pool, cap * sizeof *p);
        if (!p)
            return UINT32_MAX;
        R.pool = p;
        R.pool_cap = cap;
    }
    memcpy(R.pool + R.pool_used, f, n * sizeof *f);
    for (size_t k = 0; k < n; k++)
        Py_INCREF(f[k].code);
    R.sites[R.n_sites] = (site_t){h, R.pool_used, (uint16_t)n,
                                  (uint8_t)truncated, (uint8_t)native, NULL};
    R.pool_used += n;
    R.index[i] = (uint32_t)R.n_sites + 1;
    return (uint32_t)R.n_sites++;
}

/* ---- recording --------------------------------------------------------- */

/* A sampled allocation: its stack read (when this thread holds the GIL),
 * its site found, the heap told. */
static void sampled(void *ptr, uint64_t weight, int has_gil, int native)
{
    plumb_py_mem_frame_t frames[MAX_DEPTH];
    int truncated = 0;
    size_t n = has_gil ? plumb_py_mem_stack(frames, MAX_DEPTH, &truncated)
                       : 0;
    lock();
    if (!R.heap) { /* stopped meanwhile */
        unlock();
        return;
    }
    uint32_t site = site_of(frames, n, truncated, native);
    if (site == UINT32_MAX ||
        plumb_heap_alloc(R.heap, (uintptr_t)ptr, weight, site) != 0) {
        R.out_of_memory = 1;
        unlock();
        return;
    }
    _Atomic uint8_t *c = &filter[filter_slot(ptr)];
    uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
    if (v < FILTER_SATURATED)
        atomic_store_explicit(c, (uint8_t)(v + 1), memory_order_relaxed);
    plumb_heap_totals_t t;
    plumb_heap_totals(R.heap, &t);
    atomic_store_explicit(&R.live_bytes, t.live_bytes, memory_order_relaxed);
    if (t.peak_bytes > R.peak_bytes) {
        R.peak_bytes = t.peak_bytes;
        R.peak_ns = now_ns() - R.t0;
    }
    unlock();
}

/* Under the GIL: the mem and object domains. The countdown is
 * plumb_heap_sampler_take's, inline; a sampled allocation goes out of
 * line. */
/* The recorder's own work under the GIL sets in_hook, and shuts the fast
 * half of gil_malloc (which does not look at in_hook) by setting
 * fast_max to 0 until done: only the thread that holds the GIL reads
 * fast_max. */
typedef struct {
    int in_hook;
    size_t fast_max;
} busy_t;

static busy_t busy_begin(void)
{
    busy_t was = {in_hook, R.fast_max};
    in_hook = 1;
    R.fast_max = 0;
    return was;
}

static void busy_end(busy_t was)
{
    in_hook = was.in_hook;
    R.fast_max = was.fast_max;
}

static __attribute__((noinline)) void gil_sample(void *ptr, uint64_t weight)
{
    busy_t was = busy_begin();
    sampled(ptr, weight, 1, 0);
    busy_end(was);
}

static inline void count_gil(void *ptr, size_t size)
{
    R.gil_bytes += size;
    R.gil_allocs++;
    uint64_t w = plumb_heap_sampler_take(&R.gil_sampler, size);
    if (w)
        gil_sample(ptr, w);
}

/* pymalloc serves requests up to 512 bytes itself and hands larger ones
 * to the raw domain, whose hook must then not count them again; below
 * this (448, leaving room for the debug hooks' padding) the allocator
 * underneath never calls back into a hooked domain, so the mem and object
 * hooks skip the in_hook flag unless native allocations are recorded too
 * (pymalloc's arenas are then reported by the shim). */
#define NESTS_ABOVE 448

/* Any thread: the raw domain and native allocations. in_hook is set. */
static void count_other(void *ptr, size_t size, int native)
{
    atomic_fetch_add_explicit(&R.other_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&R.other_allocs, 1, memory_order_relaxed);
    uint64_t gen = atomic_load_explicit(&R.generation, memory_order_relaxed);
    if (tls_generation != gen) {
        uint64_t k = atomic_fetch_add(&R.tls_seeds, 1) + 1;
        plumb_heap_sampler_init(&tls_sampler, R.mean_bytes,
                                R.seed ^ (k * UINT64_C(0x9e3779b97f4a7c15)));
        tls_generation = gen;
    }
    uint64_t w = plumb_heap_sampler_take(&tls_sampler, size);
    if (w)
        sampled(ptr, w, PyGILState_Check(), native);
}

/* The slow half of a free: ptr's filter counter is not 0, so it may be a
 * sampled allocation. */
static __attribute__((noinline)) void forget_slow(void *ptr)
{
    _Atomic uint8_t *c = &filter[filter_slot(ptr)];
    lock();
    if (R.heap && plumb_heap_release(R.heap, (uintptr_t)ptr)) {
        uint8_t v = atomic_load_explicit(c, memory_order_relaxed);
        if (v < FILTER_SATURATED)
            atomic_store_explicit(c, (uint8_t)(v - 1), memory_order_relaxed);
        plumb_heap_totals_t t;
        plumb_heap_totals(R.heap, &t);
        atomic_store_explicit(&R.live_bytes, t.live_bytes,
                              memory_order_relaxed);
    }
    unlock();
}

static inline void forget(void *ptr)
{
    if (atomic_load_explicit(&filter[filter_slot(ptr)],
                             memory_order_relaxed) != 0)
        forget_slow(ptr);
}

/* The hooks. ctx is the domain's original allocator. */

/* gil_malloc's slow half: a request the allocator underneath may pass to
 * a hooked domain, one taking the sampler's countdown to its end, or one
 * made under a hook. */
static __attribute__((noinline)) void *gil_malloc_slow(PyMemAllocatorEx *a,
                                                       size_t size)
{
    if (in_hook)
        return a->malloc(a->ctx, size);
    /* pymalloc hands a request of 0 bytes to the raw domain too */
    int nests = size > NESTS_ABOVE || size == 0 || R.native;
    if (nests)
        in_hook = 1;
    void *p = a->malloc(a->ctx, size);
    if (p)
        count_gil(p, size);
    if (nests)
        in_hook = 0;
    return p;
}

/* The fast half, most of a program's allocations: a small request that
 * is not sampled is counted before it is made (a failed one, which raises
 * MemoryError, is counted too) and handed on as a tail call, so the hook
 * keeps no frame of its own: 18 instructions where the one-piece hook
 * took 41. fast_max is 0 while the recorder works under the GIL
 * (busy_begin), so in_hook need not be read here. */
static void *gil_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (size - 1 < R.fast_max && R.gil_sampler.countdown > (int64_t)size) {
        R.gil_sampler.countdown -= (int64_t)size;
        R.gil_bytes += size;
        R.gil_allocs++;
        return a->malloc(a->ctx, size);
    }
    return gil_malloc_slow(a, size);
}

static void *gil_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *a = ctx;
    if (in_hook)
        return a->calloc(a->ctx, nelem, elsize);
    size_t size = nelem * elsize;
    int nests = size > NESTS_ABOVE || R.native ||
                (elsize && size / elsize != nelem);
    if (nests)
        in_hook = 1;
    void *p = a->calloc(a->ctx, nelem, elsize);
    if (p)
        count_gil(p, size);
    if (nests)
        in_hook = 0;
    return p;
}

static void *gil_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (in_hook)
        return a->realloc(a->ctx, ptr, size);
    in_hook = 1;
    if (ptr)
        forget(ptr);
    void *p = a->realloc(a->ctx, ptr, size);
    if (p)
        count_gil(p, size);
    in_hook = 0;
    return p;
}

/* gil_free's slow half: ptr may have been sampled. */
static __attribute__((noinline)) void gil_free_sampled(PyMemAllocatorEx *a,
                                                       void *ptr)
{
    forget_slow(ptr);
    a->free(a->ctx, ptr);
}

/* A free looks at the filter only, and hands on as a tail call. */
static void gil_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *a = ctx;
    if (ptr && atomic_load_explicit(&filter[filter_slot(ptr)],
                                    memory_order_relaxed) != 0 && !in_hook)
        gil_free_sampled(a, ptr);
    else
        a->free(a->ctx, ptr);
}

static void *raw_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (in_hook)
        return a->malloc(a->ctx, size);
    in_hook = 1;
    void *p = a->malloc(a->ctx, size);
    if (p)
        count_other(p, size, 0);
    in_hook = 0;
    return p;
}

static void *raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *a = ctx;
    if (in_hook)
        return a->calloc(a->ctx, nelem, elsize);
    in_hook = 1;
    void *p = a->calloc(a->ctx, nelem, elsize);
    if (p)
        count_other(p, nelem * elsize, 0);
    in_hook = 0;
    return p;
}

static void *raw_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    if (in_hook)
        return a->realloc(a->ctx, ptr, size);
    in_hook = 1;
    if (ptr)
        forget(ptr);
    void *p = a->realloc(a->ctx, ptr, size);
    if (p)
        count_other(p, size, 0);
    in_hook = 0;
    return p;
}

/* The native shim's hooks: malloc & co. from C code. An allocation made
 * under one of the hooks above is the Python allocator's own (counted
 * there) and is skipped here. */
static void native_alloc(void *ptr, size_t size)
{
    if (in_hook || !ptr)
        return;
    in_hook = 1;
    count_other(ptr, size, 1);
    in_hook = 0;
}

static void native_free(void *ptr)
{
    if (in_hook || !ptr)
        return;
    forget(ptr);
}

static void install(void)
{
    static const PyMemAllocatorDomain domains[3] = {
        PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
    for (int d = 0; d < 3; d++)
        PyMem_GetAllocator(domains[d], &R.orig[d]);
    for (int d = 0; d < 3; d++) {
        PyMemAllocatorEx hook = {&R.orig[d], gil_malloc, gil_calloc,
                                 gil_realloc, gil_free};
        if (d == 0) {
            hook.malloc = raw_malloc;
            hook.calloc = raw_calloc;
            hook.realloc = raw_realloc;
        }
        PyMem_SetAllocator(domains[d], &hook);
    }
    if (R.native_set)
        R.native_set(native_alloc, native_free);
}

/* Puts the original allocators back. What the hooks allocated is freed by
 * them later without a word: the hooks only ever forwarded to them. */
static void uninstall(void)
{
    static const PyMemAllocatorDomain domains[3] = {
        PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
    if (R.native_set)
        R.native_set(NULL, NULL);
    for (int d = 0; d < 3; d++)
        PyMem_SetAllocator(domains[d], &R.orig[d]);
}

/* ---- the timeline and snapshots ----------------------------------------- */

static uint64_t rss_now(void)
{
    char buf[128];
    if (R.statm < 0)
        return 0;
    ssize_t got = pread(R.statm, buf, sizeof buf - 1, 0);
    if (got <= 0)
        return 0;
    buf[got] = '\0';
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024;
}

/* Names the frames of every site not named yet. GIL held, under lock,
 * in_hook set. Returns -1 out of memory. */
static int name_sites(void)
{
    for (size_t id = 0; id < R.n_sites; id++) {
        site_t *s = &R.sites[id];
        if (s->named || s->n == 0)
            continue;
        plumb_frame_t *named = calloc(s->n, sizeof *named);
        if (!named)
            return -1;
        for (size_t k = 0; k < s->n; k++) {
            const plumb_py_mem_frame_t *f = &R.pool[s->first + k];
            const char *fn = PyUnicode_AsUTF8(plumb_py_mem_frame_name(f));
            const char *file = PyUnicode_AsUTF8(f->code->co_filename);
            PyErr_Clear();
            named[k].function = strdup(fn ? fn : "[unknown]");
            named[k].file = strdup(file ? file : "");
            named[k].line = plumb_py_mem_frame_line(f);
            if (!named[k].function || !named[k].file) {
                for (size_t j = 0; j <= k; j++) {
                    free((char *)named[j].function);
                    free((char *)named[j].file);
                }
                free(named);
                return -1;
            }
        }
        s->named = named;
    }
    return 0;
}

/* The record so far, in a new plumb_mem_t. GIL held. */
static int build(int complete, plumb_mem_t **out)
{
    plumb_mem_t *m = NULL;
    int err = plumb_mem_new(&m);
    if (err)
        return err;
    busy_t was = busy_begin();
    lock();
    plumb_heap_count(R.heap, R.gil_bytes, R.gil_allocs);
    R.gil_bytes = R.gil_allocs = 0;
    plumb_heap_count(R.heap,
                     atomic_exchange(&R.other_bytes, 0),
                     atomic_exchange(&R.other_allocs, 0));
    plumb_heap_totals_t t;
    plumb_heap_totals(R.heap, &t);
    if (name_sites() < 0)
        err = PLUMB_ENOMEM;
    for (size_t id = 0; id < R.n_sites && !err; id++) {
        const site_t *s = &R.sites[id];
        const plumb_heap_site_t *f = plumb_heap_site(R.heap, (uint32_t)id);
        const char *label = s->native ? "native heap" : "python heap";
        if (!f)
            continue;
        /* plumb_stack_add takes frames innermost first, as sites keep
         * them */
        if (f->peak_bytes)
            err = plumb_stack_add(m->peak, label, s->named, s->n,
                                  s->truncated, f->peak_bytes);
        if (!err && f->allocated_bytes)
            err = plumb_stack_add(m->allocated, label, s->named, s->n,
                                  s->truncated, f->allocated_bytes);
        if (!err && f->live_bytes)
            err = plumb_stack_add(m->end, label, s->named, s->n,
                                  s->truncated, f->live_bytes);
    }
    m->peak_ns = R.peak_ns;
    unlock();
    m->pid = R.pid;
    snprintf(m->python, sizeof m->python, "%s", R.python);
    snprintf(m->command, sizeof m->command, "%s", R.command);
    m->mean_bytes = R.mean_bytes;
    m->native = R.native;
    m->duration_ns = now_ns() - R.t0;
    m->allocated_bytes = t.allocated_bytes;
    m->allocations = t.allocations;
    m->samples = t.samples;
    m->peak_bytes = t.peak_bytes;
    m->end_bytes = t.live_bytes;
    m->start_rss_bytes = R.start_rss;
    m->peak_rss_bytes = peak_rss();
    m->complete = complete;
    m->exit_status = -1;
    m->exit_signal = 0;
    pthread_mutex_lock(&R.mu);
    if (!err && R.timeline->n_timeline) {
        size_t n = R.timeline->n_timeline;
        m->timeline = malloc(n * sizeof *m->timeline);
        if (!m->timeline)
            err = PLUMB_ENOMEM;
        else {
            memcpy(m->timeline, R.timeline->timeline,
                   n * sizeof *m->timeline);
            m->n_timeline = n;
            m->timeline_step_ns = R.timeline->timeline_step_ns;
        }
    }
    pthread_mutex_unlock(&R.mu);
    busy_end(was);
    if (err) {
        plumb_mem_free(m);
        return err;
    }
    *out = m;
    return 0;
}

/* Writes m's JSON to path through a temporary file and a rename, so a
 * reader never sees half a file. 0 or an errno. */
static int write_atomically(const char *path, const plumb_mem_t *m)
{
    char *json = NULL;
    if (plumb_report_mem_json(m, &json) != 0)
        return ENOMEM;
    size_t len = strlen(json);
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        free(json);
        return ENAMETOOLONG;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = fd < 0 ? errno : 0;
    for (size_t done = 0; !err && done < len;) {
        ssize_t w = write(fd, json + done, len - done);
        if (w < 0 && errno != EINTR)
            err = errno;
        else if (w > 0)
            done += (size_t)w;
    }
    if (fd >= 0 && close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    free(json);
    return err;
}

/* The ticker: a timeline point every step (the heap estimate and RSS),
 * and with an output path, a snapshot every snapshot_ns. It is not a
 * Python thread: it takes the GIL only to copy the record (about a
 * millisecond), and writes its JSON (several) without it. */
static void *ticker(void *arg)
{
    (void)arg;
    in_hook = 1; /* what this thread allocates is the recorder's */
    int64_t next_snapshot = R.snapshot_ns;
    pthread_mutex_lock(&R.mu);
    while (!R.stop) {
        int64_t step = R.timeline->timeline_step_ns > TICK_NS
                           ? R.timeline->timeline_step_ns
                           : TICK_NS;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + step;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!R.stop && pthread_cond_timedwait(&R.cv, &R.mu, &until) == 0)
            ;
        if (R.stop)
            break;
        int64_t t = now_ns() - R.t0;
        plumb_mem_add_point(R.timeline, t,
                            atomic_load_explicit(&R.live_bytes,
                                                 memory_order_relaxed),
                            rss_now());
        if (R.out_path && t >= next_snapshot) {
            pthread_mutex_unlock(&R.mu);
            PyGILState_STATE g = PyGILState_Ensure();
            plumb_mem_t *m = NULL;
            if (R.on && !R.stopping && build(0, &m) != 0)
                m = NULL;
            PyGILState_Release(g);
            if (m) {
                write_atomically(R.out_path, m);
                plumb_mem_free(m);
            }
            pthread_mutex_lock(&R.mu);
            next_snapshot = t + R.snapshot_ns;
        }
    }
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

/* ---- starting and stopping ---------------------------------------------- */

static void release_sites(void)
{
    for (size_t id = 0; id < R.n_sites; id++) {
        site_t *s = &R.sites[id];
        if (s->named)
            for (size_t k = 0; k < s->n; k++) {
                free((char *)s->named[k].function);
                free((char *)s->named[k].file);
            }
        free(s->named);
        for (size_t k = 0; k < s->n; k++)
            Py_DECREF(R.pool[s->first + k].code);
    }
    free(R.sites);
    free(R.index);
    free(R.pool);
    R.sites = NULL;
    R.index = NULL;
    R.pool = NULL;
    R.n_sites = R.cap_sites = R.index_cap = R.pool_used = R.pool_cap = 0;
}

/* After the hooks are gone. A hook that was already running (the raw
 * domain and native ones run without the GIL) finds no heap under the
 * lock and gives up. */
static void release_all(void)
{
    lock();
    plumb_heap_t *heap = R.heap;
    R.heap = NULL;
    release_sites();
    unlock();
    plumb_heap_free(heap);
    plumb_mem_free(R.timeline);
    R.timeline = NULL;
    if (R.statm >= 0)
        close(R.statm);
    R.statm = -1;
    free(R.out_path);
    R.out_path = NULL;
}

/* A fork's child is not recorded: the hooks go, the parent's record stays
 * behind in its memory untouched (it may have been copied mid-change). */
static void after_fork_child(void)
{
    if (!R.on)
        return;
    uninstall();
    R.on = 0;
    R.stopping = 0;
    R.ticker_on = 0;
    R.heap = NULL;
    R.timeline = NULL;
    R.out_path = NULL;
    R.sites = NULL;
    R.index = NULL;
    R.pool = NULL;
    R.n_sites = R.cap_sites = R.index_cap = R.pool_used = R.pool_cap = 0;
    R.statm = -1;
    atomic_flag_clear(&R.lock);
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    R.mu = fresh;
}

static PyObject *recording_error;

PyDoc_STRVAR(mem_start_doc,
"mem_start(mean_bytes, native=False, seed=0, out_path=None,\n"
"          snapshot_s=1.0, command='')\n\n"
"Starts recording this process's allocations: one sample per mean_bytes\n"
"allocated on average. native: also malloc & co. from C code (needs the\n"
"native shim preloaded). out_path: write the record there as JSON every\n"
"snapshot_s seconds and when stopped. One recording at a time.");

static PyObject *mem_start(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *names[] = {"mean_bytes", "native", "seed", "out_path",
                            "snapshot_s", "command", NULL};
    unsigned long long mean = 0, seed = 0;
    int native = 0;
    const char *out_path = NULL, *command = "";
    double snapshot_s = 1.0;
    (void)mod;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "K|pKzds", names, &mean,
                                     &native, &seed, &out_path, &snapshot_s,
                                     &command))
        return NULL;
#ifdef Py_GIL_DISABLED
    PyErr_SetString(recording_error,
                    "memory recording needs the GIL, and this is a "
                    "free-threaded build of Python: use a default build");
    return NULL;
#endif
    if (R.on) {
        PyErr_SetString(recording_error, "a memory recording is already "
                        "running in this process (plumb mem, or another "
                        "plumb.memory block); they cannot nest or overlap");
        return NULL;
    }
    if (mean == 0 || !(snapshot_s > 0)) {
        PyErr_SetString(PyExc_ValueError,
                        "mean_bytes and snapshot_s must be positive");
        return NULL;
    }
    plumb_native_set_hooks_fn set = NULL;
    if (native) {
        *(void **)&set = dlsym(RTLD_DEFAULT, PLUMB_NATIVE_SET_HOOKS_SYMBOL);
        if (!set) {
            PyErr_SetString(recording_error,
                            "native allocations can only be recorded with "
                            "plumb's native shim preloaded: run the program "
                            "under `plumb mem --native`, or set LD_PRELOAD "
                            "to libplumb-native.so");
            return NULL;
        }
    }
    static int once;
    if (!once) {
        pthread_condattr_t attr;
        if (pthread_condattr_init(&attr) != 0 ||
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&R.cv, &attr) != 0 ||
            pthread_atfork(NULL, NULL, after_fork_child) != 0)
            return PyErr_NoMemory();
        pthread_condattr_destroy(&attr);
        once = 1;
    }
    memset(&R.orig, 0, sizeof R.orig);
    R.mean_bytes = mean;
    R.seed = seed ? seed : (uint64_t)now_ns();
    R.native = native;
    /* with native allocations recorded, every request sets in_hook, so
     * that the shim does not count pymalloc's arenas again */
    R.fast_max = native ? 0 : NESTS_ABOVE;
    R.native_set = set;
    R.pid = (int)getpid();
    R.gil_bytes = R.gil_allocs = 0;
    atomic_store(&R.other_bytes, 0);
    atomic_store(&R.other_allocs, 0);
    atomic_store(&R.live_bytes, 0);
    R.peak_bytes = 0;
    R.peak_ns = 0;
    R.out_of_memory = 0;
    R.stop = 0;
    R.snapshot_ns = (int64_t)(snapshot_s * 1e9);
    snprintf(R.python, sizeof R.python, "CPython %d.%d.%d", PY_MAJOR_VERSION,
             PY_MINOR_VERSION, PY_MICRO_VERSION);
    snprintf(R.command, sizeof R.command, "%s", command);
    plumb_heap_sampler_init(&R.gil_sampler, mean, R.seed);
    /* zero until a recording has run (1 ms and 1 MiB of pages saved at
     * the start of plumb mem); then its sampled blocks still alive may
     * have left counts behind */
    if (filter_used)
        for (size_t i = 0; i < sizeof filter; i++)
            atomic_store_explicit(&filter[i], 0, memory_order_relaxed);
    filter_used = 1;
    R.out_path = out_path ? strdup(out_path) : NULL;
    int err = plumb_heap_new(mean, R.seed ^ 1, &R.heap);
    if (!err)
        err = plumb_mem_new(&R.timeline);
    if (err || (out_path && !R.out_path)) {
        release_all();
        return PyErr_NoMemory();
    }
    R.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    R.start_rss = rss_now();
    R.t0 = now_ns();
    plumb_mem_add_point(R.timeline, 0, 0, R.start_rss);
    /* every thread starts a new countdown: the previous recording's
     * samplers had another mean */
    atomic_store(&R.tls_seeds, 0);
    atomic_fetch_add(&R.generation, 1);
    install();
    R.on = 1;
    if (pthread_create(&R.ticker, NULL, ticker, NULL) != 0) {
        uninstall();
        R.on = 0;
        release_all();
        PyErr_SetString(recording_error, "cannot start the recorder's "
                        "timeline thread (too many threads?)");
        return NULL;
    }
    R.ticker_on = 1;
    Py_RETURN_NONE;
}

static int stop_ticker(void)
{
    if (!R.ticker_on)
        return 0;
    pthread_mutex_lock(&R.mu);
    R.stop = 1;
    pthread_cond_signal(&R.cv);
    pthread_mutex_unlock(&R.mu);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(R.ticker, NULL);
    Py_END_ALLOW_THREADS
    R.ticker_on = 0;
    return 0;
}

/* ---- MemData: a finished (or snapshot) record --------------------------- */

typedef struct {
    PyObject_HEAD
    plumb_mem_t *m; /* owned */
} memdata_object;

static PyTypeObject memdata_type;

static PyObject *memdata_new(plumb_mem_t *m)
{
    memdata_object *o = PyObject_New(memdata_object, &memdata_type);
    if (!o) {
        plumb_mem_free(m);
        return NULL;
    }
    o->m = m;
    return (PyObject *)o;
}

static void memdata_dealloc(memdata_object *self)
{
    plumb_mem_free(self->m);
    PyObject_Free(self);
}

static PyObject *take_text(int err, char *text)
{
    if (err || !text) {
        free(text);
        if (err && err != PLUMB_ENOMEM)
            return PyErr_Format(recording_error, "%s", plumb_strerror(err));
        return PyErr_NoMemory();
    }
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text),
                                       "replace");
    free(text);
    return s;
}

static plumb_stack_t *pick(memdata_object *self, const char *which)
{
    if (!strcmp(which, "peak"))
        return self->m->peak;
    if (!strcmp(which, "allocated"))
        return self->m->allocated;
    if (!strcmp(which, "end"))
        return self->m->end;
    PyErr_Format(PyExc_ValueError, "stacks must be 'peak', 'allocated' or "
                 "'end', got '%s'", which);
    return NULL;
}

PyDoc_STRVAR(md_summary_doc, "summary(top=10, color=False) -> str\n\n"
                             "The terminal summary `plumb mem` prints.");

static PyObject *md_summary(memdata_object *self, PyObject *args,
                            PyObject *kw)
{
    static char *names[] = {"top", "color", NULL};
    Py_ssize_t top = 10;
    int color = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|np", names, &top, &color))
        return NULL;
    if (top < 0)
        return PyErr_Format(PyExc_ValueError, "top must be >= 0");
    plumb_report_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.color = color;
    opts.python = 1;
    char *text = NULL;
    int err = plumb_report_mem(self->m, &opts, (size_t)top, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(md_json_doc, "json() -> str\n\nThe record as JSON "
                          "(docs/json.md, \"Memory profiles\").");

static PyObject *md_json(memdata_object *self, PyObject *unused)
{
    (void)unused;
    char *text = NULL;
    int err = plumb_report_mem_json(self->m, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(md_collapsed_doc,
"collapsed(stacks='peak') -> str\n\nOne aggregate ('peak', 'allocated' or "
"'end') as collapsed stacks\n(FlameGraph), counted in bytes.");

static PyObject *md_collapsed(memdata_object *self, PyObject *args,
                              PyObject *kw)
{
    static char *names[] = {"stacks", NULL};
    const char *which = "peak";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|s", names, &which))
        return NULL;
    plumb_stack_t *st = pick(self, which);
    if (!st)
        return NULL;
    char *text = NULL;
    int err = plumb_stack_collapsed(st, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(md_speedscope_doc,
"speedscope(stacks='peak', name=None) -> str\n\nOne aggregate as a "
"speedscope file, weighted in bytes.");

static PyObject *md_speedscope(memdata_object *self, PyObject *args,
                               PyObject *kw)
{
    static char *names[] = {"stacks", "name", NULL};
    const char *which = "peak", *name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|sz", names, &which, &name))
        return NULL;
    plumb_stack_t *st = pick(self, which);
    if (!st)
        return NULL;
    char *text = NULL;
    int err = plumb_stack_speedscope_unit(st, name, "bytes", &text);
    return take_text(err, text);
}

PyDoc_STRVAR(md_top_doc,
"top(stacks='peak', by='line') -> list of (function, file, line, self,\n"
"total)\n\nThe lines (by='line') or functions (by='function', line 0) of "
"one\naggregate, most bytes first: self where they are innermost, total\n"
"anywhere on the stack.");

static PyObject *md_top(memdata_object *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"stacks", "by", NULL};
    const char *which = "peak", *by = "line";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ss", names, &which, &by))
        return NULL;
    plumb_stack_t *st = pick(self, which);
    if (!st)
        return NULL;
    int by_line = !strcmp(by, "line");
    if (!by_line && strcmp(by, "function"))
        return PyErr_Format(PyExc_ValueError, "by must be 'line' or "
                            "'function', got '%s'", by);
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    int err = plumb_stack_top(st, by_line, &e, &n);
    if (err)
        return PyErr_NoMemory();
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *row = Py_BuildValue("(ssiKK)", e[i].function, e[i].file,
                                      e[i].line,
                                      (unsigned long long)e[i].self,
                                      (unsigned long long)e[i].total);
        if (!row)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    free(e);
    return list;
}

PyDoc_STRVAR(md_timeline_doc,
"timeline() -> list of (t_s, heap_bytes, rss_bytes)");

static PyObject *md_timeline(memdata_object *self, PyObject *unused)
{
    (void)unused;
    const plumb_mem_t *m = self->m;
    PyObject *list = PyList_New((Py_ssize_t)m->n_timeline);
    for (size_t i = 0; list && i < m->n_timeline; i++) {
        const plumb_mem_point_t *p = &m->timeline[i];
        PyObject *row = Py_BuildValue("(dKK)", (double)p->t_ns / 1e9,
                                      (unsigned long long)p->heap_bytes,
                                      (unsigned long long)p->rss_bytes);
        if (!row)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    return list;
}

static PyMethodDef memdata_methods[] = {
    {"summary", (PyCFunction)(void (*)(void))md_summary,
     METH_VARARGS | METH_KEYWORDS, md_summary_doc},
    {"json", (PyCFunction)md_json, METH_NOARGS, md_json_doc},
    {"collapsed", (PyCFunction)(void (*)(void))md_collapsed,
     METH_VARARGS | METH_KEYWORDS, md_collapsed_doc},
    {"speedscope", (PyCFunction)(void (*)(void))md_speedscope,
     METH_VARARGS | METH_KEYWORDS, md_speedscope_doc},
    {"top", (PyCFunction)(void (*)(void))md_top,
     METH_VARARGS | METH_KEYWORDS, md_top_doc},
    {"timeline", (PyCFunction)md_timeline, METH_NOARGS, md_timeline_doc},
    {NULL, NULL, 0, NULL}};

static PyObject *md_figures(memdata_object *self, void *unused)
{
    (void)unused;
    const plumb_mem_t *m = self->m;
    return Py_BuildValue(
        "{s:K,s:i,s:L,s:K,s:K,s:K,s:K,s:L,s:K,s:K,s:K,s:O,s:s,s:i}",
        "mean_bytes", (unsigned long long)m->mean_bytes, "native", m->native,
        "duration_ns", (long long)m->duration_ns, "allocated_bytes",
        (unsigned long long)m->allocated_bytes, "allocations",
        (unsigned long long)m->allocations, "samples",
        (unsigned long long)m->samples, "peak_bytes",
        (unsigned long long)m->peak_bytes, "peak_ns",
        (long long)m->peak_ns, "end_bytes", (unsigned long long)m->end_bytes,
        "start_rss_bytes", (unsigned long long)m->start_rss_bytes,
        "peak_rss_bytes", (unsigned long long)m->peak_rss_bytes, "complete",
        m->complete ? Py_True : Py_False, "python", m->python, "pid",
        m->pid);
}

static PyGetSetDef memdata_getset[] = {
    {"figures", (getter)md_figures, NULL,
     "the header's figures, as a dict", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject memdata_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "plumb._core.MemData",
    .tp_basicsize = sizeof(memdata_object),
    .tp_dealloc = (destructor)memdata_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A memory record: plumb.memory()'s, or plumb mem's.",
    .tp_methods = memdata_methods,
    .tp_getset = memdata_getset,
};

PyDoc_STRVAR(mem_stop_doc,
"mem_stop() -> MemData\n\nStops the recording and returns it (writing it "
"to out_path first,\nwhen one was given; a failed write raises "
"RecordingError after\nthe recording has stopped).");

static PyObject *mem_stop(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    if (!R.on || R.stopping) {
        PyErr_SetString(recording_error, "no memory recording is running");
        return NULL;
    }
    R.stopping = 1; /* the GIL is let go while the ticker is joined */
    stop_ticker();
    int64_t t = now_ns() - R.t0;
    pthread_mutex_lock(&R.mu);
    plumb_mem_add_point(R.timeline, t,
                        atomic_load(&R.live_bytes), rss_now());
    pthread_mutex_unlock(&R.mu);
    uninstall();
    plumb_mem_t *m = NULL;
    int err = build(1, &m);
    int werr = 0;
    if (!err && R.out_path)
        werr = write_atomically(R.out_path, m);
    char path[4096];
    snprintf(path, sizeof path, "%s", R.out_path ? R.out_path : "");
    int lost = R.out_of_memory;
    release_all();
    R.on = 0;
    R.stopping = 0;
    if (err)
        return PyErr_NoMemory();
    if (werr) {
        plumb_mem_free(m);
        errno = werr;
        return PyErr_Format(recording_error, "cannot write the memory "
                            "record to %s: %s", path, strerror(werr));
    }
    if (lost)
        PyErr_WarnEx(PyExc_RuntimeWarning, "plumb: memory ran out while "
                     "recording: some samples were lost, so the estimates "
                     "are low", 1);
    return memdata_new(m);
}

PyDoc_STRVAR(mem_snapshot_doc,
"mem_snapshot() -> MemData\n\nThe running recording so far, without "
"stopping it.");

static PyObject *mem_snapshot(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    if (!R.on || R.stopping) {
        PyErr_SetString(recording_error, "no memory recording is running");
        return NULL;
    }
    plumb_mem_t *m = NULL;
    if (build(0, &m) != 0)
        return PyErr_NoMemory();
    return memdata_new(m);
}

PyDoc_STRVAR(mem_recording_doc,
"mem_recording() -> bool\n\nWhether a memory recording is running.");

static PyObject *mem_recording(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyBool_FromLong(R.on && !R.stopping);
}

PyDoc_STRVAR(mem_from_json_doc,
"mem_from_json(text) -> MemData\n\nReads back a record written as JSON.");

static PyObject *mem_from_json(PyObject *mod, PyObject *arg)
{
    (void)mod;
    const char *text = PyUnicode_AsUTF8(arg);
    if (!text)
        return NULL;
    plumb_mem_t *m = NULL;
    char why[256] = "";
    int err = plumb_mem_from_json(text, &m, why, sizeof why);
    if (err == PLUMB_ENOMEM)
        return PyErr_NoMemory();
    if (err)
        return PyErr_Format(PyExc_ValueError, "not a plumb memory record: "
                            "%s", why[0] ? why : plumb_strerror(err));
    return memdata_new(m);
}

static PyMethodDef mem_functions[] = {
    {"mem_start", (PyCFunction)(void (*)(void))mem_start,
     METH_VARARGS | METH_KEYWORDS, mem_start_doc},
    {"mem_stop", mem_stop, METH_NOARGS, mem_stop_doc},
    {"mem_snapshot", mem_snapshot, METH_NOARGS, mem_snapshot_doc},
    {"mem_recording", mem_recording, METH_NOARGS, mem_recording_doc},
    {"mem_from_json", mem_from_json, METH_O, mem_from_json_doc},
    {NULL, NULL, 0, NULL}};

int plumb_py_add_mem(PyObject *m)
{
    if (PyType_Ready(&memdata_type) < 0 ||
        PyModule_AddType(m, &memdata_type) < 0)
        return -1;
    recording_error = PyErr_NewException("plumb._core.RecordingError",
                                         PyExc_RuntimeError, NULL);
    if (!recording_error ||
        PyModule_AddObjectRef(m, "RecordingError", recording_error) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "MEM_DEFAULT_MEAN_BYTES",
                                PLUMB_MEM_DEFAULT_MEAN_BYTES) < 0)
        return -1;
    return PyModule_AddFunctions(m, mem_functions);
}
