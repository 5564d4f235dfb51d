/* profile.c: a sampling session over CPython processes read from outside:
 * find each interpreter, then at a steady rate read every thread's stack
 * and add it to the aggregated stacks. It paces itself, counts what it
 * could not read, follows the target's Python children when asked, and
 * never stops a target. A session runs in the calling thread (attach,
 * launch) or on a thread of its own (start, stop), which may sample the
 * very process it runs in. Reading memory is target's business, decoding
 * CPython's structures unwind's, aggregating stack's. */
#define _GNU_SOURCE
#include "plumb.h"
#include "sampler/python.h"
#include "sampler/target.h"
#include "sampler/threads.h"
#include "sampler/unwind.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Threads read per process per sample; more are left out of it. */
#define MAX_THREADS 64
/* Processes followed with --children. */
#define MAX_PROCS 64
/* Threads listed one by one; a process that makes thousands has the rest
 * counted in threads_seen only. */
#define MAX_LISTED_THREADS 256
/* How long a launched program may take to become a running CPython (a
 * launcher script such as pyenv's shim execs the interpreter late). */
#define LAUNCH_WAIT_NS INT64_C(10000000000)
/* How long an attached process or a new child that is still starting may
 * take. */
#define START_WAIT_NS INT64_C(2000000000)
/* How often exits are checked and new children looked for. */
#define POLL_NS INT64_C(5000000)
#define SCAN_NS INT64_C(20000000)

typedef enum { PROC_PENDING, PROC_CONNECTED, PROC_IGNORED } proc_state_t;

/* A thread that earlier samples met: its label and its list entry, so a
 * sample neither formats the one nor searches for the other again. */
typedef struct {
    uint64_t thread_id;
    int native_id;
    uint64_t tick;                 /* the sample that last met it; 0: free */
    plumb_profile_thread_t *entry; /* NULL: met when the list was full */
    char label[64];
} known_thread_t;

/* One process read by the session. */
typedef struct {
    int pid;
    proc_state_t state;
    int64_t give_up_ns;          /* PENDING: until when to keep trying */
    plumb__target_t *target;
    plumb__python_t python;
    plumb__unwinder_t *unwinder;
    plumb__threads_t *threads;
    known_thread_t *known;       /* MAX_THREADS of them */
} proc_t;

typedef struct {
    proc_t procs[MAX_PROCS];
    size_t n_procs;
    int children;
    plumb__thread_stack_t *stacks;
    uint64_t tick;               /* samples taken, this one included */
    const atomic_int *stop;      /* set by plumb_profile_stop; or NULL */
    char why[512];               /* the last finder's sentence */
} session_t;

/* A session sampling on a thread of its own (plumb_profile_start). */
struct plumb_profiler {
    session_t s;
    plumb_profile_opts_t opts;
    plumb_profile_t *p;
    pthread_t thread;
    pid_t owner;                 /* the process the thread runs in */
    atomic_int stop;
    int err;                     /* the sampling loop's, once joined */
};

void plumb_profile_opts_init(plumb_profile_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->rate_hz = 2000;
    opts->mode = PLUMB_PROFILE_CPU;
}

void plumb_profile_free(plumb_profile_t *p)
{
    if (!p)
        return;
    plumb_stack_free(p->stacks);
    free(p->threads);
    free(p);
}

static void proc_close(proc_t *pr)
{
    plumb__unwinder_free(pr->unwinder);
    plumb__threads_free(pr->threads);
    plumb__target_close(pr->target);
    free(pr->known);
    pr->unwinder = NULL;
    pr->threads = NULL;
    pr->target = NULL;
    pr->known = NULL;
}

