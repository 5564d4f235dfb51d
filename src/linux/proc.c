/* proc.c: runs one child process and reads the kernel's own accounting of
 * it (Linux). It owns spawning, waiting, time-outs, cancellation and the
 * stderr tail. It does not decide what a command is (command), how often to
 * run it (bench) or what the numbers mean (analysis).
 *
 * The measured window is kept as small as the kernel allows: everything a
 * run needs (/dev/null, the stderr pipe, spawn attributes) is prepared
 * before t0, t0 is taken just before posix_spawn, and t1 as soon as the
 * child's pidfd reports its exit. posix_spawn matters: glibc starts the
 * child with clone(CLONE_VM|CLONE_VFORK), which copies no page tables, so
 * its cost does not grow with plumb's memory as fork's does. Everything
 * else (/proc/PID/io, the counters, wait4's rusage) is read after t1, while
 * the child is still an unreaped zombie whose accounting is final.
 *
 * Max RSS has a floor we cannot remove: at exec the kernel folds the high
 * water mark of the exec-ing task's old address space into the new
 * process's maxrss (exec_mmap), and a CLONE_VM child's old address space
 * is ours. Every child's ru_maxrss is therefore at least plumb's own peak
 * RSS (fork has the same flaw, with the current RSS). A child that reports
 * no more than that floor gets PLUMB_UNAVAILABLE rather than our number.
 *
 * Children must not be reaped behind our back: a SIGCHLD set to SIG_IGN in
 * the process, or a waitpid(-1) elsewhere, would take them away.
 */
#define _GNU_SOURCE
#include "plumb.h"

#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define NS_PER_SEC INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
/* Longest sleep between two looks at *cancel, for a flag set by another
 * thread; a signal handler setting it interrupts ppoll at once. */
#define CANCEL_SLICE_NS (100 * NS_PER_MS)
/* Without a pidfd (kernels before 5.3, valgrind) the exit is found by
 * polling waitid, first after 50 us, backing off to every 10 ms: coarser
 * wall times, but correct ones. */
#define POLL_FIRST_NS INT64_C(50000)
#define POLL_MAX_NS (10 * NS_PER_MS)
/* plumb_proc_capture is for quick queries; a hung one must not hang us. */
#define CAPTURE_TIMEOUT_NS (30 * NS_PER_SEC)
/* Reads of a pipe per wake-up while the child runs, and after it exited.
 * Bounded, so that a grandchild that keeps writing cannot keep us here. */
#define READS_WHILE_RUNNING 4
#define READS_AFTER_EXIT 64
#define READ_CHUNK 16384
/* What our RSS may grow by between reading it and the child's exec: the
 * stack posix_spawn maps for the child, pages another thread touches. */
#define RSS_FLOOR_SLACK_BYTES (128 * 1024)

/* ---- bytes from a pipe ---------------------------------------------------- */

/* Where the bytes read from a child's pipe go: either its first `cap`
 * bytes (capture), or its last `cap` bytes in a ring (stderr tail). `buf`
 * is the caller's, cap + 1 bytes, NUL-terminated by sink_finish. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;  /* head: bytes kept; ring: where the next byte goes */
    int ring;
    int wrapped; /* ring: filled at least once, the oldest byte is at len */
} sink_t;

static void sink_put(sink_t *s, const char *data, size_t n)
{
    if (!s->ring) {
        size_t room = s->cap - s->len;
        if (n > room)
            n = room;
        memcpy(s->buf + s->len, data, n);
        s->len += n;
        return;
    }
    if (s->cap == 0)
        return;
    if (n >= s->cap) {
        memcpy(s->buf, data + n - s->cap, s->cap);
        s->len = 0;
        s->wrapped = 1;
        return;
    }
    size_t first = s->cap - s->len < n ? s->cap - s->len : n;
    memcpy(s->buf + s->len, data, first);
    memcpy(s->buf, data + first, n - first);
    s->len += n;
    if (s->len >= s->cap) {
        s->len -= s->cap;
        s->wrapped = 1;
    }
}

static void reverse(char *a, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        char t = a[i];
        a[i] = a[j - 1];
        a[j - 1] = t;
    }
}

