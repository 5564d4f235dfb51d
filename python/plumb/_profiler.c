/* _profiler.c: the extension's part for plumb.profile. It hands the
 * sampling of this process to libplumb (plumb_profile_start/stop: the same
 * sampler as `plumb profile`, on a thread of its own) and hands its
 * results back through the library's own renderers (the summary, JSON,
 * collapsed stacks, speedscope). What is its own: holding the two C
 * objects in Python objects and never leaving a sampler running when the
 * Python object goes away. Options, messages and the one-at-a-time rule
 * are _profile.py's.
 */
#include "_core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plumb.h"

/* Raised when the library refuses or fails: args (error name such as
 * "UNSUPPORTED", the library's sentence or its strerror). */
static PyObject *sampler_error;

static const char *error_name(int err)
{
#define PLUMB_PY_ERROR_NAME(name, code, msg)                                  \
    if (err == (code))                                                        \
        return #name;
    PLUMB_ERRNO_MAP(PLUMB_PY_ERROR_NAME)
#undef PLUMB_PY_ERROR_NAME
    return "UNKNOWN";
}

static PyObject *raise_sampler(int err, const char *why)
{
    if (err == PLUMB_ENOMEM)
        return PyErr_NoMemory();
    PyObject *args = Py_BuildValue("(ss)", error_name(err),
                                   why && *why ? why : plumb_strerror(err));
    if (args) {
        PyErr_SetObject(sampler_error, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* ---- ProfileData: a finished profile ----------------------------------- */

typedef struct {
    PyObject_HEAD
    plumb_profile_t *p; /* owned */
} data_object;

static void data_dealloc(data_object *self)
{
    plumb_profile_free(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A string the library made (freed here), as str. */
static PyObject *take_text(int err, char *text)
{
    if (err || !text) {
        free(text);
        return raise_sampler(err ? err : PLUMB_ENOMEM, NULL);
    }
    PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text),
                                       "replace");
    free(text);
    return s;
}

PyDoc_STRVAR(summary_doc,
"summary(top=20, color=False) -> str\n\n"
"plumb_report_profile: the terminal summary `plumb profile` prints.");

static PyObject *data_summary(data_object *self, PyObject *args,
                              PyObject *kw)
{
    static char *names[] = {"top", "color", NULL};
    Py_ssize_t top = 20;
    int color = 0;
    char *text = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|np", names, &top, &color))
        return NULL;
    if (top <= 0) {
        PyErr_SetString(PyExc_ValueError, "top must be a positive number");
        return NULL;
    }
    plumb_report_opts_t ro = {color, 0, 1};
    int err = plumb_report_profile(self->p, &ro, (size_t)top, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(collapsed_doc,
"collapsed() -> str\n\nplumb_stack_collapsed: 'thread;outer;...;inner "
"COUNT' lines.");

static PyObject *data_collapsed(data_object *self, PyObject *unused)
{
    char *text = NULL;
    int err = plumb_stack_collapsed(self->p->stacks, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(speedscope_doc,
"speedscope(name=None) -> str\n\nplumb_stack_speedscope: a speedscope "
"file; name defaults to the Python version, as in `plumb profile`.");

static PyObject *data_speedscope(data_object *self, PyObject *args,
                                 PyObject *kw)
{
    static char *names[] = {"name", NULL};
    const char *name = NULL;
    char *text = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|z", names, &name))
        return NULL;
    int err = plumb_stack_speedscope(self->p->stacks,
                                     name ? name : self->p->python, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(json_doc,
"json() -> str\n\nplumb_report_profile_json: docs/json.md, \"Profiles\".");

static PyObject *data_json(data_object *self, PyObject *unused)
{
    char *text = NULL;
    int err = plumb_report_profile_json(self->p, &text);
    return take_text(err, text);
}

PyDoc_STRVAR(header_doc,
"header() -> dict\n\nThe profile's figures: pid, python, mode ('cpu' or "
"'wall'), rate_hz,\nachieved_hz, duration_ns, samples, dropped, "
"thread_samples, idle,\nthreads_seen, and threads: a list of (label, "
"stacks, gil_ticks or None).");

static PyObject *data_header(data_object *self, PyObject *unused)
{
    const plumb_profile_t *p = self->p;
    PyObject *threads = PyList_New((Py_ssize_t)p->n_threads);
    if (!threads)
        return NULL;
    for (size_t i = 0; i < p->n_threads; i++) {
        const plumb_profile_thread_t *t = &p->threads[i];
        PyObject *gil = Py_None;
        if (t->gil_known)
            gil = PyLong_FromUnsignedLongLong(t->gil_ticks);
        else
            Py_INCREF(gil);
        PyObject *row = gil ? Py_BuildValue("(sKN)", t->label,
                                            (unsigned long long)t->stacks,
                                            gil)
                            : NULL;
        if (!row) {
            Py_DECREF(threads);
            return NULL;
        }
        PyList_SET_ITEM(threads, (Py_ssize_t)i, row);
    }
    return Py_BuildValue(
        "{s:i,s:s,s:s,s:d,s:d,s:L,s:K,s:K,s:K,s:K,s:n,s:N}", "pid", p->pid,
        "python", p->python, "mode",
        p->mode == PLUMB_PROFILE_WALL ? "wall" : "cpu", "rate_hz", p->rate_hz,
        "achieved_hz", p->achieved_hz, "duration_ns",
        (long long)p->duration_ns, "samples", (unsigned long long)p->samples,
        "dropped", (unsigned long long)p->dropped, "thread_samples",
        (unsigned long long)p->thread_samples, "idle",
        (unsigned long long)p->idle, "threads_seen",
        (Py_ssize_t)p->threads_seen, "threads", threads);
}

static PyMethodDef data_methods[] = {
    {"summary", (PyCFunction)(void (*)(void))data_summary,
     METH_VARARGS | METH_KEYWORDS, summary_doc},
    {"collapsed", (PyCFunction)data_collapsed, METH_NOARGS, collapsed_doc},
    {"speedscope", (PyCFunction)(void (*)(void))data_speedscope,
     METH_VARARGS | METH_KEYWORDS, speedscope_doc},
    {"json", (PyCFunction)data_json, METH_NOARGS, json_doc},
    {"header", (PyCFunction)data_header, METH_NOARGS, header_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject data_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "plumb._core.ProfileData",
    .tp_basicsize = sizeof(data_object),
    .tp_dealloc = (destructor)data_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A finished profile (plumb_profile_t); made by Sampler.stop.",
    .tp_methods = data_methods,
};

PyObject *plumb_py_profile_data(plumb_profile_t *p)
{
    data_object *d = PyObject_New(data_object, &data_type);
    if (!d) {
        plumb_profile_free(p);
        return NULL;
    }
    d->p = p;
    return (PyObject *)d;
}

/* ---- Sampler: a profile being taken ------------------------------------ */

typedef struct {
    PyObject_HEAD
    plumb_profiler_t *pr; /* NULL once stopped */
} sampler_object;

/* The sampler never calls into Python, so stopping it needs no GIL; here
 * it is kept (a dealloc may run while the interpreter shuts down) and the
 * wait is one sample and at most 5 ms. In a fork's copy nothing is
 * waited for (plumb_profile_stop). */
static void sampler_dealloc(sampler_object *self)
{
    if (self->pr)
        plumb_profile_stop(self->pr, NULL, NULL, 0);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(stop_doc,
"stop() -> ProfileData\n\n"
"plumb_profile_stop: ends the sampling and returns the profile. Raises\n"
"SamplerError when the sampling failed, or in a process forked from the\n"
"one that started it (which has no sampler thread).");

static PyObject *sampler_stop(sampler_object *self, PyObject *unused)
{
    plumb_profiler_t *pr = self->pr;
    plumb_profile_t *p = NULL;
    char why[512] = "";
    int err;
    if (!pr) {
        PyErr_SetString(PyExc_RuntimeError, "the sampler was stopped "
                                            "already");
        return NULL;
    }
    /* taken first: another thread's stop finds it stopped */
    self->pr = NULL;
    Py_BEGIN_ALLOW_THREADS
    err = plumb_profile_stop(pr, &p, why, sizeof why);
    Py_END_ALLOW_THREADS
    if (err)
        return raise_sampler(err, why);
    return plumb_py_profile_data(p);
}

static PyObject *sampler_running(sampler_object *self, void *closure)
{
    return PyBool_FromLong(self->pr != NULL);
}

static PyMethodDef sampler_methods[] = {
    {"stop", (PyCFunction)sampler_stop, METH_NOARGS, stop_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"running", (getter)sampler_running, NULL,
     "True until stop() (also in a fork's copy).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject sampler_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "plumb._core.Sampler",
    .tp_basicsize = sizeof(sampler_object),
    .tp_dealloc = (destructor)sampler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A profile being taken (plumb_profiler_t); made by "
              "profile_start.",
    .tp_methods = sampler_methods,
    .tp_getset = sampler_getset,
};

PyDoc_STRVAR(profile_start_doc,
"profile_start(rate_hz, mode, pid=0) -> Sampler\n\n"
"plumb_profile_start: connects to process pid (0: this one) and samples\n"
"it on a thread of its own at rate_hz, in mode 'cpu' or 'wall', until\n"
"the Sampler's stop(). Raises SamplerError (name, sentence) when the\n"
"process cannot be profiled, before any sampling.");

static PyObject *core_profile_start(PyObject *module, PyObject *args,
                                    PyObject *kw)
{
    static char *names[] = {"rate_hz", "mode", "pid", NULL};
    plumb_profile_opts_t o;
    const char *mode;
    int pid = 0, err;
    char why[512] = "";
    plumb_profiler_t *pr = NULL;

    plumb_profile_opts_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ds|i", names, &o.rate_hz,
                                     &mode, &pid))
        return NULL;
    if (!strcmp(mode, "cpu"))
        o.mode = PLUMB_PROFILE_CPU;
    else if (!strcmp(mode, "wall"))
        o.mode = PLUMB_PROFILE_WALL;
    else {
        PyErr_Format(PyExc_ValueError, "mode must be 'cpu' or 'wall', not "
                                       "'%s'", mode);
        return NULL;
    }
    if (pid == 0)
        pid = (int)getpid();
    sampler_object *self = PyObject_New(sampler_object, &sampler_type);
    if (!self)
        return NULL;
    self->pr = NULL;
    /* the connection reads this interpreter's ELF symbols: other Python
     * threads may run meanwhile */
    Py_BEGIN_ALLOW_THREADS
    err = plumb_profile_start(pid, &o, &pr, why, sizeof why);
    Py_END_ALLOW_THREADS
    if (err) {
        Py_DECREF(self);
        return raise_sampler(err, why);
    }
    self->pr = pr;
    return (PyObject *)self;
}

static PyMethodDef profiler_functions[] = {
    {"profile_start", (PyCFunction)(void (*)(void))core_profile_start,
     METH_VARARGS | METH_KEYWORDS, profile_start_doc},
    {NULL, NULL, 0, NULL},
};

int plumb_py_add_profiler(PyObject *m)
{
    if (PyModule_AddType(m, &data_type) < 0 ||
        PyModule_AddType(m, &sampler_type) < 0 ||
        PyModule_AddFunctions(m, profiler_functions) < 0)
        return -1;
    if (!sampler_error &&
        !(sampler_error = PyErr_NewException("plumb._core.SamplerError",
                                             PyExc_RuntimeError, NULL)))
        return -1;
    if (PyModule_AddObjectRef(m, "SamplerError", sampler_error) < 0)
        return -1;
    /* the library's default rate, so that plumb.profile's is the same */
    plumb_profile_opts_t defaults;
    plumb_profile_opts_init(&defaults);
    return PyModule_AddIntConstant(m, "PROFILE_RATE_HZ",
                                   (long)defaults.rate_hz);
}