static void session_close(session_t *s)
{
    for (size_t i = 0; i < s->n_procs; i++)
        proc_close(&s->procs[i]);
    free(s->stacks);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* How a launched program ended, from waitpid's raw status. */
static void note_exit(plumb_profile_t *p, int raw)
{
    p->exit_status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    p->exit_signal = WIFSIGNALED(raw) ? WTERMSIG(raw) : 0;
}

/* 1 when a launched child has exited (and is then reaped into p). */
static int child_exited(pid_t child, plumb_profile_t *p)
{
    int raw;
    if (child <= 0)
        return 0;
    pid_t got = waitpid(child, &raw, WNOHANG);
    if (got != child)
        return got < 0;
    note_exit(p, raw);
    return 1;
}

static proc_t *add_proc(session_t *s, int pid, int64_t wait_ns)
{
    for (size_t i = 0; i < s->n_procs; i++)
        if (s->procs[i].pid == pid)
            return NULL;
    if (s->n_procs == MAX_PROCS)
        return NULL;
    proc_t *pr = &s->procs[s->n_procs++];
    memset(pr, 0, sizeof *pr);
    pr->pid = pid;
    pr->state = PROC_PENDING;
    pr->give_up_ns = plumb_clock_now_ns() + wait_ns;
    return pr;
}

/* One try at reading pr as CPython. PLUMB_ENOTFOUND while it is not (yet)
 * one; other errors are final for it. */
static int try_connect(session_t *s, proc_t *pr)
{
    char why[512] = "";
    int err = plumb__target_open(pr->pid, &pr->target, why, sizeof why);
    int opened = err == 0;
    if (!err)
        err = plumb__python_find(pr->target, &pr->python, why, sizeof why);
    if (!err)
        err = plumb__unwinder_new(pr->target, &pr->python, &pr->unwinder, why,
                                  sizeof why);
    if (!err)
        err = plumb__threads_new(pr->pid, &pr->threads);
    if (!err && !(pr->known = calloc(MAX_THREADS, sizeof *pr->known)))
        err = PLUMB_ENOMEM;
    if (!err) {
        pr->state = PROC_CONNECTED;
        return 0;
    }
    proc_close(pr);
    /* the finder's sentence says what the program is; an open that fails
     * on a program that has just exited says less */
    if (why[0] && (opened || !s->why[0]))
        snprintf(s->why, sizeof s->why, "%s", why);
    return err;
}

/* Waits for the first process to become a CPython that can be read: a
 * launched one for up to LAUNCH_WAIT_NS, an attached one while it starts. */
static int connect_root(session_t *s, pid_t child, plumb_profile_t *p)
{
    proc_t *root = &s->procs[0];
    int err;
    for (;;) {
        err = try_connect(s, root);
        if (!err)
            return 0;
        int starting = err == PLUMB_ENOTFOUND && kill(root->pid, 0) == 0;
        if (!starting || plumb_clock_now_ns() > root->give_up_ns)
            return err;
        if (child_exited(child, p)) {
            size_t len = strlen(s->why);
            snprintf(s->why + len, sizeof s->why - len,
                     "%sthe program exited before it ran CPython",
                     len ? "; " : "");
            return PLUMB_ENOTFOUND;
        }
        sleep_ns(POLL_NS);
    }
}

/* Adds the descendants of pid (through /proc/PID/task/TID/children) that
 * are not followed yet. */
static void find_children(session_t *s, int pid, int depth)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *tasks = opendir(path);
    if (!tasks || depth > 8) {
        if (tasks)
            closedir(tasks);
        return;
    }
    struct dirent *task;
    while ((task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.')
            continue;
        char list_path[300];
        snprintf(list_path, sizeof list_path, "/proc/%d/task/%s/children",
                 pid, task->d_name);
        FILE *f = fopen(list_path, "re");
        int kid;
        while (f && fscanf(f, "%d", &kid) == 1) {
            add_proc(s, kid, START_WAIT_NS);
            find_children(s, kid, depth + 1);
        }
        if (f)
            fclose(f);
    }
    closedir(tasks);
}

static void thread_label(const session_t *s, const proc_t *pr,
                         const plumb__thread_stack_t *t, char *out,
                         size_t size)
{
    char pid[32] = "";
    if (s->children)
        snprintf(pid, sizeof pid, "pid %d ", pr->pid);
    if (t->native_id == pr->pid)
        snprintf(out, size, "%smain thread (tid %d)", pid, t->native_id);
    else if (t->native_id > 0)
        snprintf(out, size, "%sthread (tid %d)", pid, t->native_id);
    else /* before 3.11 CPython does not record the kernel's thread id */
        snprintf(out, size, "%sthread 0x%llx", pid,
                 (unsigned long long)t->thread_id);
}

/* Whether a thread counts in cpu mode: the kernel says it is running. A
 * thread holding the GIL runs (Python, or C code that keeps the GIL), so
 * only the others cost a read of their scheduler state: a CPU-bound
 * single-threaded program is then sampled without one. Where the version
 * hides the kernel's thread id (before 3.11), the GIL holder is the only
 * thread counted: only it can be running Python code. */
static int on_cpu(proc_t *pr, const plumb__thread_stack_t *t)
{
    if (t->holds_gil == 1)
        return 1;
    if (t->native_id > 0)
        return plumb__threads_on_cpu(pr->threads, t->native_id) == 1;
    return t->holds_gil == 1;
}

/* The thread's entry in p->threads, added when first met; NULL once the
 * list is full. */
static plumb_profile_thread_t *note_thread(plumb_profile_t *p,
                                           const char *label)
{
    for (size_t i = 0; i < p->n_threads; i++)
        if (strcmp(p->threads[i].label, label) == 0)
            return &p->threads[i];
    p->threads_seen++;
    if (p->n_threads == MAX_LISTED_THREADS)
        return NULL;
    plumb_profile_thread_t *t = &p->threads[p->n_threads++];
    memset(t, 0, sizeof *t);
    snprintf(t->label, sizeof t->label, "%s", label);
    return t;
}

/* t's label and list entry: from an earlier sample, or made now in the
 * slot of the thread met longest ago. A sample reads at most MAX_THREADS
 * threads, so it never evicts one it has met itself. */
static const known_thread_t *know_thread(const session_t *s, proc_t *pr,
                                         const plumb__thread_stack_t *t,
                                         plumb_profile_t *p)
{
    known_thread_t *k = pr->known, *stalest = pr->known;
    for (size_t i = 0; i < MAX_THREADS; i++, k++) {
        if (k->tick && k->thread_id == t->thread_id &&
            k->native_id == t->native_id) {
            k->tick = s->tick;
            return k;
        }
        if (k->tick < stalest->tick)
            stalest = k;
    }
    k = stalest;
    k->thread_id = t->thread_id;
    k->native_id = t->native_id;
    k->tick = s->tick;
    thread_label(s, pr, t, k->label, sizeof k->label);
    k->entry = note_thread(p, k->label);
    return k;
}

/* Reads one process's threads into the profile. PLUMB_EIO for a torn
 * read, PLUMB_ENOTFOUND when the process is gone. */
static int sample_proc(session_t *s, proc_t *pr, const plumb_profile_opts_t *o,
                       plumb_profile_t *p)
{
    size_t n = 0;
    int err = plumb__unwind(pr->unwinder, s->stacks, MAX_THREADS, &n);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        const plumb__thread_stack_t *t = &s->stacks[i];
        /* a thread state CPython has made but not started yet */
        if (t->thread_id == 0 && t->native_id <= 0 && t->n_frames == 0)
            continue;
        if (o->only_thread_id && t->thread_id != o->only_thread_id)
            continue;
        const known_thread_t *known = know_thread(s, pr, t, p);
        plumb_profile_thread_t *entry = known->entry;
        if (entry && t->holds_gil >= 0) {
            entry->gil_known = 1;
            entry->gil_ticks += (uint64_t)t->holds_gil;
        }
        if (o->mode == PLUMB_PROFILE_CPU && !on_cpu(pr, t)) {
            p->idle++;
            continue;
        }
        /* no Python frame yet (start-up, or C code before any Python):
         * nothing to attribute */
        if (t->n_frames == 0)
            continue;
        if ((err = plumb_stack_add(p->stacks, known->label, t->frames,
                                   t->n_frames, t->truncated, 1)) != 0)
            return err;
        if (entry)
            entry->stacks++;
        p->thread_samples++;
    }
    return 0;
}