/* Puts the bytes in order and NUL-terminates them. */
static void sink_finish(sink_t *s)
{
    if (s->ring && s->wrapped) {
        /* Rotate left by len in place: the oldest byte goes first. */
        reverse(s->buf, s->len);
        reverse(s->buf + s->len, s->cap - s->len);
        reverse(s->buf, s->cap);
        s->len = s->cap;
        s->wrapped = 0;
    }
    s->buf[s->len] = '\0';
}

/* Reads what the non-blocking `fd` holds now, at most max_reads chunks.
 * 0 at end of file, 1 when more may come, PLUMB_EIO on error. */
static int drain(int fd, sink_t *sink, int max_reads)
{
    char chunk[READ_CHUNK];
    for (int i = 0; i < max_reads; i++) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0)
            sink_put(sink, chunk, (size_t)n);
        else if (n == 0)
            return 0;
        else if (errno == EAGAIN)
            return 1;
        else if (errno != EINTR)
            return PLUMB_EIO;
    }
    return 1;
}

/* ---- starting a child ---------------------------------------------------- */

/* Everything posix_spawn needs, built before the clock starts. */
typedef struct {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int has_attr, has_actions;
} spawn_plan_t;

/* Prepares a child in its own process group (so that a time-out can kill
 * its descendants too), with an empty signal mask, every signal at its
 * default, and stdin, stdout and stderr taken from the given fds (-1:
 * inherited from us).
 *
 * Every signal, not only those a harness tends to ignore (SIGPIPE, SIGINT,
 * SIGCHLD, ...), for two reasons: the program is measured as it behaves
 * when run by itself, and it is cheaper. glibc's child must reset each
 * signal anyway (it shares our memory, so no handler of ours may stay);
 * one in the set costs one rt_sigaction, one outside it a query and a
 * reset. With all of them in the set the child makes about 64 system
 * calls instead of 110 inside the measured window. */
static int plan_init(spawn_plan_t *plan, int in_fd, int out_fd, int err_fd)
{
    sigset_t none, defaults;
    int r;

    memset(plan, 0, sizeof *plan);
    sigemptyset(&none);
    sigfillset(&defaults); /* glibc leaves out its own internal signals */
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);

    if ((r = posix_spawnattr_init(&plan->attr)))
        goto out;
    plan->has_attr = 1;
    if ((r = posix_spawnattr_setflags(&plan->attr,
                                      POSIX_SPAWN_SETPGROUP |
                                          POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF)) ||
        (r = posix_spawnattr_setpgroup(&plan->attr, 0)) ||
        (r = posix_spawnattr_setsigmask(&plan->attr, &none)) ||
        (r = posix_spawnattr_setsigdefault(&plan->attr, &defaults)))
        goto out;

    if ((r = posix_spawn_file_actions_init(&plan->actions)))
        goto out;
    plan->has_actions = 1;
    /* dup2 of fds opened once by us, rather than an open in the child:
     * one system call instead of three inside the measured window. */
    if ((in_fd >= 0 &&
         (r = posix_spawn_file_actions_adddup2(&plan->actions, in_fd, 0))) ||
        (out_fd >= 0 &&
         (r = posix_spawn_file_actions_adddup2(&plan->actions, out_fd, 1))) ||
        (err_fd >= 0 &&
         (r = posix_spawn_file_actions_adddup2(&plan->actions, err_fd, 2))))
        goto out;
out:
    return r == 0 ? 0 : r == ENOMEM ? PLUMB_ENOMEM : PLUMB_EINVAL;
}

static void plan_close(spawn_plan_t *plan)
{
    if (plan->has_actions)
        posix_spawn_file_actions_destroy(&plan->actions);
    if (plan->has_attr)
        posix_spawnattr_destroy(&plan->attr);
    plan->has_actions = plan->has_attr = 0;
}

/* Starts argv. glibc (>= 2.24) reports the exec's own failure here rather
 * than as an exit status of 127, which lets us tell "not found" from "could
 * not run". (Not under valgrind: it runs CLONE_VFORK as a plain fork, the
 * error cannot come back, and the child exits 127.) A name without '/' is
 * looked up in PATH by posix_spawnp; a path is used as given. */
