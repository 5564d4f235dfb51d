/* stack.h: the internal side of plumb_stack_t, for tests only: how much the
 * aggregate holds, so that a test can check that adding a stack already seen
 * allocates nothing, and a switch that makes an allocation fail, so that a
 * test can walk the out-of-memory paths. Nothing here allocates.
 */
#ifndef PLUMB_STACK_H
#define PLUMB_STACK_H

#include <stddef.h>

#include "plumb.h"

typedef struct {
    size_t nodes;          /* trie nodes, the root and thread nodes included */
    size_t strings;        /* distinct interned strings */
    size_t string_bytes;   /* their bytes, terminators included */
    size_t capacity_bytes; /* every buffer the stack holds, as allocated */
} plumb__stack_stats_t;

void plumb__stack_stats(const plumb_stack_t *st, plumb__stack_stats_t *out);

/* Makes the nth allocation of the stack module from now fail (1: the next
 * one), to test that every path reports PLUMB_ENOMEM and leaves the stack
 * whole; 0 turns it off. Returns how many allocations the previous setting
 * still had to wait (0: it fired, or was off). The allocations jansson
 * makes are not counted. Not thread-safe: for tests only. */
unsigned long plumb__stack_fail_alloc(unsigned long nth);

#endif