/* One tick over every connected process. A torn read drops that process's
 * sample, never half of it; a process that is gone is let go. */
static int sample_all(session_t *s, const plumb_profile_opts_t *o,
                      plumb_profile_t *p)
{
    int read_any = 0, torn = 0;
    s->tick++;
    for (size_t i = 0; i < s->n_procs; i++) {
        proc_t *pr = &s->procs[i];
        if (pr->state != PROC_CONNECTED)
            continue;
        int err = sample_proc(s, pr, o, p);
        if (err == PLUMB_EIO && kill(pr->pid, 0) != 0)
            err = PLUMB_ENOTFOUND; /* it did not tear, it ended */
        if (err == PLUMB_ENOTFOUND) {
            proc_close(pr);
            pr->state = PROC_IGNORED;
            continue;
        }
        if (err == PLUMB_EIO) {
            torn = 1;
            continue;
        }
        if (err)
            return err;
        read_any = 1;
    }
    if (torn)
        p->dropped++;
    else if (read_any)
        p->samples++;
    return 0;
}

/* Connects pending processes and, with children, looks for new ones. */
static void scan(session_t *s, plumb_profile_t *p)
{
    if (s->children && s->procs[0].pid > 0)
        find_children(s, s->procs[0].pid, 0);
    int64_t now = plumb_clock_now_ns();
    for (size_t i = 0; i < s->n_procs; i++) {
        proc_t *pr = &s->procs[i];
        if (pr->state != PROC_PENDING)
            continue;
        int err = try_connect(s, pr);
        if (!err) {
            p->processes++;
            if (!p->python[0])
                snprintf(p->python, sizeof p->python, "CPython %d.%d",
                         pr->python.major, pr->python.minor);
        } else if (err != PLUMB_ENOTFOUND || now > pr->give_up_ns ||
                   kill(pr->pid, 0) != 0) {
            pr->state = PROC_IGNORED; /* not Python, or gone */
        }
    }
}

