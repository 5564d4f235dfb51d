/* target.h: a process plumb reads from outside: its memory (through
 * process_vm_readv, never stopping it) and its mappings. Internal to
 * libplumb. The target never owns the process: closing it leaves the
 * process running. */
#ifndef PLUMB_SAMPLER_TARGET_H
#define PLUMB_SAMPLER_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct plumb__target plumb__target_t;

/* Opens pid for reading. PLUMB_ENOTFOUND when there is no such process,
 * PLUMB_EACCESS when plumb may not read it; `why` receives a sentence for
 * the user saying what to do (same user or root, CAP_SYS_PTRACE,
 * kernel.yama.ptrace_scope). */
int plumb__target_open(pid_t pid, plumb__target_t **out, char *why,
                       size_t why_size);
void plumb__target_close(plumb__target_t *t);
pid_t plumb__target_pid(const plumb__target_t *t);

/* Reads len bytes at addr. PLUMB_EIO when the range is not readable (the
 * process changed under us or exited: the caller discards the sample),
 * PLUMB_ENOTFOUND when the process is gone. */
int plumb__target_read(plumb__target_t *t, uint64_t addr, void *buf,
                       size_t len);
/* One range of a vectored read. */
typedef struct {
    uint64_t addr;
    void *buf;
    size_t len;
} plumb__span_t;

/* Reads the spans in order, as one system call where the kernel allows:
 * *done is how many leading spans were read in full (a span that is not
 * mapped stops the read there; the caller may try it alone). 0 unless the
 * process is gone (PLUMB_ENOTFOUND) or may not be read (PLUMB_EACCESS). */
int plumb__target_readv(plumb__target_t *t, const plumb__span_t *spans,
                        size_t n, size_t *done);
/* The target's page size: the unit in which memory is mapped. */
size_t plumb__target_page_size(const plumb__target_t *t);
/* Reads a NUL-terminated string of at most size-1 bytes. */
int plumb__target_read_string(plumb__target_t *t, uint64_t addr, char *buf,
                              size_t size);

#endif
