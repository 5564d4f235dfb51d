/* _store.c: the extension's door to the store (src/store.c): saving
 * Python-measured results as a session of loop runs, loading a run back as
 * times per call, finding the newest run of a name. The store's rules (its
 * schema, one transaction per session, refusing files that are not plumb's
 * or come from a newer plumb) and what a loop run means (session.c) are the
 * library's; here Python values become a plumb_session_t and back. Which
 * store to use and the wording a Python user reads live in _store.py.
 */
#include "_core.h"

#include <stdlib.h>
#include <string.h>

#include "plumb.h"

/* Raised for every failure of the store: args (the PLUMB_E* name such as
 * "SCHEMA", the store path, the library's own sentence). */
static PyObject *store_error;

static void raise_store(int err, const char *path, const plumb_store_t *st)
{
    if (err == PLUMB_ENOMEM) {
        PyErr_NoMemory();
        return;
    }
    const char *detail = st ? plumb_store_errmsg(st) : "";
    PyObject *args = Py_BuildValue("(sss)", plumb_errname(err), path,
                                   *detail ? detail : plumb_strerror(err));
    if (args) {
        PyErr_SetObject(store_error, args);
        Py_DECREF(args);
    }
}

/* Opens the store at path; on failure raises and returns NULL. */
static plumb_store_t *open_store(const char *path)
{
    plumb_store_t *st = NULL;
    int err = plumb_store_open(path, &st);
    if (err) {
        raise_store(err, path, st);
        plumb_store_close(st);
        return NULL;
    }
    return st;
}

PyDoc_STRVAR(store_path_doc,
"store_path(path=None) -> str\n\n"
"plumb_store_default_path: path itself when given, else $PLUMB_STORE,\n"
"else .plumb/plumb.db (the plumb tool's default).");

static PyObject *core_store_path(PyObject *self, PyObject *args)
{
    const char *path = NULL;
    if (!PyArg_ParseTuple(args, "|z", &path))
        return NULL;
    return PyUnicode_DecodeFSDefault(plumb_store_default_path(path));
}

PyDoc_STRVAR(store_open_doc,
"store_open(path) -> int\n\n"
"Opens the store (creating it and its directory, migrating an older\n"
"schema) and closes it again; returns its schema version. Raises\n"
"StoreError when it cannot be used.");

static PyObject *core_store_open(PyObject *self, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    plumb_store_t *st = open_store(path);
    if (!st)
        return NULL;
    int version = plumb_store_schema_version(st);
    plumb_store_close(st);
    return PyLong_FromLong(version);
}

/* Adds one run from (name, command, loops, loop_ns, baseline, python). */
static int add_run(plumb_session_t *s, PyObject *spec)
{
    const char *name, *command, *python;
    unsigned long long loops;
    PyObject *times, *fast;
    int baseline, err;
    plumb_loop_subject_t subject;
    plumb_run_t *run;

    if (!PyArg_ParseTuple(spec, "ssKOiz;a run is (name, command, loops, "
                          "loop_ns, baseline, python)",
                          &name, &command, &loops, &times, &baseline,
                          &python))
        return -1;
    if (!(fast = PySequence_Fast(times, "loop_ns must be a sequence")))
        return -1;
    memset(&subject, 0, sizeof subject);
    subject.loops = loops;
    subject.n_samples = (size_t)PySequence_Fast_GET_SIZE(fast);
    subject.loop_ns = PyMem_Calloc(subject.n_samples ? subject.n_samples : 1,
                                   sizeof *subject.loop_ns);
    if (!subject.loop_ns) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (size_t k = 0; k < subject.n_samples; k++) {
        double v = PyFloat_AsDouble(
            PySequence_Fast_GET_ITEM(fast, (Py_ssize_t)k));
        if (v == -1 && PyErr_Occurred()) {
            PyMem_Free(subject.loop_ns);
            Py_DECREF(fast);
            return -1;
        }
        subject.loop_ns[k] = v;
    }
    Py_DECREF(fast);
    err = plumb_session_add_loop_run(s, name, command, &subject, &run);
    PyMem_Free(subject.loop_ns);
    if (!err)
        err = plumb_set_string(&run->python, python);
    if (err == PLUMB_ENOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    if (err) {
        PyErr_Format(PyExc_ValueError,
                     "run %s cannot be stored: %s (loops must be >= 1 and "
                     "every time per call a finite number >= 0)",
                     name, plumb_strerror(err));
        return -1;
    }
    if (baseline >= (int)s->n_runs - 1) {
        PyErr_Format(PyExc_ValueError,
                     "run %s: its baseline %d is not an earlier run", name,
                     baseline);
        return -1;
    }
    run->baseline = baseline < 0 ? -1 : baseline;
    return 0;
}

PyDoc_STRVAR(store_save_doc,
"store_save(path, runs, invocation, seed, overhead_ns) -> (int, list)\n\n"
"Saves one session of loop runs, each (name, command, loops, loop_ns,\n"
"baseline index or -1, python version or None), with this machine's\n"
"environment and the git commit of the working directory, in one\n"
"transaction; returns the session id and the run ids.");

static PyObject *core_store_save(PyObject *self, PyObject *args)
{
    const char *path, *invocation;
    PyObject *runs, *result = NULL, *ids = NULL;
    unsigned long long seed;
    long long overhead_ns;
    plumb_session_t *s = NULL;
    plumb_store_t *st = NULL;
    char commit[64];
    int err;

    if (!PyArg_ParseTuple(args, "sO!zKL", &path, &PyList_Type, &runs,
                          &invocation, &seed, &overhead_ns))
        return NULL;
    if (!(s = plumb_session_new()))
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(runs); i++)
        if (add_run(s, PyList_GET_ITEM(runs, i)) < 0)
            goto out;
    /* Where it was measured, as plumb bench records it. */
    plumb_env_collect(&s->env);
    if (plumb_env_git_commit(".", commit, sizeof commit) == 0 &&
        plumb_set_string(&s->git_commit, commit) != 0) {
        PyErr_NoMemory();
        goto out;
    }
    if (plumb_set_string(&s->invocation, invocation) != 0) {
        PyErr_NoMemory();
        goto out;
    }
    s->seed = seed;
    s->overhead_ns = overhead_ns > 0 ? overhead_ns : 0;

    if (!(st = open_store(path)))
        goto out;
    Py_BEGIN_ALLOW_THREADS
    err = plumb_store_save(st, s);
    Py_END_ALLOW_THREADS
    if (err) {
        raise_store(err, path, st);
        goto out;
    }
    if (!(ids = PyList_New((Py_ssize_t)s->n_runs)))
        goto out;
    for (size_t i = 0; i < s->n_runs; i++) {
        PyObject *id = PyLong_FromLongLong(s->runs[i].id);
        if (!id)
            goto out;
        PyList_SET_ITEM(ids, (Py_ssize_t)i, id);
    }
    result = Py_BuildValue("(LO)", (long long)s->id, ids);
out:
    Py_XDECREF(ids);
    plumb_store_close(st);
    plumb_session_free(s);
    return result;
}

