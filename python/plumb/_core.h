/* _core.h: the parts of the extension plumb._core, one C file per noun in
 * python/plumb/. _core.c creates the module and calls each part's
 * plumb_py_add_* to add its types and functions; a part returns 0, or -1
 * with a Python exception set. Like everything in the extension, these
 * names are hidden (only PyInit__core is exported). */
#ifndef PLUMB_PY_CORE_H
#define PLUMB_PY_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "plumb.h"

/* _store.c: store_path, store_open, store_save, store_load, store_find
 * and StoreError. */
int plumb_py_add_store(PyObject *m);

/* _timer.c: Stats, Timed, Timing, now_ns (plumb.timed, plumb.timer) */
int plumb_py_add_timer(PyObject *m);
/* plumb.profile's sampler and finished profiles (_profiler.c). */
int plumb_py_add_profiler(PyObject *m);
/* A ProfileData that owns p (freed here on failure). */
PyObject *plumb_py_profile_data(plumb_profile_t *p);

/* _watch.c: the watchdog that profiles calls slower than a threshold
 * while they run. begin claims a slot for the calling thread's call, or
 * -1 (nested in a watched call of the same thread, or every slot taken);
 * end gives the slot back with the profile of the part of the call past
 * its deadline, or NULL (it ended before, or could not be profiled).
 * Both are called with the GIL held; end releases it while it waits for
 * the sampler. */
int plumb_py_watch_begin(int64_t start_ns, int64_t threshold_ns);
plumb_profile_t *plumb_py_watch_end(int slot);

/* _mem.c: the memory recorder of plumb.memory and plumb mem (mem_start,
 * mem_stop, mem_snapshot, MemData). */
int plumb_py_add_mem(PyObject *m);

/* _sql.c: sql_report, sql_fingerprint and SqlError (plumb.sql). */
int plumb_py_add_sql(PyObject *m);

/* _memstack.c: the calling thread's Python stack, read in place. A frame
 * is the code object running and the byte offset of its instruction. */
typedef struct {
    PyCodeObject *code;
    int offset;
} plumb_py_mem_frame_t;
/* Fills out[0..n) innermost first and returns n; *truncated is 1 when the
 * stack had more than max frames. No allocation, no call into Python: safe
 * inside an allocator hook. The GIL must be held; 0 frames without a
 * thread state. */
size_t plumb_py_mem_stack(plumb_py_mem_frame_t *out, size_t max,
                          int *truncated);
/* The frame's line (0 unknown) and function name (borrowed). GIL held. */
int plumb_py_mem_frame_line(const plumb_py_mem_frame_t *f);
PyObject *plumb_py_mem_frame_name(const plumb_py_mem_frame_t *f);

#endif /* PLUMB_PY_CORE_H */
