/* _timer.c: always-on per-call timing for plumb.timed and plumb.timer. A
 * Stats holds one name's durations in a libplumb histogram (fixed memory,
 * quantiles within 0.8%); a Timed wraps a callable and records every call
 * into its Stats through vectorcall, so that what a call costs on top of
 * the callable is two clock readings and a histogram increment; a Timing
 * is one `with` block. A Timed with a threshold has its slow calls
 * profiled by the watchdog (_watch.c) and adds their profiles up in the
 * Stats. The registry of names, the wording and the async
 * wrapper are the Python side's (_timing.py). Everything here runs with
 * the GIL held, which is what serialises the recording.
 */
#include "_core.h"

#include <math.h>
#include <structmember.h>

#include "plumb.h"

/* ---- Stats ---------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *name;
    plumb_histogram_t *histogram;
    uint64_t errors;
    int64_t slower_than_ns; /* the last watched function's threshold; 0 */
    uint64_t slow_calls;    /* calls that took slower_than_ns or more */
    plumb_profile_t *slow;  /* their profiles, added up; NULL: none yet */
} stats_t;

static PyTypeObject stats_type;

static void stats_dealloc(stats_t *self)
{
    Py_XDECREF(self->name);
    plumb_histogram_free(self->histogram);
    plumb_profile_free(self->slow);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *stats_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = {"name", NULL};
    PyObject *name;
    stats_t *self;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "U", names, &name))
        return NULL;
    if (!(self = (stats_t *)type->tp_alloc(type, 0)))
        return NULL;
    if (plumb_histogram_new(&self->histogram) != 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    Py_INCREF(name);
    self->name = name;
    return (PyObject *)self;
}

static inline void stats_record(stats_t *s, int64_t ns, int failed)
{
    plumb_histogram_record(s->histogram, ns);
    if (failed)
        s->errors++;
}

/* Adds one slow call's profile (taken over) to the name's. */
static void stats_add_slow(stats_t *s, plumb_profile_t *p)
{
    if (!s->slow) {
        s->slow = p;
        return;
    }
    plumb_profile_merge(s->slow, p); /* out of memory: what fitted */
    plumb_profile_free(p);
}

PyDoc_STRVAR(stats_record_doc,
"record(ns, failed=False)\n\n"
"Adds one duration in nanoseconds (failed: the call raised).");

static PyObject *stats_record_py(stats_t *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"ns", "failed", NULL};
    long long ns;
    int failed = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "L|p", names, &ns, &failed))
        return NULL;
    stats_record(self, ns, failed);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(stats_snapshot_doc,
"snapshot(quantiles=(0.5, 0.9, 0.99), reset=False) -> dict\n\n"
"count, errors, sum_ns, min_ns, max_ns, mean_ns (None when empty),\n"
"quantiles_ns (one per q, None when empty), slower_than_ns (0 when no\n"
"function of this name is watched) and slow_calls; with reset, the\n"
"durations and slow calls' profiles are forgotten in the same step, so no\n"
"call falls between reading and reset.");

PyDoc_STRVAR(stats_slow_profile_doc,
"slow_profile() -> ProfileData or None\n\n"
"A copy of the added-up profiles of the slow calls (the part of each past\n"
"the threshold), or None when none was profiled.");

static PyObject *stats_slow_profile(stats_t *self, PyObject *unused)
{
    plumb_profile_t *copy = NULL;
    if (!self->slow)
        Py_RETURN_NONE;
    if (plumb_profile_copy(self->slow, &copy) != 0)
        return PyErr_NoMemory();
    return plumb_py_profile_data(copy);
}

static PyObject *stats_snapshot(stats_t *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"quantiles", "reset", NULL};
    static const double default_qs[] = {0.5, 0.9, 0.99};
    PyObject *qs = NULL, *fast = NULL, *values = NULL, *result = NULL;
    plumb_histogram_totals_t t;
    Py_ssize_t n = 3;
    int reset = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op", names, &qs, &reset))
        return NULL;
    if (qs && !(fast = PySequence_Fast(qs, "quantiles must be a sequence of "
                                           "floats")))
        return NULL;
    if (fast)
        n = PySequence_Fast_GET_SIZE(fast);
    if (!(values = PyList_New(n)))
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        double q = default_qs[fast ? 0 : i];
        if (fast) {
            PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
            q = PyFloat_AsDouble(item);
            if (q == -1 && PyErr_Occurred())
                goto out;
            if (!(q >= 0 && q <= 1)) {
                PyErr_Format(PyExc_ValueError,
                             "a quantile is between 0 and 1, not %R", item);
                goto out;
            }
        }
        double v = plumb_histogram_quantile(self->histogram, q);
        PyObject *value = isnan(v) ? Py_NewRef(Py_None)
                                   : PyFloat_FromDouble(v);
        if (!value)
            goto out;
        PyList_SET_ITEM(values, i, value);
    }
    plumb_histogram_totals(self->histogram, &t);
    result = Py_BuildValue(
        "{s:O,s:K,s:K,s:L,s:L,s:L,s:N,s:O,s:L,s:K}", "name", self->name,
        "count", (unsigned long long)t.count, "errors",
        (unsigned long long)self->errors, "sum_ns", (long long)t.sum_ns,
        "min_ns", (long long)t.min_ns, "max_ns", (long long)t.max_ns,
        "mean_ns",
        t.count ? PyFloat_FromDouble(t.mean_ns) : Py_NewRef(Py_None),
        "quantiles_ns", values, "slower_than_ns",
        (long long)self->slower_than_ns, "slow_calls",
        (unsigned long long)self->slow_calls);
    if (result && reset) {
        plumb_histogram_reset(self->histogram);
        self->errors = 0;
        self->slow_calls = 0;
        plumb_profile_free(self->slow);
        self->slow = NULL;
    }
