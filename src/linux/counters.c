/* counters.c: hardware instruction and cycle counters of child processes,
 * through perf_event_open (Linux). It owns opening, reading and scaling the
 * counters; proc decides when to read them around a run, and nothing here
 * knows about runs.
 *
 * How a child gets counted: the counters are opened on plumb's own thread,
 * disabled, with inherit and enable_on_exec. They never count plumb, but
 * every child spawned afterwards inherits a copy that the kernel enables
 * when the child execs, and a child's counts are added to our counters when
 * it exits. What one run counted is therefore a read after the child
 * exited minus a read before it was spawned. Children must be spawned from
 * the thread that opened the counters.
 */
#define _GNU_SOURCE
#include "counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct plumb_counters {
    int fd[PLUMB__COUNTERS_N];
    /* A disabled event that children do not inherit. The kernel marks a
     * child's counter context as a clone of its parent's when every event
     * is inherited, and then swaps the two contexts at a context switch
     * between parent and child instead of rescheduling them. The child's
     * exec then enables, and its exit tears down, plumb's own events: the
     * counters stop counting after a run or two (seen on 6.x, worst when
     * parent and child share a CPU). One event that is not inherited makes
     * the contexts differ, and the swap never happens. */
    int pin_fd;
};

static const plumb_metric_t counter_metric[PLUMB__COUNTERS_N] = {
    PLUMB_METRIC_INSTRUCTIONS,
    PLUMB_METRIC_CYCLES,
};

/* Static sentences for *reason, one per errno perf_event_open is known to
 * give; a table rather than strerror() into a buffer, so that the reason
 * needs no freeing and stays valid across threads. */
static const char *unavailable_reason(int err)
{
    switch (err) {
    case ENOENT:
        return "hardware counters unavailable "
               "(perf_event_open: No such file or directory)";
    case ENODEV:
        return "hardware counters unavailable "
               "(perf_event_open: No such device)";
    case EOPNOTSUPP:
        return "hardware counters unavailable "
               "(perf_event_open: Operation not supported)";
    case ENOSYS:
        return "hardware counters unavailable "
               "(perf_event_open: Function not implemented)";
    case EACCES:
        return "hardware counters not permitted (perf_event_open: "
               "Permission denied; see /proc/sys/kernel/perf_event_paranoid)";
    case EPERM:
        return "hardware counters not permitted (perf_event_open: "
               "Operation not permitted; see "
               "/proc/sys/kernel/perf_event_paranoid)";
    case EMFILE:
    case ENFILE:
        return "hardware counters unavailable "
               "(perf_event_open: Too many open files)";
    case EINVAL:
        return "hardware counters unavailable "
               "(perf_event_open: Invalid argument)";
    default:
        return "hardware counters unavailable (perf_event_open failed)";
    }
}

static int open_event(uint32_t type, uint64_t config, int inherit,
                      int exclude_kernel)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    attr.disabled = 1;
    attr.inherit = inherit ? 1 : 0;
    attr.enable_on_exec = inherit ? 1 : 0;
    attr.exclude_hv = 1;
    attr.exclude_kernel = exclude_kernel ? 1 : 0;
    attr.read_format =
        PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return (int)syscall(SYS_perf_event_open, &attr, 0 /* this thread */,
                        -1 /* any cpu */, -1 /* no group */,
                        PERF_FLAG_FD_CLOEXEC);
}

int plumb__counters_open(uint32_t type,
                         const uint64_t config[PLUMB__COUNTERS_N],
                         plumb_counters_t **out, const char **reason)
{
    plumb_counters_t *c = NULL;
    int err = 0, exclude_kernel = 0;

    if (reason)
        *reason = NULL;
    if (!out || !config)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!(c = malloc(sizeof *c)))
        return PLUMB_ENOMEM;
    c->pin_fd = -1;
    for (int i = 0; i < PLUMB__COUNTERS_N; i++)
        c->fd[i] = -1;

    /* Counting the kernel's share too is closer to the truth; a
     * perf_event_paranoid of 2 or more allows only user space. */
    c->fd[0] = open_event(type, config[0], 1, exclude_kernel);
    if (c->fd[0] < 0 && (errno == EACCES || errno == EPERM)) {
        exclude_kernel = 1;
        c->fd[0] = open_event(type, config[0], 1, exclude_kernel);
    }
    if (c->fd[0] < 0)
        goto fail;
    for (int i = 1; i < PLUMB__COUNTERS_N; i++)
        if ((c->fd[i] = open_event(type, config[i], 1, exclude_kernel)) < 0)
            goto fail;
    if ((c->pin_fd = open_event(type, config[0], 0, exclude_kernel)) < 0)
        goto fail;
    *out = c;
    return 0;

fail:
    err = errno;
    if (reason)
        *reason = unavailable_reason(err);
    plumb_counters_free(c);
    return err == ENOMEM ? PLUMB_ENOMEM : PLUMB_EUNSUPPORTED;
}

int plumb_counters_new(plumb_counters_t **out, const char **reason)
{
    const uint64_t config[PLUMB__COUNTERS_N] = {
        PERF_COUNT_HW_INSTRUCTIONS,
        PERF_COUNT_HW_CPU_CYCLES,
    };
    return plumb__counters_open(PERF_TYPE_HARDWARE, config, out, reason);
}

void plumb_counters_free(plumb_counters_t *counters)
{
    if (!counters)
        return;
    for (int i = 0; i < PLUMB__COUNTERS_N; i++)
        if (counters->fd[i] >= 0)
            close(counters->fd[i]);
    if (counters->pin_fd >= 0)
        close(counters->pin_fd);
    free(counters);
}

int plumb__counters_read(const plumb_counters_t *counters,
                         plumb__counters_reading_t *reading)
{
    for (int i = 0; i < PLUMB__COUNTERS_N; i++) {
        uint64_t values[3]; /* count, time enabled, time running */
        ssize_t n;
        do
            n = read(counters->fd[i], values, sizeof values);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof values)
            return PLUMB_EIO;
        reading->count[i] = values[0];
        reading->enabled_ns[i] = values[1];
        reading->running_ns[i] = values[2];
    }
    return 0;
}

void plumb__counters_store(const plumb__counters_reading_t *before,
                           const plumb__counters_reading_t *after,
                           plumb_sample_t *sample)
{
    for (int i = 0; i < PLUMB__COUNTERS_N; i++) {
        uint64_t count = after->count[i] - before->count[i];
        uint64_t enabled = after->enabled_ns[i] - before->enabled_ns[i];
        uint64_t running = after->running_ns[i] - before->running_ns[i];
        /* Never running means never counted: the child did not inherit the
         * counters (spawned from another thread) or the PMU was busy. */
        if (running == 0)
            continue;
        double scaled = (double)count;
        if (enabled > running)
            scaled *= (double)enabled / (double)running;
        sample->metric[counter_metric[i]] =
            scaled >= 9.2e18 ? INT64_MAX : (int64_t)scaled;
    }
}
