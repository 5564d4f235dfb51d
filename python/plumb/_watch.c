/* _watch.c: the watchdog behind @plumb.timed(profile_slower_than=...). A
 * watched call claims a slot holding its thread and its deadline (start +
 * threshold); one native thread sleeps until the earliest deadline, and
 * when a call is still running past it, starts libplumb's sampler on that
 * thread alone (wall mode, so that waiting shows as much as computing)
 * until the call ends. A call that ends in time costs a lock, a slot and
 * now and then a wake-up of the watchdog; only slow calls are sampled.
 * The profile is of the part of the call past its deadline. What is done
 * with the profiles (adding them up per name) is the timer's (_timer.c).
 *
 * The slots are shared between Python threads (GIL held) and the watchdog
 * (no GIL), under one mutex, never held while a sampler starts or stops.
 * After fork() the child has no watchdog thread: an atfork handler empties
 * the table (the parent's samplers are not the child's to stop) and the
 * next watched call starts a new watchdog.
 */
#define _GNU_SOURCE
#include "_core.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Watched calls in flight at once; more run timed but unwatched. */
#define WATCH_SLOTS 64
/* Slow calls sampled at once; a slow call past that many is counted, not
 * profiled. */
#define WATCH_SAMPLERS 4

typedef enum {
    SLOT_FREE,
    SLOT_WAITING,    /* before its deadline */
    SLOT_STARTING,   /* the watchdog is starting its sampler */
    SLOT_PROFILING,  /* sampled until the call ends */
    SLOT_UNPROFILED, /* past its deadline, but not sampled (no sampler
                        free, or this process cannot be sampled) */
    SLOT_ABANDONED   /* the call ended while its sampler was starting */
} slot_state_t;

typedef struct {
    slot_state_t state;
    unsigned long thread_id; /* PyThread_get_thread_ident */
    int64_t deadline_ns;
    plumb_profiler_t *sampler;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static slot_t slots[WATCH_SLOTS];
static int samplers;              /* slots STARTING or PROFILING */
static int64_t next_wake_ns = INT64_MAX;
static pid_t watchdog_pid;        /* the process whose watchdog runs */
static int fork_handlers;

static void before_fork(void)
{
    pthread_mutex_lock(&lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

/* The child's copy: one thread, no watchdog, no sampler of its own. */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    memset(slots, 0, sizeof slots);
    samplers = 0;
    next_wake_ns = INT64_MAX;
    watchdog_pid = 0;
}

/* Starts the sampler of slot i (STARTING, lock held on entry and exit). */
static void start_sampler(int i)
{
    plumb_profile_opts_t o;
    plumb_profiler_t *sampler = NULL;

    plumb_profile_opts_init(&o);
    o.mode = PLUMB_PROFILE_WALL;
    o.only_thread_id = slots[i].thread_id;
    pthread_mutex_unlock(&lock);
    int err = plumb_profile_start((int)getpid(), &o, &sampler, NULL, 0);
    pthread_mutex_lock(&lock);
    if (slots[i].state == SLOT_STARTING && !err) {
        slots[i].sampler = sampler;
        slots[i].state = SLOT_PROFILING;
        return;
    }
    samplers--;
    if (slots[i].state == SLOT_STARTING) {
        slots[i].state = SLOT_UNPROFILED; /* err: this process cannot be */
        return;
    }
    slots[i].state = SLOT_FREE; /* ABANDONED: the call has ended */
    if (sampler) {
        pthread_mutex_unlock(&lock);
        plumb_profile_stop(sampler, NULL, NULL, 0);
        pthread_mutex_lock(&lock);
    }
}

static void *watchdog(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        int64_t now = plumb_clock_now_ns(), earliest = INT64_MAX;
        int started = 0;
        for (int i = 0; i < WATCH_SLOTS && !started; i++) {
            if (slots[i].state != SLOT_WAITING)
                continue;
            if (slots[i].deadline_ns > now) {
                if (slots[i].deadline_ns < earliest)
                    earliest = slots[i].deadline_ns;
            } else if (samplers < WATCH_SAMPLERS) {
                slots[i].state = SLOT_STARTING;
                samplers++;
                start_sampler(i);
                started = 1; /* the lock was let go: look again */
            } else {
                slots[i].state = SLOT_UNPROFILED;
            }
        }
        if (started)
            continue;
        next_wake_ns = earliest;
        if (earliest == INT64_MAX) {
            pthread_cond_wait(&wake, &lock);
        } else {
            struct timespec until = {(time_t)(earliest / 1000000000),
                                     (long)(earliest % 1000000000)};
            pthread_cond_timedwait(&wake, &lock, &until);
        }
    }
    return NULL;
}

/* Starts the watchdog of this process if it has none (lock held). The
 * thread takes no signal: Ctrl-C stays the program's. */
static int ensure_watchdog(void)
{
    if (watchdog_pid == getpid())
        return 0;
    if (!fork_handlers) {
        if (pthread_atfork(before_fork, after_fork_parent,
                           after_fork_child) != 0)
            return -1;
        fork_handlers = 1;
    }
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    /* deadlines come from plumb_clock_now_ns: CLOCK_MONOTONIC */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int err = pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
    if (err)
        return -1;
    pthread_attr_t thread_attr;
    pthread_t thread;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&thread_attr);
    pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&thread, &thread_attr, watchdog, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&thread_attr);
    if (err)
        return -1;
    pthread_setname_np(thread, "plumb-watchdog");
    watchdog_pid = getpid();
    return 0;
}

