/* target.c: reading another process's memory from outside (Linux), for the
 * sampler. It owns opening a pid (with the checks that turn "no such
 * process" and "permission denied" into sentences a user can act on) and
 * reading bytes and strings at addresses in it. It never stops, attaches
 * to or signals the process, and it does not know what the bytes mean
 * (python.c and unwind.c do).
 *
 * Reads go through process_vm_readv: one system call, no ptrace stop, the
 * same permission check as PTRACE_ATTACH (PTRACE_MODE_ATTACH_REALCREDS,
 * including Yama's ptrace_scope). Kernels built without it (ENOSYS) are
 * read through pread on /proc/PID/mem, opened once at the first ENOSYS.
 */
#define _GNU_SOURCE
#include "plumb.h"

#include "sampler/target.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* A kernel thread has no mappings either; it costs us 10 ms to say so. */
#define EMPTY_MAPS_RETRIES 10
#define EMPTY_MAPS_PAUSE_NS 1000000L

struct plumb__target {
    pid_t pid;
    int mem_fd;       /* /proc/PID/mem once process_vm_readv said ENOSYS */
    size_t page_size; /* read_string never reads across a page boundary */
};

/* ---- helpers ------------------------------------------------------------ */

/* The process's command name (/proc/PID/comm) in buf[size], or "?". */
static void read_comm(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        n = read(fd, buf, size - 1);
        close(fd);
    }
    if (n <= 0) {
        snprintf(buf, size, "?");
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* kernel.yama.ptrace_scope, or -1 when Yama is not there. */
static int read_ptrace_scope(void)
{
    char text[16];
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return atoi(text);
}

static void say_access_denied(pid_t pid, char *why, size_t why_size)
{
    char comm[64], yama[256] = "";
    read_comm(pid, comm, sizeof comm);
    int scope = read_ptrace_scope();
    if (scope == 1)
        snprintf(yama, sizeof yama,
                 "; kernel.yama.ptrace_scope is 1, so only a parent may read "
                 "its child: start the program under plumb, run as root, or "
                 "set it to 0 (sysctl kernel.yama.ptrace_scope=0)");
    else if (scope == 2)
        snprintf(yama, sizeof yama,
                 "; kernel.yama.ptrace_scope is 2, so only a process with "
                 "CAP_SYS_PTRACE (root) may read another");
    else if (scope >= 3)
        snprintf(yama, sizeof yama,
                 "; kernel.yama.ptrace_scope is %d, which forbids reading "
                 "another process until the next reboot", scope);
    snprintf(why, why_size,
             "permission denied reading the memory of process %ld (%s): run "
             "plumb as the same user as the process or as root; in a "
             "container, add the CAP_SYS_PTRACE capability (docker run "
             "--cap-add SYS_PTRACE)%s",
             (long)pid, comm, yama);
}

/* The start of the first readable mapping of pid worth probing (not
 * [vvar] or [vsyscall], which process_vm_readv cannot read): 0 and
 * *found 1, or a negative errno when maps cannot be opened. *found 0 for a
 * process without memory (a zombie, a kernel thread). */
static int first_readable_mapping(pid_t pid, uint64_t *addr, int *found)
{
    char path[64], line[4096 + 256];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "re");
    *found = 0;
    if (!f)
        return -errno;
    while (fgets(line, sizeof line, f)) {
        unsigned long long start, end;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3)
            continue;
        if (perms[0] != 'r' || strstr(line, "[vvar") ||
            strstr(line, "[vsyscall]"))
            continue;
        *addr = start;
        *found = 1;
        break;
    }
    fclose(f);
    return 0;
}