static int root_gone(session_t *s, plumb_profile_t *p, pid_t child)
{
    if (child > 0)
        return child_exited(child, p);
    return kill(s->procs[0].pid, 0) != 0;
}

/* The kernel may wake a sleeping thread up to its timer slack late (50 us
 * by default), which would cap the rate near 13 kHz; the sampling thread
 * asks for 1 us while it samples and gives the old slack back after. */
#define SAMPLER_SLACK_NS 1000

/* The sampling thread keeps the normal policy on purpose. As SCHED_BATCH
 * (tried) its wake-ups never preempt, so on a busy machine it is starved
 * exactly while the target computes and runs on time while the target
 * sleeps: wall mode then reported 42-44% asleep for a program asleep half
 * the time (cli test half_sleep.py, 3 busy loops on 2 CPUs), against
 * 49% as a normal thread. A sample must not depend on what the target is
 * doing, so only the timer slack is changed. */
typedef struct {
    int slack;
} sampler_mode_t;

static void sampler_mode_enter(sampler_mode_t *saved)
{
    saved->slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, SAMPLER_SLACK_NS, 0, 0, 0);
}

static void sampler_mode_leave(const sampler_mode_t *saved)
{
    if (saved->slack > 0)
        prctl(PR_SET_TIMERSLACK, (unsigned long)saved->slack, 0, 0, 0);
}

