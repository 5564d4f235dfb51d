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
/* Free slots, a stack: a call takes one without scanning the table. */
static int free_slots[WATCH_SLOTS];
static int n_free;
/* Whether this thread is inside a watched call: a call nested in it is
 * covered by its profile and is not watched again. */
static _Thread_local int in_watched_call;
static int samplers;              /* slots STARTING or PROFILING */
static int64_t next_wake_ns = INT64_MAX;
/* Calls watched so far, and the shortest threshold among them: while calls
 * keep coming, the watchdog wakes once per shortest threshold instead of
 * being woken by each call (a futex wake per call costs 300 ns here). */
static uint64_t begins;
static int64_t min_threshold_ns = INT64_MAX;
static int watchdog_running;      /* in this process (a fork has none) */
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
static void reset_slots(void)
{
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < WATCH_SLOTS; i++)
        free_slots[i] = WATCH_SLOTS - 1 - i;
    n_free = WATCH_SLOTS;
}

static void release_slot(int i)
{
    slots[i].state = SLOT_FREE;
    slots[i].sampler = NULL;
    free_slots[n_free++] = i;
}

static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    reset_slots();
    samplers = 0;
    next_wake_ns = INT64_MAX;
    begins = 0;
    watchdog_running = 0;
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
    release_slot(i); /* ABANDONED: the call has ended */
    if (sampler) {
        pthread_mutex_unlock(&lock);
        plumb_profile_stop(sampler, NULL, NULL, 0);
        pthread_mutex_lock(&lock);
    }
}

static void *watchdog(void *unused)
{
    (void)unused;
    uint64_t begins_seen = 0;
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
        /* Nothing waiting. If calls came since the last look, more will:
         * a call that begins during the nap has its deadline after the
         * nap's end. Else sleep until a call signals. */
        if (earliest == INT64_MAX && begins != begins_seen)
            earliest = now + min_threshold_ns;
        begins_seen = begins;
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
    if (watchdog_running)
        return 0;
    if (!fork_handlers) {
        if (pthread_atfork(before_fork, after_fork_parent,
                           after_fork_child) != 0)
            return -1;
        fork_handlers = 1;
        reset_slots();
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
    watchdog_running = 1;
    return 0;
}

int plumb_py_watch_begin(int64_t start_ns, int64_t threshold_ns)
{
    int slot = -1;

    if (in_watched_call)
        return -1;
    pthread_mutex_lock(&lock);
    if (ensure_watchdog() != 0 || n_free == 0)
        goto out;
    slot = free_slots[--n_free];
    begins++;
    if (threshold_ns < min_threshold_ns)
        min_threshold_ns = threshold_ns;
    slots[slot].state = SLOT_WAITING;
    slots[slot].thread_id = PyThread_get_thread_ident();
    slots[slot].deadline_ns = start_ns + threshold_ns;
    slots[slot].sampler = NULL;
    in_watched_call = 1;
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
    in_watched_call = 0;
    pthread_mutex_lock(&lock);
    /* a slot of another thread, or free: this call began before a fork,
     * whose child emptied the table */
    if (slots[slot].thread_id == PyThread_get_thread_ident()) {
        switch (slots[slot].state) {
        case SLOT_STARTING:
            slots[slot].state = SLOT_ABANDONED; /* the watchdog frees it */
            break;
        case SLOT_PROFILING:
            sampler = slots[slot].sampler;
            samplers--;
            release_slot(slot);
            break;
        case SLOT_WAITING:
        case SLOT_UNPROFILED:
            release_slot(slot);
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
