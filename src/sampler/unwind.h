/* unwind.h: reading every Python thread's stack out of a target, given its
 * interpreter (python.h). Version differences live in the offset tables of
 * offsets.c, not in branches here. Names and file names are cached per code
 * object, so a long session reads each string once. Internal to libplumb. */
#ifndef PLUMB_SAMPLER_UNWIND_H
#define PLUMB_SAMPLER_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "plumb.h"
#include "sampler/python.h"
#include "sampler/target.h"

/* Frames are plumb_frame_t (plumb.h), innermost first; their strings
 * belong to the unwinder's cache and live until plumb__unwinder_free. */

/* Deep stacks are cut at this many frames and marked truncated. */
#define PLUMB_MAX_FRAMES 2048

typedef struct {
    uint64_t thread_id;        /* pthread id as Python's threading.get_ident */
    int native_id;             /* kernel tid (for /proc/PID/task/TID) */
    int holds_gil;             /* 1, 0, or -1 when the version cannot say */
    size_t n_frames;
    int truncated;             /* frames beyond PLUMB_MAX_FRAMES dropped */
    plumb_frame_t frames[PLUMB_MAX_FRAMES];
} plumb__thread_stack_t;

typedef struct plumb__unwinder plumb__unwinder_t;

/* PLUMB_EUNSUPPORTED when py's version has no offset table; `why` names the
 * version and the supported ones. */
int plumb__unwinder_new(plumb__target_t *t, const plumb__python_t *py,
                        plumb__unwinder_t **out, char *why, size_t why_size);
void plumb__unwinder_free(plumb__unwinder_t *u);

/* Reads every thread's stack into stacks[0..*n) (at most max threads).
 * PLUMB_EIO when a read was torn (the process changed while being read):
 * the whole sample is discarded, never half-invented; PLUMB_ENOTFOUND when
 * the process is gone. */
int plumb__unwind(plumb__unwinder_t *u, plumb__thread_stack_t *stacks,
                  size_t max, size_t *n);

/* System calls the unwinder's samples have made to read the target (the
 * code objects decoded on first sight aside). */
uint64_t plumb__unwinder_reads(const plumb__unwinder_t *u);

/* "3.8, 3.9, 3.10, 3.11, 3.12, 3.13": the versions with offset tables. */
const char *plumb__unwind_supported(void);

#endif
