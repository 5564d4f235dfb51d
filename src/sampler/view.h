/* view.h: one sample's view of a target's memory. A sample reads the same
 * few places again and again (the runtime, a thread state, the frames that
 * lie side by side in the thread's data stack, code objects allocated
 * together); the view reads each block of memory once per sample, so a
 * sample costs a handful of system calls instead of one per field. Blocks
 * needed together can be fetched in one vectored read. Internal to
 * libplumb.
 *
 * A view never outlives its sample's truth: plumb__view_reset forgets
 * every block, and the next reads see the target as it is then. */
#ifndef PLUMB_SAMPLER_VIEW_H
#define PLUMB_SAMPLER_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "sampler/target.h"

typedef struct plumb__view plumb__view_t;

/* A view of t holding up to `pages` blocks of `block` bytes at once (older
 * ones are evicted in turn when a sample needs more). The block is a power
 * of two that divides the target's page size. Small blocks are cheaper for
 * the target: every cache line read is taken from the target's core, which
 * pays for it when it next writes there (its frames, its thread state),
 * while the system call costs much the same for 64 bytes as for a page. */
int plumb__view_new(plumb__target_t *t, size_t pages, size_t block,
                    plumb__view_t **out);
void plumb__view_free(plumb__view_t *v);

/* Forgets every block held. */
void plumb__view_reset(plumb__view_t *v);

/* Starts a new sample: forgets every block, then reads again, in one
 * system call, the blocks the previous sample read from (not those it
 * fetched and did not need, which would otherwise be read again by every
 * sample after it). A program that runs
 * the same code keeps its stacks in the same places, so a sample in the
 * steady state costs one read (and its blocks are read at one instant). A
 * block that is no longer mapped is skipped. Fails only when the process
 * is gone or may not be read. */
int plumb__view_renew(plumb__view_t *v);

/* Reads len bytes at addr from the blocks held, fetching those missing.
 * Errors as plumb__target_read. */
int plumb__view_read(plumb__view_t *v, uint64_t addr, void *buf, size_t len);

/* Fetches, in one system call where it can, the blocks under the n ranges
 * [addrs[i], addrs[i] + len) that are not held yet. Best effort: a block
 * that cannot be read is left for plumb__view_read to report. Fails only
 * when the process is gone or may not be read. */
int plumb__view_prefetch(plumb__view_t *v, const uint64_t *addrs, size_t n,
                         size_t len);

/* System calls the view has made since it was created. */
uint64_t plumb__view_reads(const plumb__view_t *v);

#endif