out:
    Py_XDECREF(values);
    Py_XDECREF(fast);
    return result;
}

static PyObject *stats_repr(stats_t *self)
{
    plumb_histogram_totals_t t;
    plumb_histogram_totals(self->histogram, &t);
    return PyUnicode_FromFormat("<plumb._core.Stats %R: %llu calls>",
                                self->name, (unsigned long long)t.count);
}

static PyMethodDef stats_methods[] = {
    {"record", (PyCFunction)(void (*)(void))stats_record_py,
     METH_VARARGS | METH_KEYWORDS, stats_record_doc},
    {"snapshot", (PyCFunction)(void (*)(void))stats_snapshot,
     METH_VARARGS | METH_KEYWORDS, stats_snapshot_doc},
    {"slow_profile", (PyCFunction)stats_slow_profile, METH_NOARGS,
     stats_slow_profile_doc},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef stats_members[] = {
    {"name", T_OBJECT_EX, offsetof(stats_t, name), READONLY,
     "the name the durations are kept under"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject stats_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._core.Stats",
    .tp_basicsize = sizeof(stats_t),
    .tp_dealloc = (destructor)stats_dealloc,
    .tp_repr = (reprfunc)stats_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Stats(name): the durations of one name's calls, in fixed "
              "memory.",
    .tp_methods = stats_methods,
    .tp_members = stats_members,
    .tp_new = stats_new,
};

/* ---- Timed: a callable that records its calls ---------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *fn;
    stats_t *stats;
    int64_t slower_than_ns; /* > 0: profile calls that take this long */
    PyObject *dict; /* __name__, __doc__, __wrapped__ ... (update_wrapper) */
    vectorcallfunc vectorcall;
} timed_t;

static PyTypeObject timed_type;

/* A call watched for slowness (_watch.c): sampled on its own thread past
 * its deadline, its profile added to the name's. */
static PyObject *watched_call(timed_t *self, int64_t start,
                              PyObject *const *args, size_t nargsf,
                              PyObject *kwnames)
{
    int slot = plumb_py_watch_begin(start, self->slower_than_ns);
    PyObject *result = PyObject_Vectorcall(self->fn, args, nargsf, kwnames);
    int64_t took = plumb_clock_now_ns() - start;
    stats_record(self->stats, took, result == NULL);
    if (took >= self->slower_than_ns)
        self->stats->slow_calls++;
    if (slot >= 0) {
        plumb_profile_t *p = plumb_py_watch_end(slot);
        if (p)
            stats_add_slow(self->stats, p);
    }
    return result;
}

static PyObject *timed_call(PyObject *callable, PyObject *const *args,
                            size_t nargsf, PyObject *kwnames)
{
    timed_t *self = (timed_t *)callable;
    int64_t start = plumb_clock_now_ns();
    if (self->slower_than_ns > 0)
        return watched_call(self, start, args, nargsf, kwnames);
    PyObject *result = PyObject_Vectorcall(self->fn, args, nargsf, kwnames);
    stats_record(self->stats, plumb_clock_now_ns() - start, result == NULL);
    return result;
}

static PyObject *timed_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = {"fn", "stats", "slower_than_ns", NULL};
    PyObject *fn, *stats;
    long long slower_than_ns = 0;
    timed_t *self;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO!|L", names, &fn,
                                     &stats_type, &stats, &slower_than_ns))
        return NULL;
    if (slower_than_ns < 0) {
        PyErr_SetString(PyExc_ValueError, "slower_than_ns must be >= 0");
        return NULL;
    }
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "timed: %R is not callable", fn);
        return NULL;
    }
    if (!(self = (timed_t *)type->tp_alloc(type, 0)))
        return NULL;
    self->fn = Py_NewRef(fn);
    self->stats = (stats_t *)Py_NewRef(stats);
    self->slower_than_ns = slower_than_ns;
    if (slower_than_ns > 0)
        self->stats->slower_than_ns = slower_than_ns;
    self->vectorcall = timed_call;
    return (PyObject *)self;
}

static int timed_traverse(timed_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fn);
    Py_VISIT(self->stats);
    Py_VISIT(self->dict);
    return 0;
}

