/* profile.c: a sampling session over a CPython process read from outside:
 * find the interpreter, then at a steady rate read every thread's stack and
 * add it to the aggregated stacks. It paces itself, counts what it could
 * not read, and never stops the target. Reading memory is target's
 * business, decoding CPython's structures unwind's, aggregating stack's. */
#define _GNU_SOURCE
#include "plumb.h"
#include "sampler/python.h"
#include "sampler/target.h"
#include "sampler/threads.h"
#include "sampler/unwind.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Threads read per sample; more are left out of that sample. */
#define MAX_THREADS 64
/* How long a launched program may take to become a running CPython (a
 * launcher script such as pyenv's shim execs the interpreter late). */
#define LAUNCH_WAIT_NS INT64_C(10000000000)
/* How long an attached process that is still starting may take. */
#define ATTACH_WAIT_NS INT64_C(2000000000)
#define POLL_NS 5000000

typedef struct {
    plumb__target_t *target;
    plumb__python_t python;
    plumb__unwinder_t *unwinder;
    plumb__threads_t *threads;
    plumb__thread_stack_t *stacks;
    int seen_tid[1024];
    size_t n_seen;
} session_t;

void plumb_profile_opts_init(plumb_profile_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->rate_hz = 10000;
    opts->mode = PLUMB_PROFILE_CPU;
}

void plumb_profile_free(plumb_profile_t *p)
{
    if (!p)
        return;
    plumb_stack_free(p->stacks);
    free(p);
}