PyDoc_STRVAR(store_load_doc,
"store_load(path, run_id) -> dict\n\n"
"Run run_id: id, session_id, name, command, loops (0 for a command run),\n"
"loop_ns (wall time per call of each sample, per execution for a\n"
"command), python, created_ns, host, cpu_model, git_commit, invocation.\n"
"Raises StoreError with code 'NOTFOUND' when there is no such run.");

static PyObject *core_store_load(PyObject *self, PyObject *args)
{
    const char *path;
    long long run_id;
    plumb_store_t *st;
    plumb_session_t *s = NULL;
    PyObject *result = NULL, *times = NULL;
    double *v = NULL;
    size_t n = 0;
    int err;

    if (!PyArg_ParseTuple(args, "sL", &path, &run_id))
        return NULL;
    if (!(st = open_store(path)))
        return NULL;
    err = plumb_store_load_run(st, run_id, &s);
    if (err) {
        raise_store(err, path, st);
        goto out;
    }
    const plumb_run_t *run = &s->runs[0];
    if ((err = plumb_run_values(run, PLUMB_METRIC_WALL, &v, &n))) {
        raise_store(err, path, NULL);
        goto out;
    }
    if (!(times = PyList_New((Py_ssize_t)n)))
        goto out;
    for (size_t k = 0; k < n; k++) {
        PyObject *x = PyFloat_FromDouble(v[k]);
        if (!x)
            goto out;
        PyList_SET_ITEM(times, (Py_ssize_t)k, x);
    }
    result = Py_BuildValue(
        "{s:L,s:L,s:s,s:s,s:K,s:O,s:z,s:L,s:s,s:s,s:z,s:z}", "id",
        (long long)run->id, "session_id", (long long)s->id, "name",
        run->name, "command", run->command, "loops",
        (unsigned long long)run->loops, "loop_ns", times, "python",
        run->python, "created_ns", (long long)s->env.created_ns, "host",
        s->env.host, "cpu_model", s->env.cpu_model, "git_commit",
        s->git_commit, "invocation", s->invocation);
out:
    Py_XDECREF(times);
    free(v);
    plumb_session_free(s);
    plumb_store_close(st);
    return result;
}

PyDoc_STRVAR(store_find_doc,
"store_find(path, name, session_id=0) -> int or None\n\n"
"plumb_store_find_run: the id of the newest run named name (in session\n"
"session_id, or in any when 0), None when there is none.");

static PyObject *core_store_find(PyObject *self, PyObject *args)
{
    const char *path, *name;
    long long session_id = 0;
    int64_t run_id = 0;
    plumb_store_t *st;
    int err;

    if (!PyArg_ParseTuple(args, "ss|L", &path, &name, &session_id))
        return NULL;
    if (!(st = open_store(path)))
        return NULL;
    err = plumb_store_find_run(st, name, session_id, &run_id);
    if (err && err != PLUMB_ENOTFOUND) {
        raise_store(err, path, st);
        plumb_store_close(st);
        return NULL;
    }
    plumb_store_close(st);
    if (err == PLUMB_ENOTFOUND)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(run_id);
}

static PyMethodDef store_methods[] = {
    {"store_path", core_store_path, METH_VARARGS, store_path_doc},
    {"store_open", core_store_open, METH_VARARGS, store_open_doc},
    {"store_save", core_store_save, METH_VARARGS, store_save_doc},
    {"store_load", core_store_load, METH_VARARGS, store_load_doc},
    {"store_find", core_store_find, METH_VARARGS, store_find_doc},
    {NULL, NULL, 0, NULL},
};

int plumb_py_add_store(PyObject *m)
{
    if (PyModule_AddFunctions(m, store_methods) < 0)
        return -1;
    if (!store_error &&
        !(store_error = PyErr_NewException("plumb._core.StoreError",
                                           PyExc_Exception, NULL)))
        return -1;
    return PyModule_AddObjectRef(m, "StoreError", store_error);
}