static int plan_spawn(const spawn_plan_t *plan, char *const *argv,
                      pid_t *pid)
{
    extern char **environ;
    int r = strchr(argv[0], '/')
                ? posix_spawn(pid, argv[0], &plan->actions, &plan->attr,
                              argv, environ)
                : posix_spawnp(pid, argv[0], &plan->actions, &plan->attr,
                               argv, environ);
    switch (r) {
    case 0:
        return 0;
    case ENOENT:
    case ENOTDIR:
        return PLUMB_ENOENT;
    case ENOMEM:
        return PLUMB_ENOMEM;
    default: /* EACCES, ENOEXEC, ETXTBSY, E2BIG, EAGAIN, ... */
        return PLUMB_EEXEC;
    }
}

/* Opens both ends of a pipe that only the child's dup2 takes across exec;
 * our end does not block, so reading it never stalls the wait. */
static int open_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno == EMFILE || errno == ENFILE ? PLUMB_EIO : PLUMB_ENOMEM;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0)
        return PLUMB_EIO;
    return 0;
}

static int open_pidfd(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- waiting for a child ------------------------------------------------- */

typedef struct {
    pid_t pid;
    int pidfd;    /* -1: poll waitid instead */
    int pipe_fd;  /* -1: nothing to read */
    sink_t *sink; /* where the pipe's bytes go */
    int64_t deadline_ns; /* 0: none */
    const volatile sig_atomic_t *cancel;
} child_t;

/* 1 when the child has exited (or cannot be waited for, which wait4 will
 * then report); it is left unreaped. */
static int exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno != EINTR;
    return info.si_pid == pid;
}

static int64_t shorter(int64_t wait_ns, int64_t limit_ns)
{
    return wait_ns < 0 || limit_ns < wait_ns ? limit_ns : wait_ns;
}

/* Waits until the child exits (0), its deadline passes (PLUMB_ETIMEDOUT)
 * or *cancel is set (PLUMB_ECANCELED), reading its pipe meanwhile; *t_end
 * is when that was seen. The child is not reaped, and not killed. */
static int child_wait(child_t *c, int64_t *t_end)
{
    int64_t backoff_ns = POLL_FIRST_NS;
    for (;;) {
        if (c->cancel && *c->cancel)
            return PLUMB_ECANCELED;
        int64_t wait_ns = -1; /* forever */
        if (c->deadline_ns || c->cancel || c->pidfd < 0) {
            int64_t now = plumb_clock_now_ns();
            if (c->deadline_ns) {
                if (now >= c->deadline_ns) {
                    *t_end = now;
                    return PLUMB_ETIMEDOUT;
                }
                wait_ns = c->deadline_ns - now;
            }
            if (c->cancel)
                wait_ns = shorter(wait_ns, CANCEL_SLICE_NS);
            if (c->pidfd < 0) {
                wait_ns = shorter(wait_ns, backoff_ns);
                backoff_ns = shorter(backoff_ns * 2, POLL_MAX_NS);
            }
        }

        struct pollfd fds[2];
        nfds_t n = 0;
        int pid_slot = -1, pipe_slot = -1;
        if (c->pidfd >= 0) {
            fds[n] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
            pid_slot = (int)n++;
        }
        if (c->pipe_fd >= 0) {
            fds[n] = (struct pollfd){.fd = c->pipe_fd, .events = POLLIN};
            pipe_slot = (int)n++;
        }
        struct timespec ts = {.tv_sec = (time_t)(wait_ns / NS_PER_SEC),
                              .tv_nsec = (long)(wait_ns % NS_PER_SEC)};
        int ready = ppoll(fds, n, wait_ns < 0 ? NULL : &ts, NULL);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return PLUMB_EIO;
        }
        if (pid_slot >= 0 && fds[pid_slot].revents) {
            *t_end = plumb_clock_now_ns();
            return 0;
        }
        if (pipe_slot >= 0 && fds[pipe_slot].revents) {
            int r = drain(c->pipe_fd, c->sink, READS_WHILE_RUNNING);
            if (r < 0)
                return r;
            if (r == 0)
                c->pipe_fd = -1; /* end of file: nothing more to wait for */
        }
        if (c->pidfd < 0 && exited(c->pid)) {
            *t_end = plumb_clock_now_ns();
            return 0;
        }
    }
}

/* Blocks until the child is a zombie, without reaping it. */
static void wait_zombie(pid_t pid)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR)
        ;
}

