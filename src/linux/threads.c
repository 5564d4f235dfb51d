/* threads.c: the Linux side of threads.h: /proc/PID/task/TID/stat, whose
 * third field is the scheduler state. Files stay open (a pread at offset 0
 * regenerates them), so a cpu-mode sample does not pay open and close for
 * every thread. */
#define _GNU_SOURCE
#include "plumb.h"
#include "sampler/threads.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Threads come and go; a small table of open files, found by tid. */
#define MAX_OPEN_THREADS 256

struct plumb__threads {
    int pid;
    int tid[MAX_OPEN_THREADS];
    int fd[MAX_OPEN_THREADS];
    size_t n;
    size_t next_evict;
};

int plumb__threads_new(int pid, plumb__threads_t **out)
{
    plumb__threads_t *t = calloc(1, sizeof *t);
    if (!t)
        return PLUMB_ENOMEM;
    t->pid = pid;
    *out = t;
    return 0;
}

void plumb__threads_free(plumb__threads_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        close(t->fd[i]);
    free(t);
}

static int open_thread(plumb__threads_t *t, int tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", t->pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PLUMB_ENOTFOUND;
    size_t slot = t->n;
    if (t->n == MAX_OPEN_THREADS) {
        /* a long-lived pool of more threads than slots: reuse in turn */
        slot = t->next_evict++ % MAX_OPEN_THREADS;
        close(t->fd[slot]);
    } else {
        t->n++;
    }
    t->tid[slot] = tid;
    t->fd[slot] = fd;
    return (int)slot;
}

static void forget(plumb__threads_t *t, size_t slot)
{
    close(t->fd[slot]);
    t->n--;
    t->tid[slot] = t->tid[t->n];
    t->fd[slot] = t->fd[t->n];
}

int plumb__threads_on_cpu(plumb__threads_t *t, int tid)
{
    int slot = -1;
    for (size_t i = 0; i < t->n; i++)
        if (t->tid[i] == tid) {
            slot = (int)i;
            break;
        }
    if (slot < 0 && (slot = open_thread(t, tid)) < 0)
        return slot;
    char buf[512];
    ssize_t got = pread(t->fd[slot], buf, sizeof buf - 1, 0);
    if (got <= 0) {
        forget(t, (size_t)slot);
        return PLUMB_ENOTFOUND;
    }
    buf[got] = '\0';
    /* "tid (comm) S ...": comm may hold spaces and parentheses, so the
     * state follows the last ')' */
    const char *close_paren = strrchr(buf, ')');
    if (!close_paren || close_paren[1] != ' ')
        return PLUMB_ENOTFOUND;
    return close_paren[2] == 'R';
}