int plumb_profile_merge(plumb_profile_t *dst, const plumb_profile_t *src)
{
    if (!dst || !src || dst == src)
        return PLUMB_EINVAL;
    int err = plumb_stack_merge(dst->stacks, src->stacks);
    if (err)
        return err;
    for (size_t i = 0; i < src->n_threads; i++) {
        const plumb_profile_thread_t *t = &src->threads[i];
        plumb_profile_thread_t *mine = note_thread(dst, t->label);
        if (!mine)
            continue; /* the list is full: counted in threads_seen */
        mine->stacks += t->stacks;
        mine->gil_ticks += t->gil_ticks;
        mine->gil_known |= t->gil_known;
    }
    /* threads src met beyond its list are not known by label */
    dst->threads_seen += src->threads_seen - src->n_threads;
    dst->samples += src->samples;
    dst->dropped += src->dropped;
    dst->thread_samples += src->thread_samples;
    dst->idle += src->idle;
    dst->duration_ns += src->duration_ns;
    if (src->processes > dst->processes)
        dst->processes = src->processes;
    dst->achieved_hz = dst->duration_ns > 0 ? (double)dst->samples * 1e9 /
                                                  (double)dst->duration_ns
                                            : 0;
    return 0;
}

int plumb_profile_copy(const plumb_profile_t *p, plumb_profile_t **out)
{
    if (!p || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    plumb_profile_t *c = calloc(1, sizeof *c);
    if (!c || plumb_stack_new(&c->stacks) != 0 ||
        !(c->threads = calloc(MAX_LISTED_THREADS, sizeof *c->threads))) {
        plumb_profile_free(c);
        return PLUMB_ENOMEM;
    }
    c->pid = p->pid;
    memcpy(c->python, p->python, sizeof c->python);
    c->mode = p->mode;
    c->rate_hz = p->rate_hz;
    c->exit_status = p->exit_status;
    c->exit_signal = p->exit_signal;
    memcpy(c->command, p->command, sizeof c->command);
    int err = plumb_profile_merge(c, p);
    if (err) {
        plumb_profile_free(c);
        return err;
    }
    *out = c;
    return 0;
}

/* A descriptor that becomes readable when process pid ends, or -1 where
 * the kernel has none (before Linux 5.3): the end is then seen by the next
 * poll, POLL_NS later at most. */
static int open_pidfd(int pid)
{
#ifdef SYS_pidfd_open
    if (pid > 0 && pid != getpid())
        return (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return -1;
}

/* Sleeps until `until` (plumb_clock_now_ns's clock), and not past the end
 * of the process behind pidfd: 1 when that ended. Waking at once matters
 * to a launched program's wall time, which otherwise pays for the wait
 * between its exit and the next poll (2.5 ms on average). */
static int sleep_until(int pidfd, int64_t until)
{
    if (pidfd < 0) {
        struct timespec ts = {(time_t)(until / 1000000000),
                              (long)(until % 1000000000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        return 0;
    }
    int64_t left = until - plumb_clock_now_ns();
    if (left <= 0)
        return 0;
    struct timespec ts = {(time_t)(left / 1000000000),
                          (long)(left % 1000000000)};
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    return ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & POLLIN);
}

static int stopping(const session_t *s, const plumb_profile_opts_t *o)
{
    return (o->cancel && *o->cancel) || (s->stop && atomic_load(s->stop));
}

static int run_loop(session_t *s, const plumb_profile_opts_t *o,
                    plumb_profile_t *p, pid_t child)
{
    sampler_mode_t saved;
    sampler_mode_enter(&saved);
    int64_t interval = (int64_t)(1e9 / o->rate_hz);
    int64_t start = plumb_clock_now_ns(), next = start;
    int64_t last_poll = start, last_scan = start - SCAN_NS;
    int pidfd = open_pidfd(s->procs[0].pid), ended = 0, err = 0;
    for (;;) {
        int64_t now = plumb_clock_now_ns();
        if (ended) {
            child_exited(child, p); /* the caller waits if it is not yet */
            break;
        }
        if (stopping(s, o))
            break;
        if (o->duration_s > 0 && now - start >= (int64_t)(o->duration_s * 1e9))
            break;
        if (now - last_poll > POLL_NS) {
            last_poll = now;
            if (root_gone(s, p, child))
                break;
        }
        if (now - last_scan > SCAN_NS) {
            last_scan = now;
            scan(s, p);
        }
        if ((err = sample_all(s, o, p)) != 0)
            break;
        if (!s->children && s->procs[0].state != PROC_CONNECTED) {
            /* the one target is gone; reap it if it was ours */
            root_gone(s, p, child);
            break;
        }
        next += interval;
        now = plumb_clock_now_ns();
        if (next < now)
            next = now; /* behind: skip the missed ticks, do not burst */
        /* A stop comes without a signal to cut the sleep short: at a low
         * rate it is looked at every POLL_NS. */
        while (!ended && !stopping(s, o) &&
               (now = plumb_clock_now_ns()) < next)
            ended = sleep_until(pidfd,
                                next - now > POLL_NS ? now + POLL_NS : next);
    }
    if (pidfd >= 0)
        close(pidfd);
    p->duration_ns = plumb_clock_now_ns() - start;
    if (p->duration_ns > 0)
        p->achieved_hz = (double)p->samples * 1e9 / (double)p->duration_ns;
    sampler_mode_leave(&saved);
    return err;
}

/* Makes the profile and connects to pid, waiting up to wait_ns for it to
 * become a CPython that can be read; s->why says why not. On success the
 * caller owns *out; s is closed by the caller either way. */
static int session_open(session_t *s, int pid, pid_t child,
                        const plumb_profile_opts_t *opts, int64_t wait_ns,
                        plumb_profile_t **out)
{
    plumb_profile_t *p = NULL;
    int err;
    *out = NULL;
    if (opts->rate_hz <= 0 || opts->rate_hz > 1e6)
        return PLUMB_EINVAL;
    s->children = opts->children;
    if (!(p = calloc(1, sizeof *p)) || plumb_stack_new(&p->stacks) != 0 ||
        !(p->threads = calloc(MAX_LISTED_THREADS, sizeof *p->threads)) ||
        !(s->stacks = calloc(MAX_THREADS, sizeof *s->stacks))) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    p->pid = pid;
    p->mode = opts->mode;
    p->rate_hz = opts->rate_hz;
    p->exit_status = -1;
    add_proc(s, pid, wait_ns);
    /* with children the root may be a launcher that never runs Python:
     * one try, and the sampling loop keeps trying it with the children */
    err = s->children ? try_connect(s, &s->procs[0])
                      : connect_root(s, child, p);
    if (!err) {
        const plumb__python_t *py = &s->procs[0].python;
        p->processes = 1;
        if (py->micro >= 0)
            snprintf(p->python, sizeof p->python, "CPython %d.%d.%d",
                     py->major, py->minor, py->micro);
        else /* before 3.11 the micro version may not be readable */
            snprintf(p->python, sizeof p->python, "CPython %d.%d", py->major,
                     py->minor);
    } else if (s->children && err == PLUMB_ENOTFOUND) {
        err = 0; /* still PENDING: scan() retries it until it gives up */
    }
out:
    if (err) {
        plumb_profile_free(p);
        return err;
    }
    *out = p;
    return 0;
}

/* Samples until the loop ends, then says whether any CPython was read. */
static int session_run(session_t *s, const plumb_profile_opts_t *opts,
                       plumb_profile_t *p, pid_t child)
{
    int err = run_loop(s, opts, p, child);
    if (!err && p->processes == 0) {
        snprintf(s->why + strlen(s->why), sizeof s->why - strlen(s->why),
                 "%sno CPython process was found among process %d and its "
                 "children",
                 s->why[0] ? "; " : "", p->pid);
        err = PLUMB_ENOTFOUND;
    }
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
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (why_size)
        why[0] = '\0';
    err = session_open(&s, pid, child, opts,
                       child > 0 ? LAUNCH_WAIT_NS : START_WAIT_NS, &p);
    if (!err)
        err = session_run(&s, opts, p, child);
    if (err && why_size)
        snprintf(why, why_size, "%s", s.why);
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
    int status;
    if (err) {
        /* the program would run on unprofiled; plumb does not leave it */
        if (waitpid(child, &status, WNOHANG) == 0) {
            kill(child, SIGTERM);
            waitpid(child, &status, 0);
        }
        return err;
    }
    /* stopped by duration or cancel: the program runs to its end */
    if ((*out)->exit_status == -1 && (*out)->exit_signal == 0 &&
        waitpid(child, &status, 0) == child)
        note_exit(*out, status);
    return 0;
}

static void *profiler_main(void *arg)
{
    plumb_profiler_t *pr = arg;
    pr->err = session_run(&pr->s, &pr->opts, pr->p, -1);
    return NULL;
}

static void profiler_free(plumb_profiler_t *pr)
{
    session_close(&pr->s);
    plumb_profile_free(pr->p);
    free(pr);
}

int plumb_profile_start(int pid, const plumb_profile_opts_t *opts,
                        plumb_profiler_t **out, char *why, size_t why_size)
{
    plumb_profiler_t *pr = NULL;
    sigset_t all, was;
    int err;
    if (why_size)
        why[0] = '\0';
    if (!out || pid <= 0)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!(pr = calloc(1, sizeof *pr)))
        return PLUMB_ENOMEM;
    if (opts)
        pr->opts = *opts;
    else
        plumb_profile_opts_init(&pr->opts);
    pr->owner = getpid();
    atomic_init(&pr->stop, 0);
    pr->s.stop = &pr->stop;
    /* The calling process is a CPython now or never: no wait for it. */
    err = session_open(&pr->s, pid, -1, &pr->opts,
                       pid == pr->owner ? 0 : START_WAIT_NS, &pr->p);
    if (err) {
        if (why_size)
            snprintf(why, why_size, "%s", pr->s.why);
        goto out;
    }
    /* The sampler thread takes no signal: they are the program's (Ctrl-C
     * must reach a Python program's main thread, not cut a sleep here). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &was);
    int rc = pthread_create(&pr->thread, NULL, profiler_main, pr);
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    if (rc != 0) {
        err = rc == EAGAIN ? PLUMB_EUNSUPPORTED : PLUMB_ENOMEM;
        if (why_size)
            snprintf(why, why_size, "cannot start the sampling thread: %s",
                     strerror(rc));
        goto out;
    }
    /* a name that says what it is in top -H and /proc/PID/task */
    pthread_setname_np(pr->thread, "plumb-sampler");
out:
    if (err) {
        profiler_free(pr);
        return err;
    }
    *out = pr;
    return 0;
}

int plumb_profile_stop(plumb_profiler_t *pr, plumb_profile_t **out,
                       char *why, size_t why_size)
{
    if (why_size)
        why[0] = '\0';
    if (out)
        *out = NULL;
    if (!pr)
        return PLUMB_EINVAL;
    if (pr->owner != getpid()) {
        /* A fork's copy: the thread stayed in the parent, and its state
         * may have been copied half-changed, so nothing here is freed. */
        if (why_size)
            snprintf(why, why_size,
                     "this profile samples process %d from a thread of "
                     "that process; process %d is a fork of it and has no "
                     "sampling thread",
                     (int)pr->owner, (int)getpid());
        return PLUMB_EINVAL;
    }
    atomic_store(&pr->stop, 1);
    pthread_join(pr->thread, NULL);
    int err = pr->err;
    if (err && why_size)
        snprintf(why, why_size, "%s", pr->s.why);
    if (!err && out) {
        *out = pr->p;
        pr->p = NULL;
    }
    profiler_free(pr);
    return err;
}