/* 1 when pid is a zombie: it has exited and waits to be reaped. */
static int process_is_zombie(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *state = strrchr(text, ')'); /* after "pid (comm)" */
    return state && (state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X'));
}

/* 1 when /proc/PID is still there (a zombie counts). */
static int process_exists(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%ld", (long)pid);
    return stat(path, &st) == 0;
}

static int open_proc_mem(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/mem", (long)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* One read through /proc/PID/mem: the whole range or an error. */
static int read_proc_mem(plumb__target_t *t, uint64_t addr, void *buf,
                         size_t len)
{
    if (t->mem_fd < 0) {
        t->mem_fd = open_proc_mem(t->pid);
        if (t->mem_fd < 0) {
            if (errno == ENOENT || errno == ESRCH)
                return PLUMB_ENOTFOUND;
            return errno == EACCES || errno == EPERM ? PLUMB_EACCESS
                                                     : PLUMB_EIO;
        }
    }
    if (addr > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - addr)
        return PLUMB_EIO; /* beyond what an off_t can name */
    size_t done = 0;
    int reopened = 0;
    while (done < len) {
        ssize_t n = pread(t->mem_fd, (char *)buf + done, len - done,
                          (off_t)(addr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EACCES || errno == EPERM))
            return PLUMB_EACCESS;
        if (n == 0 && !reopened && process_exists(t->pid)) {
            /* The file reads the address space the process had when it
             * was opened; after an exec that one is gone (EOF). */
            int fd = open_proc_mem(t->pid);
            reopened = 1;
            if (fd >= 0) {
                close(t->mem_fd);
                t->mem_fd = fd;
            }
            continue;
        }
        if (n <= 0) /* EIO for an unmapped page; 0 once the mm is gone */
            return process_exists(t->pid) ? PLUMB_EIO : PLUMB_ENOTFOUND;
        done += (size_t)n;
    }
    return 0;
}

/* ---- the target --------------------------------------------------------- */

int plumb__target_open(pid_t pid, plumb__target_t **out, char *why,
                       size_t why_size)
{
    plumb__target_t *t = NULL;
    char scratch[1];
    int err = 0;

    if (!out || (why_size > 0 && !why))
        return PLUMB_EINVAL;
    *out = NULL;
    if (!why || why_size == 0) { /* sentences go nowhere */
        why = scratch;
        why_size = sizeof scratch;
    }
    why[0] = '\0';
    if (pid <= 0) {
        snprintf(why, why_size, "%ld is not a process id", (long)pid);
        return PLUMB_EINVAL;
    }
    if (!process_exists(pid)) {
        snprintf(why, why_size,
                 "no process with pid %ld: it has exited, or the id is "
                 "wrong; list Python processes with `pgrep -a python`",
                 (long)pid);
        return PLUMB_ENOTFOUND;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return PLUMB_ENOMEM;
    t->pid = pid;
    t->mem_fd = -1;
    long page = sysconf(_SC_PAGESIZE);
    t->page_size = page > 0 ? (size_t)page : 4096;

    /* Reading /proc/PID/maps already needs ptrace read access; the probe
     * read then checks the stricter attach access process_vm_readv needs. */
    uint64_t probe_addr = 0;
    int found = 0, sys_err = 0;
    for (int attempt = 0;; attempt++) {
        sys_err = first_readable_mapping(pid, &probe_addr, &found);
        /* maps read empty when the process exec'd between our open and
         * read (the file holds the old, dropped address space): common
         * right after a fork. Look again, briefly, unless it has exited. */
        if (sys_err != 0 || found || attempt == EMPTY_MAPS_RETRIES ||
            process_is_zombie(pid))
            break;
        struct timespec pause_ts = {0, EMPTY_MAPS_PAUSE_NS};
        nanosleep(&pause_ts, NULL);
    }
    if (sys_err == -EACCES || sys_err == -EPERM) {
        say_access_denied(pid, why, why_size);
        err = PLUMB_EACCESS;
        goto out;
    }
    if (sys_err == -ENOMEM) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    if (sys_err != 0 || !found) {
        snprintf(why, why_size,
                 process_exists(pid)
                     ? "process %ld has no memory to read: it has exited "
                       "or is a kernel thread"
                     : "process %ld exited while plumb was attaching",
                 (long)pid);
        err = PLUMB_ENOTFOUND;
        goto out;
    }
    unsigned char byte;
    err = plumb__target_read(t, probe_addr, &byte, 1);
    if (err == PLUMB_EACCESS) {
        say_access_denied(pid, why, why_size);
    } else if (err == PLUMB_ENOTFOUND) {
        snprintf(why, why_size, "process %ld exited while plumb was attaching",
                 (long)pid);
    } else if (err == PLUMB_EIO) {
        /* The mapping went away between maps and the read: the process
         * is changing, but it is readable. */
        err = 0;
    }

out:
    if (err != 0) {
        plumb__target_close(t);
        return err;
    }
    *out = t;
    return 0;
}

void plumb__target_close(plumb__target_t *t)
{
    if (!t)
        return;
    if (t->mem_fd >= 0)
        close(t->mem_fd);
    free(t);
}

pid_t plumb__target_pid(const plumb__target_t *t)
{
    return t ? t->pid : -1;
}

/* What a failed process_vm_readv's errno means for the reader. */
static int read_error(int err)
{
    switch (err) {
    case ESRCH:
        return PLUMB_ENOTFOUND;
    case EPERM:
    case EACCES:
        return PLUMB_EACCESS;
    case ENOMEM:
        return PLUMB_ENOMEM;
    default: /* EFAULT: not mapped; EINVAL: a length the kernel refuses */
        return PLUMB_EIO;
    }
}

int plumb__target_read(plumb__target_t *t, uint64_t addr, void *buf,
                       size_t len)
{
    if (!t || (!buf && len > 0))
        return PLUMB_EINVAL;
    if (len == 0)
        return 0;
    if (addr > UINTPTR_MAX || len - 1 > UINT64_MAX - addr)
        return PLUMB_EIO; /* wraps around the address space */
    if (t->mem_fd >= 0)
        return read_proc_mem(t, addr, buf, len);

    struct iovec local = {.iov_base = buf, .iov_len = len};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)addr,
                           .iov_len = len};
    ssize_t n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len)
        return 0;
    if (n >= 0) /* a partial read: the range ends in an unmapped page */
        return PLUMB_EIO;
    if (errno == ENOSYS)
        return read_proc_mem(t, addr, buf, len);
    return read_error(errno);
}