int plumb_py_watch_begin(int64_t start_ns, int64_t threshold_ns)
{
    unsigned long me = PyThread_get_thread_ident();
    int slot = -1;

    pthread_mutex_lock(&lock);
    if (ensure_watchdog() != 0)
        goto out;
    for (int i = 0; i < WATCH_SLOTS; i++) {
        if (slots[i].state != SLOT_FREE &&
            slots[i].state != SLOT_ABANDONED && slots[i].thread_id == me) {
            slot = -1; /* inside a watched call: its profile has this one */
            goto out;
        }
        if (slot < 0 && slots[i].state == SLOT_FREE)
            slot = i;
    }
    if (slot < 0)
        goto out;
    slots[slot].state = SLOT_WAITING;
    slots[slot].thread_id = me;
    slots[slot].deadline_ns = start_ns + threshold_ns;
    slots[slot].sampler = NULL;
    if (slots[slot].deadline_ns < next_wake_ns) {
        next_wake_ns = slots[slot].deadline_ns;
        pthread_cond_signal(&wake);
    }
out:
    pthread_mutex_unlock(&lock);
    return slot;
}

plumb_profile_t *plumb_py_watch_end(int slot)
{
    plumb_profiler_t *sampler = NULL;
    plumb_profile_t *p = NULL;

    if (slot < 0 || slot >= WATCH_SLOTS)
        return NULL;
    pthread_mutex_lock(&lock);
    /* a slot of another thread: this call began before a fork, whose
     * child emptied the table */
    if (slots[slot].thread_id == PyThread_get_thread_ident()) {
        switch (slots[slot].state) {
        case SLOT_STARTING:
            slots[slot].state = SLOT_ABANDONED; /* the watchdog frees it */
            break;
        case SLOT_PROFILING:
            sampler = slots[slot].sampler;
            samplers--;
            /* fall through */
        case SLOT_WAITING:
        case SLOT_UNPROFILED:
            slots[slot].state = SLOT_FREE;
            slots[slot].sampler = NULL;
            break;
        case SLOT_FREE:
        case SLOT_ABANDONED:
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (sampler) {
        int err;
        Py_BEGIN_ALLOW_THREADS
        err = plumb_profile_stop(sampler, &p, NULL, 0);
        Py_END_ALLOW_THREADS
        if (err)
            p = NULL;
    }
    return p;
}