static void session_close(session_t *s)
{
    plumb__unwinder_free(s->unwinder);
    plumb__threads_free(s->threads);
    plumb__target_close(s->target);
    free(s->stacks);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* 1 when a launched child has exited (and is then reaped into *status). */
static int child_exited(pid_t child, int *status)
{
    int raw;
    if (child <= 0)
        return 0;
    pid_t got = waitpid(child, &raw, WNOHANG);
    if (got != child)
        return got < 0;
    *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return 1;
}

/* Opens pid and finds its interpreter; a launched child gets time to exec
 * into Python and start its runtime. */
static int connect(session_t *s, int pid, pid_t child, int *exit_status,
                   char *why, size_t why_size)
{
    int64_t deadline = plumb_clock_now_ns() +
                       (child > 0 ? LAUNCH_WAIT_NS : ATTACH_WAIT_NS);
    char attempt[512];
    int err;
    why[0] = '\0';
    for (;;) {
        attempt[0] = '\0';
        err = plumb__target_open(pid, &s->target, attempt, sizeof attempt);
        int opened = err == 0;
        if (!err)
            err = plumb__python_find(s->target, &s->python, attempt,
                                     sizeof attempt);
        if (!err)
            break;
        plumb__target_close(s->target);
        s->target = NULL;
        /* the finder's sentence says what the program is; an open that
         * fails on a program that has just exited says less */
        if (opened || !why[0])
            snprintf(why, why_size, "%s", attempt);
        /* an attached process gets time only while it is still starting:
         * it is there (opened) but its runtime is not */
        if ((child <= 0 && !(opened && err == PLUMB_ENOTFOUND)) ||
            err == PLUMB_EACCESS || err == PLUMB_EUNSUPPORTED ||
            plumb_clock_now_ns() > deadline)
            return err;
        if (child_exited(child, exit_status)) {
            size_t len = strlen(why);
            if (len + 1 < why_size)
                snprintf(why + len, why_size - len, "%sthe program exited "
                         "before it ran CPython",
                         len ? "; " : "");
            return PLUMB_ENOTFOUND;
        }
        sleep_ns(POLL_NS);
    }
    if ((err = plumb__unwinder_new(s->target, &s->python, &s->unwinder, why,
                                   why_size)) != 0)
        return err;
    if ((err = plumb__threads_new(pid, &s->threads)) != 0)
        return err;
    s->stacks = calloc(MAX_THREADS, sizeof *s->stacks);
    return s->stacks ? 0 : PLUMB_ENOMEM;
}

static void thread_label(int pid, const plumb__thread_stack_t *t, char *out,
                         size_t size)
{
    if (t->native_id == pid)
        snprintf(out, size, "main thread (tid %d)", t->native_id);
    else if (t->native_id > 0)
        snprintf(out, size, "thread (tid %d)", t->native_id);
    else /* before 3.11 CPython does not record the kernel's thread id */
        snprintf(out, size, "thread 0x%llx",
                 (unsigned long long)t->thread_id);
}

/* Whether a thread counts in cpu mode: the kernel says it is running. Where
 * the version hides the kernel's thread id (before 3.11), the GIL holder
 * stands in: only it can be running Python code. */
static int on_cpu(session_t *s, const plumb__thread_stack_t *t)
{
    if (t->native_id > 0)
        return plumb__threads_on_cpu(s->threads, t->native_id) == 1;
    return t->holds_gil == 1;
}

static void note_thread(session_t *s, int tid)
{
    for (size_t i = 0; i < s->n_seen; i++)
        if (s->seen_tid[i] == tid)
            return;
    if (s->n_seen < sizeof s->seen_tid / sizeof *s->seen_tid)
        s->seen_tid[s->n_seen++] = tid;
}

/* One tick: every thread's stack, or nothing when a read was torn. */
static int sample_once(session_t *s, const plumb_profile_opts_t *o,
                       plumb_profile_t *p)
{
    size_t n = 0;
    int err = plumb__unwind(s->unwinder, s->stacks, MAX_THREADS, &n);
    if (err == PLUMB_EIO) {
        p->dropped++;
        return 0;
    }
    if (err)
        return err;
    p->samples++;
    for (size_t i = 0; i < n; i++) {
        const plumb__thread_stack_t *t = &s->stacks[i];
        note_thread(s, t->native_id > 0 ? t->native_id : (int)t->thread_id);
        if (o->mode == PLUMB_PROFILE_CPU && !on_cpu(s, t)) {
            p->idle++;
            continue;
        }
        char label[64];
        thread_label(p->pid, t, label, sizeof label);
        if ((err = plumb_stack_add(p->stacks, label, t->frames, t->n_frames,
                                   t->truncated, 1)) != 0)
            return err;
        p->thread_samples++;
    }
    return 0;
}

static int run_loop(session_t *s, const plumb_profile_opts_t *o,
                    plumb_profile_t *p, pid_t child)
{
    int64_t interval = (int64_t)(1e9 / o->rate_hz);
    int64_t start = plumb_clock_now_ns(), next = start, last_check = start;
    int err = 0;
    for (;;) {
        int64_t now = plumb_clock_now_ns();
        if (o->cancel && *o->cancel)
            break;
        if (o->duration_s > 0 && now - start >= (int64_t)(o->duration_s * 1e9))
            break;
        if (child > 0 && now - last_check > POLL_NS) {
            last_check = now;
            if (child_exited(child, &p->exit_status))
                break;
        }
        uint64_t dropped_before = p->dropped;
        err = sample_once(s, o, p);
        if (err == PLUMB_ENOTFOUND || (err == 0 && p->dropped > dropped_before &&
                                       kill(p->pid, 0) != 0)) {
            /* the target is gone: that read did not tear, it ended */
            p->dropped = dropped_before;
            err = 0;
            break;
        }
        if (err == 0 && p->dropped > dropped_before && child > 0 &&
            child_exited(child, &p->exit_status)) {
            p->dropped = dropped_before;
            break;
        }
        if (err)
            break;
        next += interval;
        now = plumb_clock_now_ns();
        if (next < now)
            next = now; /* behind: skip the missed ticks, do not burst */
        struct timespec ts = {(time_t)(next / 1000000000),
                              (long)(next % 1000000000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
                   EINTR &&
               !(o->cancel && *o->cancel))
            ;
    }
    p->duration_ns = plumb_clock_now_ns() - start;
    p->threads_seen = s->n_seen;
    if (p->duration_ns > 0)
        p->achieved_hz = (double)p->samples * 1e9 / (double)p->duration_ns;
    return err;
}

static int profile(int pid, pid_t child, const plumb_profile_opts_t *opts,
                   plumb_profile_t **out, char *why, size_t why_size)
{
    plumb_profile_opts_t defaults;
    session_t s;
    plumb_profile_t *p = NULL;
    int err;
    memset(&s, 0, sizeof s);
    if (!opts) {
        plumb_profile_opts_init(&defaults);
        opts = &defaults;
    }
    if (!out || opts->rate_hz <= 0 || opts->rate_hz > 1e6)
        return PLUMB_EINVAL;
    *out = NULL;
    why[0] = '\0';
    if (!(p = calloc(1, sizeof *p)) || plumb_stack_new(&p->stacks) != 0) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    p->pid = pid;
    p->mode = opts->mode;
    p->rate_hz = opts->rate_hz;
    p->exit_status = -1;
    if ((err = connect(&s, pid, child, &p->exit_status, why, why_size)) != 0)
        goto out;
    if (s.python.micro >= 0)
        snprintf(p->python, sizeof p->python, "CPython %d.%d.%d",
                 s.python.major, s.python.minor, s.python.micro);
    else /* before 3.11 the micro version may not be readable */
        snprintf(p->python, sizeof p->python, "CPython %d.%d",
                 s.python.major, s.python.minor);
    err = run_loop(&s, opts, p, child);
out:
    session_close(&s);
    if (err) {
        plumb_profile_free(p);
        return err;
    }
    *out = p;
    return 0;
}

int plumb_profile_attach(int pid, const plumb_profile_opts_t *opts,
                         plumb_profile_t **out, char *why, size_t why_size)
{
    if (pid <= 0)
        return PLUMB_EINVAL;
    return profile(pid, -1, opts, out, why, why_size);
}

int plumb_profile_launch(char *const *argv, const plumb_profile_opts_t *opts,
                         plumb_profile_t **out, char *why, size_t why_size)
{
    pid_t child;
    if (!argv || !argv[0])
        return PLUMB_EINVAL;
    int rc = posix_spawnp(&child, argv[0], NULL, NULL, argv, environ);
    if (rc == ENOENT) {
        snprintf(why, why_size, "command not found: '%s'", argv[0]);
        return PLUMB_ENOENT;
    }
    if (rc != 0) {
        snprintf(why, why_size, "cannot start '%s': %s", argv[0],
                 strerror(rc));
        return PLUMB_EEXEC;
    }
    int err = profile(child, child, opts, out, why, why_size);
    if (err) {
        /* the program runs on unprofiled; plumb does not leave it behind */
        int status;
        if (waitpid(child, &status, WNOHANG) == 0) {
            kill(child, SIGTERM);
            waitpid(child, &status, 0);
        }
        return err;
    }
    if ((*out)->exit_status == -1 && !child_exited(child, &(*out)->exit_status)) {
        /* stopped by duration or cancel: wait for the program to end */
        int status;
        if (waitpid(child, &status, 0) == child)
            (*out)->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return 0;
}
