/* _sql.c: plumb.sql's way to the library: a trace (the JSON document the
 * tracer makes, python/plumb/_sqltrace.py) in, the analysis's report out,
 * as text or JSON (sql_analysis.c, report/sql.c, report/sql_json.c), and
 * fingerprints of single statements. The analysis runs without the GIL:
 * index trials take seconds and touch no Python object. */
#include "_core.h"

#include <stdlib.h>
#include <string.h>

static PyObject *sql_error;

PyDoc_STRVAR(sql_report_doc,
             "sql_report(trace_json, explain=True, "
             "advise=True, slow_ms=10.0, n_plus_one=10, rounds=7, db=None, "
             "top=10, color=False) -> (text, json)\n\n"
             "Analyses a SQL trace once and renders its report twice: for "
             "the terminal and as a JSON document. "
             "Raises SqlError for a trace that cannot be read.");

static PyObject *core_sql_report(PyObject *self, PyObject *args,
                                 PyObject *kwargs)
{
    static char *kwlist[] = {"trace_json", "explain", "advise", "slow_ms",
                             "n_plus_one", "rounds", "db", "top", "color",
                             NULL};
    const char *text, *db = NULL;
    int explain = 1, advise = 1, color = 0;
    double slow_ms = 10;
    unsigned long long n_plus_one = 10;
    unsigned rounds = 7;
    Py_ssize_t top = 10;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|ppdKIznp", kwlist,
                                     &text, &explain, &advise,
                                     &slow_ms, &n_plus_one, &rounds, &db,
                                     &top, &color))
        return NULL;
    if (!(slow_ms > 0) || n_plus_one < 2 || rounds < 3 || top < 0)
        return PyErr_Format(PyExc_ValueError,
                            "slow_ms must be above 0, n_plus_one 2 or more, "
                            "rounds 3 or more and top 0 or more");
    char why[512];
    plumb_sql_trace_t *t = NULL;
    int err = plumb_sql_trace_from_json(text, &t, why, sizeof why);
    if (err == PLUMB_ENOMEM)
        return PyErr_NoMemory();
    if (err) {
        PyErr_Format(sql_error, "not a SQL trace: %s", why);
        return NULL;
    }
    plumb_sql_analysis_opts_t o;
    plumb_sql_analysis_opts_init(&o);
    o.explain = explain;
    o.advise = advise;
    o.slow_ms = slow_ms;
    o.n_plus_one_calls = n_plus_one;
    o.trial.rounds = rounds;
    o.db = db;
    plumb_sql_analysis_t *a = NULL;
    char *out = NULL, *json = NULL;
    plumb_report_opts_t ro = {color, 0, 1};
    Py_BEGIN_ALLOW_THREADS;
    err = plumb_sql_analyze(t, &o, &a);
    if (!err)
        err = plumb_report_sql(t, a, &ro, (size_t)top, &out);
    if (!err)
        err = plumb_report_sql_json(t, a, &json);
    Py_END_ALLOW_THREADS;
    PyObject *result = NULL;
    if (err == PLUMB_ENOMEM)
        PyErr_NoMemory();
    else if (err)
        PyErr_Format(sql_error, "cannot analyse the trace: %s",
                     plumb_strerror(err));
    else
        result = Py_BuildValue("(s#s#)", out, (Py_ssize_t)strlen(out), json,
                               (Py_ssize_t)strlen(json));
    free(out);
    free(json);
    plumb_sql_analysis_free(a);
    plumb_sql_trace_free(t);
    return result;
}

PyDoc_STRVAR(sql_fingerprint_doc,
             "sql_fingerprint(sql) -> (text, id, kind, n_literals, "
             "n_placeholders)\n\n"
             "The statement's shape: literals and placeholders become ?, "
             "IN lists one ?, comments and spacing folded.");

static PyObject *core_sql_fingerprint(PyObject *self, PyObject *args)
{
    const char *sql;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &sql))
        return NULL;
    plumb_sql_fingerprint_t fp;
    if (plumb_sql_fingerprint(sql, &fp))
        return PyErr_NoMemory();
    PyObject *r = Py_BuildValue("(sKsII)", fp.text, (unsigned long long)fp.id,
                                plumb_sql_kind_name(fp.kind), fp.n_literals,
                                fp.n_placeholders);
    plumb_sql_fingerprint_close(&fp);
    return r;
}

static PyMethodDef sql_methods[] = {
    {"sql_report", (PyCFunction)(void (*)(void))core_sql_report,
     METH_VARARGS | METH_KEYWORDS, sql_report_doc},
    {"sql_fingerprint", core_sql_fingerprint, METH_VARARGS,
     sql_fingerprint_doc},
    {NULL, NULL, 0, NULL}};

int plumb_py_add_sql(PyObject *m)
{
    if (PyModule_AddFunctions(m, sql_methods) < 0)
        return -1;
    if (!sql_error &&
        !(sql_error = PyErr_NewException("plumb._core.SqlError",
                                         PyExc_Exception, NULL)))
        return -1;
    return PyModule_AddObjectRef(m, "SqlError", sql_error);
}