static int reap(pid_t pid, int *status, struct rusage *usage)
{
    for (;;) {
        pid_t r = wait4(pid, status, 0, usage);
        if (r == pid)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return PLUMB_EIO;
    }
}

/* Kills the child's whole process group: its descendants too, unless they
 * moved to a group of their own. The child is unreaped, so its pid, and so
 * the group id, cannot have been reused. */
static void kill_group(pid_t pid)
{
    if (kill(-pid, SIGKILL) != 0)
        kill(pid, SIGKILL);
}

/* ---- accounting ---------------------------------------------------------- */

static int64_t timeval_ns(struct timeval tv)
{
    return (int64_t)tv.tv_sec * NS_PER_SEC + (int64_t)tv.tv_usec * 1000;
}

/* /proc/PID/io of the unreaped child: its own I/O plus that of the
 * descendants it reaped. Unreadable (no task I/O accounting, a set-uid
 * child) leaves the metrics unavailable. */
static void read_io(pid_t pid, plumb_sample_t *s)
{
    static const struct {
        const char *key;
        plumb_metric_t metric;
    } fields[] = {
        {"rchar", PLUMB_METRIC_RCHAR},
        {"wchar", PLUMB_METRIC_WCHAR},
        {"syscr", PLUMB_METRIC_READ_SYSCALLS},
        {"syscw", PLUMB_METRIC_WRITE_SYSCALLS},
        {"read_bytes", PLUMB_METRIC_READ_BYTES},
        {"write_bytes", PLUMB_METRIC_WRITE_BYTES},
    };
    char path[64], text[1024];
    ssize_t n;

    snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    do
        n = read(fd, text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return;
    text[n] = '\0';

    /* Lines of "key: value". */
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
                if (strcmp(line, fields[i].key) == 0) {
                    char *after;
                    long long v = strtoll(colon + 1, &after, 10);
                    if (after != colon + 1 && v >= 0)
                        s->metric[fields[i].metric] = v;
                }
        }
        if (!end)
            break;
        line = end + 1;
    }
}

/* Our own peak RSS in bytes, the floor under every child's max RSS (see
 * the top of the file); -1 when unknown. */
static int64_t own_peak_rss(void)
{
    struct rusage self;
    if (getrusage(RUSAGE_SELF, &self) != 0)
        return -1;
    return (int64_t)self.ru_maxrss * 1024;
}

static void store_usage(const struct rusage *ru, int status,
                        int64_t rss_floor, plumb_sample_t *s)
{
    int64_t user = timeval_ns(ru->ru_utime), sys = timeval_ns(ru->ru_stime);
    int64_t max_rss = (int64_t)ru->ru_maxrss * 1024; /* KiB */
    s->metric[PLUMB_METRIC_USER] = user;
    s->metric[PLUMB_METRIC_SYS] = sys;
    s->metric[PLUMB_METRIC_CPU] = user + sys;
    /* At or near the floor, the number may be ours, not the child's. */
    if (rss_floor >= 0 && max_rss > rss_floor + RSS_FLOOR_SLACK_BYTES)
        s->metric[PLUMB_METRIC_MAX_RSS] = max_rss;
    s->metric[PLUMB_METRIC_MINOR_FAULTS] = ru->ru_minflt;
    s->metric[PLUMB_METRIC_MAJOR_FAULTS] = ru->ru_majflt;
    s->metric[PLUMB_METRIC_VOL_CTXSW] = ru->ru_nvcsw;
    s->metric[PLUMB_METRIC_INVOL_CTXSW] = ru->ru_nivcsw;
    if (WIFSIGNALED(status)) {
        s->exit_code = -1;
        s->term_signal = WTERMSIG(status);
    } else {
        s->exit_code = WEXITSTATUS(status);
        s->term_signal = 0;
    }
}

/* ---- the public functions ------------------------------------------------ */