static int timed_clear(timed_t *self)
{
    Py_CLEAR(self->fn);
    Py_CLEAR(self->stats);
    Py_CLEAR(self->dict);
    return 0;
}

static void timed_dealloc(timed_t *self)
{
    PyObject_GC_UnTrack(self);
    timed_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A method: bound like a function, so that `self` reaches fn and the
 * call is still timed. */
static PyObject *timed_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *timed_repr(timed_t *self)
{
    return PyUnicode_FromFormat("<plumb.timed %R of %R>", self->stats->name,
                                self->fn);
}

static PyMemberDef timed_members[] = {
    {"__plumb_stats__", T_OBJECT_EX, offsetof(timed_t, stats), READONLY,
     "the Stats its calls are recorded in"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef timed_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject timed_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._core.Timed",
    .tp_basicsize = sizeof(timed_t),
    .tp_dealloc = (destructor)timed_dealloc,
    .tp_vectorcall_offset = offsetof(timed_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)timed_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "Timed(fn, stats): calls fn and records each call's duration "
              "in stats.",
    .tp_traverse = (traverseproc)timed_traverse,
    .tp_clear = (inquiry)timed_clear,
    .tp_members = timed_members,
    .tp_getset = timed_getset,
    .tp_descr_get = timed_get,
    .tp_dictoffset = offsetof(timed_t, dict),
    .tp_new = timed_new,
};

/* ---- Timing: one `with` block --------------------------------------------- */

typedef struct {
    PyObject_HEAD
    stats_t *stats;
    int64_t start_ns;
    int64_t elapsed_ns; /* -1 until the block ends */
    int running;
} timing_t;

static PyTypeObject timing_type;

static PyObject *timing_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = {"stats", NULL};
    PyObject *stats;
    timing_t *self;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!", names, &stats_type,
                                     &stats))
        return NULL;
    if (!(self = (timing_t *)type->tp_alloc(type, 0)))
        return NULL;
    self->stats = (stats_t *)Py_NewRef(stats);
    self->elapsed_ns = -1;
    return (PyObject *)self;
}

static void timing_dealloc(timing_t *self)
{
    Py_XDECREF(self->stats);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *timing_enter(timing_t *self, PyObject *unused)
{
    if (self->running) {
        PyErr_Format(PyExc_RuntimeError,
                     "the timer %R is already running: one plumb.timer(name) "
                     "times one block at a time; call plumb.timer(name) again "
                     "for a nested or concurrent block",
                     self->stats->name);
        return NULL;
    }
    self->running = 1;
    self->elapsed_ns = -1;
    self->start_ns = plumb_clock_now_ns();
    return Py_NewRef(self);
}

static PyObject *timing_exit(timing_t *self, PyObject *const *args,
                             Py_ssize_t nargs)
{
    int64_t end = plumb_clock_now_ns();
    if (!self->running) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the timer was not entered: use it as `with "
                        "plumb.timer(name):`");
        return NULL;
    }
    self->running = 0;
    self->elapsed_ns = end - self->start_ns;
    stats_record(self->stats, self->elapsed_ns, nargs > 0 && args[0] != Py_None);
    Py_RETURN_FALSE;
}

static PyObject *timing_elapsed(timing_t *self, void *unused)
{
    if (self->elapsed_ns < 0)
        Py_RETURN_NONE;
    return PyFloat_FromDouble((double)self->elapsed_ns / 1e9);
}

static PyMethodDef timing_methods[] = {
    {"__enter__", (PyCFunction)timing_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))timing_exit, METH_FASTCALL,
     NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef timing_getset[] = {
    {"elapsed", (getter)timing_elapsed, NULL,
     "seconds the block took; None until it ends", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef timing_members[] = {
    {"stats", T_OBJECT_EX, offsetof(timing_t, stats), READONLY,
     "the Stats the block is recorded in"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject timing_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._core.Timing",
    .tp_basicsize = sizeof(timing_t),
    .tp_dealloc = (destructor)timing_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Timing(stats): a context manager that records the block's "
              "duration in stats.",
    .tp_methods = timing_methods,
    .tp_getset = timing_getset,
    .tp_members = timing_members,
    .tp_new = timing_new,
};

/* ---- the module's part ---------------------------------------------------- */

PyDoc_STRVAR(now_ns_doc,
"now_ns() -> int: the monotonic clock the timers read, in nanoseconds.");

static PyObject *timer_now_ns(PyObject *self, PyObject *unused)
{
    return PyLong_FromLongLong(plumb_clock_now_ns());
}

static PyMethodDef timer_functions[] = {
    {"now_ns", timer_now_ns, METH_NOARGS, now_ns_doc},
    {NULL, NULL, 0, NULL},
};

int plumb_py_add_timer(PyObject *m)
{
    if (PyModule_AddType(m, &stats_type) < 0 ||
        PyModule_AddType(m, &timed_type) < 0 ||
        PyModule_AddType(m, &timing_type) < 0)
        return -1;
    return PyModule_AddFunctions(m, timer_functions);
}
