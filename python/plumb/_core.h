/* _core.h: the parts of the extension plumb._core, one C file per noun in
 * python/plumb/. _core.c creates the module and calls each part's
 * plumb_py_add_* to add its types and functions; a part returns 0, or -1
 * with a Python exception set. Like everything in the extension, these
 * names are hidden (only PyInit__core is exported). */
#ifndef PLUMB_PY_CORE_H
#define PLUMB_PY_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* _store.c: store_path, store_open, store_save, store_load, store_find
 * and StoreError. */
int plumb_py_add_store(PyObject *m);

/* _timer.c: Stats, Timed, Timing, now_ns (plumb.timed, plumb.timer) */
int plumb_py_add_timer(PyObject *m);

#endif /* PLUMB_PY_CORE_H */
