/* threads.h: whether a target's threads are on a CPU, from the kernel's
 * per-thread state, for cpu-mode profiling. Keeps each thread's stat file
 * open so a sample costs one pread per thread. Internal to libplumb. */
#ifndef PLUMB_SAMPLER_THREADS_H
#define PLUMB_SAMPLER_THREADS_H

typedef struct plumb__threads plumb__threads_t;

int plumb__threads_new(int pid, plumb__threads_t **out);
void plumb__threads_free(plumb__threads_t *t);
/* 1 when thread tid is running or runnable (state R), 0 when it sleeps or
 * waits, PLUMB_ENOTFOUND when it is gone. */
int plumb__threads_on_cpu(plumb__threads_t *t, int tid);

#endif
