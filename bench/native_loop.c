/* native_loop.c: the timed loop of bench/native_overhead.py. It calls
 * malloc(SIZE) and free() PAIRS times, REPEAT times over, and prints the
 * best time per pair in nanoseconds, in the thread's CPU time (on a shared
 * machine other processes only ever add to a loop's time, and CPU time
 * leaves out the time it waits for a CPU). MODE "bare" sets no hooks (run
 * it with and without the shim preloaded); "hooks" sets trivial ones, found
 * with dlsym as a recorder finds them (the shim must be preloaded).
 * Built with -fno-builtin, so that the pair is not elided.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plumb_native.h"

#define REPEAT 15

static unsigned long allocs, frees;

static void count_alloc(void *ptr, size_t size)
{
    (void)ptr;
    (void)size;
    allocs++;
}

static void count_free(void *ptr)
{
    (void)ptr;
    frees++;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double time_pairs(long pairs, size_t size)
{
    double start = now_ns();
    for (long i = 0; i < pairs; i++) {
        void *p = malloc(size);
        __asm__ volatile("" : : "r"(p) : "memory");
        free(p);
    }
    return (now_ns() - start) / (double)pairs;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "bare") && strcmp(argv[1], "hooks"))) {
        fprintf(stderr, "usage: native-loop bare|hooks PAIRS SIZE\n");
        return 2;
    }
    long pairs = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    if (pairs <= 0) {
        fprintf(stderr, "native-loop: PAIRS must be a positive number, "
                        "not '%s'\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "hooks") == 0) {
        plumb_native_set_hooks_fn set_hooks = (plumb_native_set_hooks_fn)dlsym(
            RTLD_DEFAULT, PLUMB_NATIVE_SET_HOOKS_SYMBOL);
        if (!set_hooks) {
            fprintf(stderr, "native-loop: hooks need the shim: run with "
                            "LD_PRELOAD=build/libplumb-native.so\n");
            return 2;
        }
        set_hooks(count_alloc, count_free);
    }
    time_pairs(pairs / 10 + 1, size); /* warm-up */
    double best = time_pairs(pairs, size);
    for (int r = 1; r < REPEAT; r++) {
        double ns = time_pairs(pairs, size);
        if (ns < best)
            best = ns;
    }
    unsigned long timed = (unsigned long)pairs * REPEAT;
    if (strcmp(argv[1], "hooks") == 0 && (allocs < timed || frees < timed)) {
        fprintf(stderr, "native-loop: the hooks saw %lu allocations and "
                        "%lu frees of %lu pairs\n", allocs, frees, timed);
        return 1;
    }
    printf("%.3f\n", best);
    return 0;
}