int plumb_proc_run(const plumb_proc_opts_t *opts, plumb_sample_t *sample)
{
    spawn_plan_t plan = {0};
    sink_t tail = {0};
    plumb__counters_reading_t before, after;
    struct rusage usage;
    int err = 0, null_fd = -1, pipe_fds[2] = {-1, -1}, pidfd = -1;
    int status = 0, reaped = 0, counting = 0;
    int64_t t0, t1 = 0, rss_floor;
    pid_t pid = -1;

    if (!opts || !sample || !opts->argv || !opts->argv[0] ||
        opts->timeout_ns < 0)
        return PLUMB_EINVAL;
    plumb_sample_init(sample);
    int want_tail = opts->stderr_tail && opts->stderr_tail_size > 0;
    if (want_tail) {
        tail = (sink_t){.buf = opts->stderr_tail,
                        .cap = opts->stderr_tail_size - 1,
                        .ring = 1};
        opts->stderr_tail[0] = '\0';
    }
    if (opts->cancel && *opts->cancel)
        return PLUMB_ECANCELED; /* nothing started, nothing to undo */

    if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        err = PLUMB_EIO;
        goto out;
    }
    if (want_tail && (err = open_pipe(pipe_fds)))
        goto out;
    if ((err = plan_init(&plan, null_fd, opts->show_output ? -1 : null_fd,
                         pipe_fds[1])))
        goto out;
    if (opts->counters)
        counting = plumb__counters_read(opts->counters, &before) == 0;
    rss_floor = own_peak_rss();

    t0 = plumb_clock_now_ns();
    if ((err = plan_spawn(&plan, opts->argv, &pid))) {
        pid = -1;
        goto out;
    }
    pidfd = open_pidfd(pid); /* -1: child_wait polls instead */
    child_t child = {
        .pid = pid,
        .pidfd = pidfd,
        .pipe_fd = pipe_fds[0],
        .sink = &tail,
        .deadline_ns = opts->timeout_ns ? t0 + opts->timeout_ns : 0,
        .cancel = opts->cancel,
    };
    err = child_wait(&child, &t1);
    if (err == PLUMB_ETIMEDOUT) {
        kill_group(pid);
        wait_zombie(pid); /* its accounting is final only once it is dead */
        sample->timed_out = 1;
        err = 0;
    }
    if (err)
        goto out; /* killed and reaped below */
    sample->metric[PLUMB_METRIC_WALL] = t1 - t0;

    read_io(pid, sample);
    if (counting && plumb__counters_read(opts->counters, &after) == 0)
        plumb__counters_store(&before, &after, sample);
    err = reap(pid, &status, &usage);
    reaped = 1; /* or gone: either way not ours to wait for any more */
    if (err)
        goto out;
    store_usage(&usage, status, rss_floor, sample);

out:
    if (pid > 0 && !reaped) {
        kill_group(pid);
        reap(pid, &status, NULL);
    }
    if (want_tail) {
        /* The rest of what the child wrote; not waiting for the end of the
         * pipe, which a background grandchild may hold open. */
        if (pipe_fds[0] >= 0)
            drain(pipe_fds[0], &tail, READS_AFTER_EXIT);
        sink_finish(&tail);
    }
    if (pidfd >= 0)
        close(pidfd);
    for (int i = 0; i < 2; i++)
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
    if (null_fd >= 0)
        close(null_fd);
    plan_close(&plan);
    return err;
}

/* 1 when `path` is a regular file we may execute. */
static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

int plumb_proc_which(const char *name, char **path)
{
    if (!name || !path)
        return PLUMB_EINVAL;
    *path = NULL;
    if (!*name)
        return PLUMB_ENOENT;
    if (strchr(name, '/')) {
        if (access(name, F_OK) != 0)
            return PLUMB_ENOENT;
        return (*path = strdup(name)) ? 0 : PLUMB_ENOMEM;
    }

    /* The default of glibc's execvp and posix_spawnp when PATH is unset. */
    const char *dirs = getenv("PATH");
    if (!dirs)
        dirs = "/bin:/usr/bin";
    size_t name_len = strlen(name);
    char *candidate = malloc(strlen(dirs) + name_len + 3);
    if (!candidate)
        return PLUMB_ENOMEM;
    for (const char *dir = dirs;;) {
        size_t dir_len = strcspn(dir, ":");
        if (dir_len == 0) {
            /* An empty entry means the current directory. */
            memcpy(candidate, ".", 1);
            dir_len = 1;
        } else {
            memcpy(candidate, dir, dir_len);
        }
        candidate[dir_len] = '/';
        memcpy(candidate + dir_len + 1, name, name_len + 1);
        if (is_executable(candidate)) {
            *path = candidate;
            return 0;
        }
        dir += strcspn(dir, ":");
        if (!*dir)
            break;
        dir++;
    }
    free(candidate);
    return PLUMB_ENOENT;
}

