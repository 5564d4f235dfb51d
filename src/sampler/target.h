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
/* Reads a NUL-terminated string of at most size-1 bytes. */
int plumb__target_read_string(plumb__target_t *t, uint64_t addr, char *buf,
                              size_t size);

#endif