/* At most this many spans go in one process_vm_readv (IOV_MAX is 1024). */
#define READV_BATCH 64

/* A span process_vm_readv can be asked for: not empty, not wrapping. */
static int span_readable(const plumb__span_t *s)
{
    return s->len > 0 && s->addr <= UINTPTR_MAX &&
           s->len - 1 <= UINT64_MAX - s->addr;
}

int plumb__target_readv(plumb__target_t *t, const plumb__span_t *spans,
                        size_t n, size_t *done)
{
    if (!t || !done || (!spans && n > 0))
        return PLUMB_EINVAL;
    *done = 0;
    while (*done < n) {
        const plumb__span_t *batch = spans + *done;
        struct iovec local[READV_BATCH], remote[READV_BATCH];
        size_t count = 0;
        while (count < n - *done && count < READV_BATCH &&
               span_readable(&batch[count]))
            count++;
        if (count == 0)
            return 0;
        ssize_t got = -1;
        if (t->mem_fd < 0) {
            for (size_t i = 0; i < count; i++) {
                local[i].iov_base = batch[i].buf;
                local[i].iov_len = batch[i].len;
                remote[i].iov_base = (void *)(uintptr_t)batch[i].addr;
                remote[i].iov_len = batch[i].len;
            }
            got = process_vm_readv(t->pid, local, (unsigned long)count,
                                   remote, (unsigned long)count, 0);
        }
        if (got < 0 && (t->mem_fd >= 0 || errno == ENOSYS)) {
            /* /proc/PID/mem: one span at a time */
            int err = plumb__target_read(t, batch[0].addr, batch[0].buf,
                                         batch[0].len);
            if (err == PLUMB_EIO)
                return 0;
            if (err)
                return err;
            (*done)++;
            continue;
        }
        if (got < 0) {
            int err = read_error(errno);
            return err == PLUMB_EIO ? 0 : err; /* the first span unmapped */
        }
        /* the kernel stops at the first byte it cannot read */
        size_t left = (size_t)got, full = 0;
        while (full < count && left >= batch[full].len)
            left -= batch[full++].len;
        *done += full;
        if (full < count)
            return 0;
    }
    return 0;
}

size_t plumb__target_page_size(const plumb__target_t *t)
{
    return t ? t->page_size : 4096;
}

int plumb__target_read_string(plumb__target_t *t, uint64_t addr, char *buf,
                              size_t size)
{
    if (!t || !buf || size == 0)
        return PLUMB_EINVAL;
    /* Read page by page, so a short string near the end of a mapping does
     * not fail for the unmapped bytes past its NUL. */
    size_t done = 0, want = size - 1;
    while (done < want) {
        uint64_t at = addr + done;
        if (at < addr) {
            buf[0] = '\0';
            return PLUMB_EIO;
        }
        size_t to_page_end = t->page_size - (size_t)(at % t->page_size);
        size_t chunk = want - done < to_page_end ? want - done : to_page_end;
        int err = plumb__target_read(t, at, buf + done, chunk);
        if (err != 0) {
            buf[0] = '\0';
            return err;
        }
        if (memchr(buf + done, '\0', chunk))
            return 0;
        done += chunk;
    }
    buf[want] = '\0'; /* longer than the buffer: truncated */
    return 0;
}