int plumb_proc_capture(char *const *argv, char *out, size_t size)
{
    spawn_plan_t plan = {0};
    sink_t head = {0};
    int err = 0, null_fd = -1, pipe_fds[2] = {-1, -1}, pidfd = -1;
    int status = 0, reaped = 0;
    int64_t t_end;
    pid_t pid = -1;

    if (!argv || !argv[0] || !out || size == 0)
        return PLUMB_EINVAL;
    head = (sink_t){.buf = out, .cap = size - 1};
    out[0] = '\0';

    if ((null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        err = PLUMB_EIO;
        goto out;
    }
    if ((err = open_pipe(pipe_fds)) ||
        (err = plan_init(&plan, null_fd, pipe_fds[1], null_fd)))
        goto out;
    if ((err = plan_spawn(&plan, argv, &pid))) {
        pid = -1;
        goto out;
    }
    close(pipe_fds[1]);
    pipe_fds[1] = -1;
    pidfd = open_pidfd(pid);
    child_t child = {
        .pid = pid,
        .pidfd = pidfd,
        .pipe_fd = pipe_fds[0],
        .sink = &head,
        .deadline_ns = plumb_clock_now_ns() + CAPTURE_TIMEOUT_NS,
    };
    if ((err = child_wait(&child, &t_end)))
        goto out;
    err = reap(pid, &status, NULL);
    reaped = 1;
    if (!err && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        err = PLUMB_EFAILED;

out:
    if (pid > 0 && !reaped) {
        kill_group(pid);
        reap(pid, &status, NULL);
    }
    if (pipe_fds[0] >= 0)
        drain(pipe_fds[0], &head, READS_AFTER_EXIT);
    sink_finish(&head);
    while (head.len > 0 &&
           (out[head.len - 1] == '\n' || out[head.len - 1] == '\r'))
        out[--head.len] = '\0';
    if (pidfd >= 0)
        close(pidfd);
    for (int i = 0; i < 2; i++)
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
    if (null_fd >= 0)
        close(null_fd);
    plan_close(&plan);
    return err;
}

/* vfork's child shares our memory and stack until it exits; keeping the
 * call in a function of its own keeps the caller's locals out of reach. */
static __attribute__((noinline)) pid_t start_bare_child(void)
{
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    return pid;
}

/* One harness round trip without a program: the same clone(CLONE_VM |
 * CLONE_VFORK) that posix_spawn makes, a child that exits at once, then
 * exactly what plumb_proc_run does to notice the exit (pidfd, ppoll). */
static int time_bare_child(int64_t *ns)
{
    int64_t t0 = plumb_clock_now_ns(), t1 = 0;
    int status, err;
    pid_t pid = start_bare_child();
    if (pid < 0)
        return errno == ENOMEM ? PLUMB_ENOMEM : PLUMB_EEXEC;
    int pidfd = open_pidfd(pid);
    child_t child = {.pid = pid, .pidfd = pidfd, .pipe_fd = -1};
    err = child_wait(&child, &t1);
    if (reap(pid, &status, NULL) != 0 && !err)
        err = PLUMB_EIO;
    if (pidfd >= 0)
        close(pidfd);
    *ns = t1 - t0;
    return err;
}

static int compare_ns(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* What it leaves out is what the command itself costs: exec, the dynamic
 * loader, the program's run and exit. What it includes is the fixed part
 * of every wall time that is plumb's: creating and tearing down a process
 * and learning that it ended. */
int plumb_proc_overhead(unsigned reps, int64_t *overhead_ns)
{
    int64_t *times = NULL;
    int err = 0;

    if (!reps || !overhead_ns)
        return PLUMB_EINVAL;
    if (!(times = malloc(reps * sizeof *times)))
        return PLUMB_ENOMEM;
    for (unsigned i = 0; i < reps; i++)
        if ((err = time_bare_child(&times[i])))
            goto out;
    qsort(times, reps, sizeof *times, compare_ns);
    *overhead_ns = reps % 2 ? times[reps / 2]
                            : (times[reps / 2 - 1] + times[reps / 2]) / 2;
out:
    free(times);
    return err;
}
