/* python.h: finding the CPython interpreter inside a target: which binary
 * or libpython holds it, its version, and the address of its runtime state
 * (_PyRuntime). Internal to libplumb. */
#ifndef PLUMB_SAMPLER_PYTHON_H
#define PLUMB_SAMPLER_PYTHON_H

#include <stddef.h>
#include <stdint.h>

#include "sampler/target.h"

typedef struct {
    int major, minor, micro;  /* 3, 12, 1 */
    uint64_t runtime_addr;    /* address of _PyRuntime in the target */
    char binary[4096];        /* path of the ELF file that holds it */
} plumb__python_t;

/* Finds the interpreter in t through the ELF symbol tables of the mapped
 * executable or libpython (static and shared builds, PIE). PLUMB_ENOTFOUND
 * (with `why`) when the target is not CPython or has not initialised its
 * runtime yet (callers retry for a while after launching a process). */
int plumb__python_find(plumb__target_t *t, plumb__python_t *out, char *why,
                       size_t why_size);

#endif
