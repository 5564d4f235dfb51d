/* _core.c: the plumb package's extension glue. It translates Python
 * arguments into libplumb calls and libplumb results into Python objects:
 * the timing rounds (loop.c), the statistics (stats.c, compare.c,
 * complexity.c), the wording of figures (report/format.c) and the whole
 * command-line tool (cli/) are the library's. What is its own is the loop
 * over a Python callable that loop.c times. The public API, its argument
 * checks and its messages live in the .py modules beside this file.
 */
#include "_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "plumb.h"
#include "report/report.h"

/* Samples and warm-up of the harness-overhead measurement per subject. */
#define OVERHEAD_SAMPLES 9

/* Raised when a measured callable or its setup raised: args (index of the
 * subject, "call" or "setup"), the original exception as __cause__. */
static PyObject *subject_error;

/* One measured callable with its arguments, laid out for vectorcall:
 * argv[0] is free (PY_VECTORCALL_ARGUMENTS_OFFSET), then the positional
 * arguments, then the keyword values named by kwnames. All references are
 * owned. */
typedef struct {
    PyObject *fn;
    PyObject **argv;
    size_t nargs, nkw;
    PyObject *kwnames;
    PyObject *setup;
    const char *failed_in; /* "call" or "setup" once one raised */
} call_t;

static void call_clear(call_t *c)
{
    if (c->argv)
        for (size_t i = 1; i <= c->nargs + c->nkw; i++)
            Py_XDECREF(c->argv[i]);
    PyMem_Free(c->argv);
    Py_XDECREF(c->fn);
    Py_XDECREF(c->kwnames);
    Py_XDECREF(c->setup);
    memset(c, 0, sizeof *c);
}

/* Fills c from (fn, args tuple, kwargs dict or None, setup or None), with
 * fn replaced by `instead` when given (the no-op of the overhead). */
static int call_init(call_t *c, PyObject *spec, PyObject *instead)
{
    PyObject *fn, *args, *kwargs, *setup;
    Py_ssize_t nargs, nkw = 0, pos = 0, i = 0;
    PyObject *key, *value;

    memset(c, 0, sizeof *c);
    if (!PyArg_ParseTuple(spec, "OO!OO;a subject is (fn, args, kwargs, setup)",
                          &fn, &PyTuple_Type, &args, &kwargs, &setup))
        return -1;
    if (kwargs != Py_None && !PyDict_Check(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "kwargs must be a dict or None");
        return -1;
    }
    nargs = PyTuple_GET_SIZE(args);
    if (kwargs != Py_None)
        nkw = PyDict_GET_SIZE(kwargs);
    c->argv = PyMem_Calloc((size_t)(1 + nargs + nkw), sizeof *c->argv);
    if (!c->argv) {
        PyErr_NoMemory();
        return -1;
    }
    c->nargs = (size_t)nargs;
    c->nkw = (size_t)nkw;
    for (i = 0; i < nargs; i++) {
        c->argv[1 + i] = PyTuple_GET_ITEM(args, i);
        Py_INCREF(c->argv[1 + i]);
    }
    if (nkw > 0) {
        if (!(c->kwnames = PyTuple_New(nkw)))
            goto fail;
        for (i = 0; PyDict_Next(kwargs, &pos, &key, &value); i++) {
            Py_INCREF(key);
            PyTuple_SET_ITEM(c->kwnames, i, key);
            c->argv[1 + nargs + i] = value;
            Py_INCREF(value);
        }
    }
    c->fn = instead ? instead : fn;
    Py_INCREF(c->fn);
    if (setup != Py_None) {
        c->setup = setup;
        Py_INCREF(setup);
    }
    return 0;
fail:
    call_clear(c);
    return -1;
}

/* loop.c's run callback: `loops` calls, nothing else in the loop. */
static int call_run(void *data, uint64_t loops)
{
    call_t *c = data;
    PyObject *const *args = c->argv + 1;
    size_t nargsf = c->nargs | PY_VECTORCALL_ARGUMENTS_OFFSET;

    for (uint64_t i = 0; i < loops; i++) {
        PyObject *result = PyObject_Vectorcall(c->fn, args, nargsf,
                                               c->kwnames);
        if (!result) {
            c->failed_in = "call";
            return PLUMB_EFAILED;
        }
        Py_DECREF(result);
    }
    return 0;
}

/* loop.c's setup callback: Ctrl-C between samples, then the user's setup. */
static int call_setup(void *data, uint64_t loops)
{
    call_t *c = data;
    PyObject *result;

    (void)loops;
    if (PyErr_CheckSignals() < 0)
        return PLUMB_ECANCELED;
    if (!c->setup)
        return 0;
    if (!(result = PyObject_CallNoArgs(c->setup))) {
        c->failed_in = "setup";
        return PLUMB_EFAILED;
    }
    Py_DECREF(result);
    return 0;
}

/* The exception being raised, taken off the thread: a new reference. */
static PyObject *take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value && traceback)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

/* Turns a failed measurement into a Python exception: the callable's own
 * exception wrapped in subject_error (KeyboardInterrupt and other
 * BaseExceptions pass through), or the library's error. */
static void raise_measure_error(int err, const call_t *calls, size_t n)
{
    PyObject *exc, *wrapped;
    size_t failed = n;

    if (!PyErr_Occurred()) {
        if (err == PLUMB_ENOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(PyExc_ValueError, "plumb: %s",
                         plumb_strerror(err));
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (calls[i].failed_in)
            failed = i;
    if (failed == n || !PyErr_ExceptionMatches(PyExc_Exception))
        return;
    exc = take_exception();
    wrapped = PyObject_CallFunction(subject_error, "ns", (Py_ssize_t)failed,
                                    calls[failed].failed_in);
    if (!wrapped) {
        Py_DECREF(exc);
        return;
    }
    Py_INCREF(exc);
    PyException_SetContext(wrapped, exc);
    PyException_SetCause(wrapped, exc);
    PyErr_SetObject(subject_error, wrapped);
    Py_DECREF(wrapped);
}

static PyObject *noop(PyObject *self, PyObject *const *args, Py_ssize_t n,
                      PyObject *kwnames)
{
    Py_RETURN_NONE;
}

static PyMethodDef noop_def = {"noop", (PyCFunction)(void (*)(void))noop,
                               METH_FASTCALL | METH_KEYWORDS,
                               "Does nothing: the harness overhead."};

static PyObject *doubles_to_list(const double *x, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *v = PyFloat_FromDouble(x[i]);
        if (!v) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
}

/* The harness's own time per loop for each subject: the same loop calling
 * a C function that does nothing, with the same arguments. */
static int measure_overhead(const plumb_loop_opts_t *opts, PyObject *specs,
                            size_t n, double *overhead_ns)
{
    PyObject *nothing = PyCFunction_NewEx(&noop_def, NULL, NULL);
    call_t *calls = PyMem_Calloc(n, sizeof *calls);
    plumb_loop_subject_t *subjects = PyMem_Calloc(n, sizeof *subjects);
    plumb_loop_opts_t o = *opts;
    int rc = -1, err;

    if (!nothing || !calls || !subjects) {
        PyErr_NoMemory();
        goto out;
    }
    o.samples = OVERHEAD_SAMPLES;
    o.loops = 0;
    o.warmup = 1;
    for (size_t i = 0; i < n; i++) {
        if (call_init(&calls[i], PyList_GET_ITEM(specs, i), nothing) < 0)
            goto out;
        Py_CLEAR(calls[i].setup);
        subjects[i].run = call_run;
        subjects[i].setup = call_setup;
        subjects[i].data = &calls[i];
    }
    err = plumb_loop_measure(&o, subjects, n);
    if (err < 0) {
        raise_measure_error(err, calls, n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        plumb_summary_t s;
        if (plumb_stats_summarize(subjects[i].loop_ns, subjects[i].n_samples,
                                  &s) < 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "plumb: the overhead has no samples");
            goto out;
        }
        overhead_ns[i] = s.median;
    }
    rc = 0;
out:
    for (size_t i = 0; calls && subjects && i < n; i++) {
        call_clear(&calls[i]);
        free(subjects[i].loop_ns);
    }
    PyMem_Free(subjects);
    PyMem_Free(calls);
    Py_XDECREF(nothing);
    return rc;
}

PyDoc_STRVAR(measure_doc,
"measure(subjects, budget, min_samples, max_samples, samples, loops,\n"
"        warmup, seed, gc, min_sample_ns, overhead=True,\n"
"        equal_samples=False) -> list of dict\n\n"
"Times each subject (fn, args, kwargs, setup) in seeded random rounds;\n"
"returns per subject its loops per sample, the time per loop of each\n"
"sample (loop_ns) and the harness overhead per loop (overhead_ns, NaN\n"
"unless overhead is true). equal_samples gives every subject samples as\n"
"long as the longest one's (plumb_loop_opts_t.equal_samples).");

static PyObject *core_measure(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"subjects", "budget", "min_samples",
                            "max_samples", "samples", "loops", "warmup",
                            "seed", "gc", "min_sample_ns", "overhead",
                            "equal_samples", NULL};
    PyObject *specs, *result = NULL;
    plumb_loop_opts_t o;
    call_t *calls = NULL;
    plumb_loop_subject_t *subjects = NULL;
    double *overhead = NULL;
    unsigned long long loops, seed;
    long long min_sample_ns;
    int gc, gc_was, with_overhead = 1, err;
    size_t n;

    plumb_loop_opts_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!dIIIKIKpL|pp", names,
                                     &PyList_Type, &specs, &o.budget_s,
                                     &o.min_samples, &o.max_samples,
                                     &o.samples, &loops, &o.warmup, &seed,
                                     &gc, &min_sample_ns, &with_overhead,
                                     &o.equal_samples))
        return NULL;
    o.loops = loops;
    o.seed = seed;
    o.min_sample_ns = min_sample_ns;
    n = (size_t)PyList_GET_SIZE(specs);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "nothing to measure");
        return NULL;
    }
    calls = PyMem_Calloc(n, sizeof *calls);
    subjects = PyMem_Calloc(n, sizeof *subjects);
    overhead = PyMem_Calloc(n, sizeof *overhead);
    if (!calls || !subjects || !overhead) {
        PyErr_NoMemory();
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (call_init(&calls[i], PyList_GET_ITEM(specs, i), NULL) < 0)
            goto out;
        subjects[i].run = call_run;
        subjects[i].setup = call_setup;
        subjects[i].data = &calls[i];
    }

    gc_was = PyGC_IsEnabled();
    if (!gc)
        PyGC_Disable();
    err = plumb_loop_measure(&o, subjects, n);
    if (err < 0)
        raise_measure_error(err, calls, n);
    else if (with_overhead)
        err = measure_overhead(&o, specs, n, overhead);
    else
        for (size_t i = 0; i < n; i++)
            overhead[i] = NAN;
    if (gc_was)
        PyGC_Enable();
    if (err < 0)
        goto out;

    if (!(result = PyList_New((Py_ssize_t)n)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        PyObject *times = doubles_to_list(subjects[i].loop_ns,
                                          subjects[i].n_samples);
        PyObject *d = times ? Py_BuildValue(
                                  "{s:K,s:N,s:d}", "loops",
                                  (unsigned long long)subjects[i].loops,
                                  "loop_ns", times, "overhead_ns",
                                  overhead[i])
                            : NULL;
        if (!d) {
            Py_CLEAR(result);
            goto out;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, d);
    }
out:
    for (size_t i = 0; calls && subjects && i < n; i++) {
        call_clear(&calls[i]);
        free(subjects[i].loop_ns);
    }
    PyMem_Free(overhead);
    PyMem_Free(subjects);
    PyMem_Free(calls);
    return result;
}

/* A sequence of numbers as a new C array (PyMem_Free it). */
static int to_doubles(PyObject *seq, const char *what, double **out,
                      size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, what);
    Py_ssize_t len;

    *out = NULL;
    *n = 0;
    if (!fast)
        return -1;
    len = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc(len > 0 ? (size_t)len : 1, sizeof **out);
    if (!*out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        double v = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            PyMem_Free(*out);
            *out = NULL;
            return -1;
        }
        (*out)[i] = v;
    }
    *n = (size_t)len;
    Py_DECREF(fast);
    return 0;
}

/* A float, or None for NaN. */
static PyObject *float_or_none(double v)
{
    if (isnan(v))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

static PyObject *raise_plumb(int err, const char *what)
{
    if (err == PLUMB_ENOMEM)
        return PyErr_NoMemory();
    PyErr_Format(PyExc_ValueError, "%s: %s", what, plumb_strerror(err));
    return NULL;
}

PyDoc_STRVAR(summarize_doc,
"summarize(values) -> dict\n\n"
"plumb_stats_summarize: n, min, max, mean, stddev, median, mad, p5, p25,\n"
"p75, p95, the 95% CI of the median and its exact coverage, outliers.");

static PyObject *core_summarize(PyObject *self, PyObject *arg)
{
    plumb_summary_t s;
    double *x;
    size_t n;
    int err;

    if (to_doubles(arg, "values must be a sequence of numbers", &x, &n) < 0)
        return NULL;
    err = plumb_stats_summarize(x, n, &s);
    PyMem_Free(x);
    if (err < 0)
        return raise_plumb(err, "summarize");
    return Py_BuildValue(
        "{s:n,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:n}", "n",
        (Py_ssize_t)s.n, "min", s.min, "max", s.max, "mean", s.mean, "stddev",
        s.stddev, "median", s.median, "mad", s.mad, "p5", s.p5, "p25", s.p25,
        "p75", s.p75, "p95", s.p95, "median_ci_low", s.median_ci_low,
        "median_ci_high", s.median_ci_high, "median_ci_level",
        s.median_ci_level, "outliers", (Py_ssize_t)s.outliers);
}

PyDoc_STRVAR(compare_doc,
"compare(baseline, candidate, alpha, min_effect, level, resamples, seed,\n"
"        memory=False) -> dict\n\n"
"plumb_compare on times (wall time), or on peak memory (bytes) with\n"
"memory=True: medians, ratio baseline/candidate with its bootstrap CI,\n"
"Mann-Whitney U and p-value, the verdict ('faster', 'slower', 'no\n"
"significant difference'; for memory 'less', 'more'), and the words\n"
"and factor plumb bench prints.");

static PyObject *core_compare(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"baseline", "candidate", "alpha", "min_effect",
                            "level", "resamples", "seed", "memory", NULL};
    PyObject *base_seq, *cand_seq;
    plumb_compare_opts_t o;
    plumb_comparison_t c;
    double *base = NULL, *cand = NULL, factor = NAN, lo = NAN, hi = NAN;
    size_t nb, nc;
    Py_ssize_t resamples;
    unsigned long long seed;
    const char *words;
    char p_text[32];
    int err, memory = 0;

    plumb_compare_opts_init(&o);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOdddnK|p", names, &base_seq,
                                     &cand_seq, &o.alpha, &o.min_effect,
                                     &o.level, &resamples, &seed, &memory))
        return NULL;
    if (resamples <= 0) {
        PyErr_SetString(PyExc_ValueError, "resamples must be positive");
        return NULL;
    }
    o.resamples = (size_t)resamples;
    o.seed = seed;
    if (to_doubles(base_seq, "baseline must be a sequence of numbers", &base,
                   &nb) < 0 ||
        to_doubles(cand_seq, "candidate must be a sequence of numbers",
                   &cand, &nc) < 0) {
        PyMem_Free(base);
        return NULL;
    }
    err = plumb_compare(base, nb, cand, nc, &o, &c);
    c.metric = memory ? PLUMB_METRIC_MAX_RSS : PLUMB_METRIC_WALL;
    PyMem_Free(base);
    PyMem_Free(cand);
    if (err < 0)
        return raise_plumb(err, "compare");
    if (!plumb__verdict_words(&c, &words, &factor, &lo, &hi))
        factor = lo = hi = NAN;
    plumb__format_p(c.p_value, p_text, sizeof p_text);
    return Py_BuildValue(
        "{s:d,s:d,s:N,s:N,s:N,s:d,s:d,s:O,s:s,s:s,s:N,s:N,s:N,s:s}",
        "baseline_median", c.baseline_median, "candidate_median",
        c.candidate_median, "ratio", float_or_none(c.ratio), "ci_low",
        float_or_none(c.ci_low), "ci_high", float_or_none(c.ci_high), "u",
        c.u, "p_value", c.p_value, "exact", c.exact ? Py_True : Py_False,
        "verdict", plumb__report_verdict_word(&c), "words", words, "factor",
        float_or_none(factor), "factor_low", float_or_none(lo), "factor_high",
        float_or_none(hi), "p_text", p_text);
}

PyDoc_STRVAR(fit_doc,
"fit(sizes, times) -> dict\n\n"
"plumb_complexity_fit over (sizes[i], times[i]): the growth class chosen\n"
"by BIC (order, its index), t = a + b*g(n), the fit error, every\n"
"model's BIC (None where it was not fitted) and close_order, the runner-up\n"
"when its BIC is within 2 (None when no model comes that close).");

static PyObject *core_fit(PyObject *self, PyObject *args)
{
    PyObject *n_seq, *t_seq, *bic;
    double *n = NULL, *t = NULL;
    size_t nn, nt;
    plumb_fit_t fit;
    int err;

    if (!PyArg_ParseTuple(args, "OO", &n_seq, &t_seq))
        return NULL;
    if (to_doubles(n_seq, "sizes must be a sequence of numbers", &n, &nn) <
            0 ||
        to_doubles(t_seq, "times must be a sequence of numbers", &t, &nt) <
            0) {
        PyMem_Free(n);
        return NULL;
    }
    if (nn != nt) {
        PyMem_Free(n);
        PyMem_Free(t);
        PyErr_SetString(PyExc_ValueError,
                        "sizes and times must have the same length");
        return NULL;
    }
    err = plumb_complexity_fit(n, t, nn, &fit);
    PyMem_Free(n);
    PyMem_Free(t);
    if (err < 0)
        return raise_plumb(err, "complexity fit");
    if (!(bic = PyTuple_New(PLUMB_ORDER_COUNT)))
        return NULL;
    for (int o = 0; o < PLUMB_ORDER_COUNT; o++) {
        PyObject *v = float_or_none(fit.bic[o]);
        if (!v) {
            Py_DECREF(bic);
            return NULL;
        }
        PyTuple_SET_ITEM(bic, o, v);
    }
    return Py_BuildValue("{s:s,s:i,s:d,s:d,s:d,s:N,s:z}", "order",
                         plumb_order_name(fit.order), "order_index",
                         (int)fit.order, "a", fit.a, "b", fit.b, "fit_error",
                         fit.fit_error, "bic", bic, "close_order",
                         fit.close_order == PLUMB_ORDER_COUNT
                             ? NULL
                             : plumb_order_name(fit.close_order));
}

/* A fit from (order index, a, b). */
static int parse_fit(PyObject *spec, plumb_fit_t *fit)
{
    int order;

    memset(fit, 0, sizeof *fit);
    if (!PyArg_ParseTuple(spec, "idd;a fit is (order_index, a, b)", &order,
                          &fit->a, &fit->b))
        return -1;
    if (order < 0 || order >= PLUMB_ORDER_COUNT) {
        PyErr_Format(PyExc_ValueError, "order index %d is not one of 0..%d",
                     order, PLUMB_ORDER_COUNT - 1);
        return -1;
    }
    fit->order = (plumb_order_t)order;
    return 0;
}

PyDoc_STRVAR(evaluate_doc,
"evaluate((order_index, a, b), n) -> float: a + b*g(n).");

static PyObject *core_evaluate(PyObject *self, PyObject *args)
{
    PyObject *spec;
    plumb_fit_t fit;
    double n;

    if (!PyArg_ParseTuple(args, "Od", &spec, &n) || parse_fit(spec, &fit) < 0)
        return NULL;
    return PyFloat_FromDouble(plumb_complexity_eval(&fit, n));
}

PyDoc_STRVAR(crossover_doc,
"crossover(fit_x, fit_y, n_lo, n_hi) -> float or None\n\n"
"plumb_complexity_crossover: the first n in [n_lo, n_hi] where the\n"
"fitted curves cross, None when they do not cross there.");

static PyObject *core_crossover(PyObject *self, PyObject *args)
{
    PyObject *spec_x, *spec_y;
    plumb_fit_t x, y;
    double lo, hi, n;
    int err;

    if (!PyArg_ParseTuple(args, "OOdd", &spec_x, &spec_y, &lo, &hi) ||
        parse_fit(spec_x, &x) < 0 || parse_fit(spec_y, &y) < 0)
        return NULL;
    err = plumb_complexity_crossover(&x, &y, lo, hi, &n);
    if (err == PLUMB_ENOTFOUND)
        Py_RETURN_NONE;
    if (err < 0)
        return raise_plumb(err, "crossover");
    return PyFloat_FromDouble(n);
}

PyDoc_STRVAR(format_ns_doc,
"format_ns(ns, scale_like=None, with_unit=True) -> str\n\n"
"A time as plumb's reports write it ('12.3 us'), scaled like scale_like.");

static PyObject *core_format_ns(PyObject *self, PyObject *args,
                                PyObject *kw)
{
    static char *names[] = {"ns", "scale_like", "with_unit", NULL};
    PyObject *like_obj = Py_None;
    double v, like;
    int with_unit = 1;
    char out[64];

    if (!PyArg_ParseTupleAndKeywords(args, kw, "d|Op", names, &v, &like_obj,
                                     &with_unit))
        return NULL;
    like = v;
    if (like_obj != Py_None) {
        like = PyFloat_AsDouble(like_obj);
        if (like == -1 && PyErr_Occurred())
            return NULL;
    }
    plumb__format_scaled(v, like, PLUMB_UNIT_NS, with_unit, out, sizeof out);
    return PyUnicode_FromString(out);
}

PyDoc_STRVAR(format_p_doc, "format_p(p) -> str: 'p<0.001' or 'p=0.023'.");

static PyObject *core_format_p(PyObject *self, PyObject *arg)
{
    double p = PyFloat_AsDouble(arg);
    char out[32];

    if (p == -1 && PyErr_Occurred())
        return NULL;
    plumb__format_p(p, out, sizeof out);
    return PyUnicode_FromString(out);
}

PyDoc_STRVAR(format_size_doc,
"format_size(n) -> str: a size as plumb writes a scanned value.");

static PyObject *core_format_size(PyObject *self, PyObject *arg)
{
    double n = PyFloat_AsDouble(arg);
    char out[64];

    if (n == -1 && PyErr_Occurred())
        return NULL;
    plumb__format_scan_value(n, out, sizeof out);
    return PyUnicode_FromString(out);
}

PyDoc_STRVAR(cli_main_doc,
"cli_main(argv) -> int\n\n"
"Runs the plumb command-line tool in this process with argv (argv[0] is\n"
"the program name) and returns its exit status.");

static PyObject *core_cli_main(PyObject *self, PyObject *arg)
{
    PyObject *fast = PySequence_Fast(arg, "argv must be a list of str");
    char **argv = NULL;
    Py_ssize_t argc;
    int rc;

    if (!fast)
        return NULL;
    argc = PySequence_Fast_GET_SIZE(fast);
    if (!(argv = PyMem_Calloc((size_t)argc + 1, sizeof *argv))) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < argc; i++) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i));
        if (!s) {
            PyMem_Free(argv);
            Py_DECREF(fast);
            return NULL;
        }
        argv[i] = (char *)s;
    }
    fflush(stdout);
    rc = cli_main((int)argc, argv);
    fflush(stdout);
    fflush(stderr);
    PyMem_Free(argv);
    Py_DECREF(fast);
    return PyLong_FromLong(rc);
}

static PyMethodDef core_methods[] = {
    {"measure", (PyCFunction)(void (*)(void))core_measure,
     METH_VARARGS | METH_KEYWORDS, measure_doc},
    {"summarize", core_summarize, METH_O, summarize_doc},
    {"compare", (PyCFunction)(void (*)(void))core_compare,
     METH_VARARGS | METH_KEYWORDS, compare_doc},
    {"fit", core_fit, METH_VARARGS, fit_doc},
    {"evaluate", core_evaluate, METH_VARARGS, evaluate_doc},
    {"crossover", core_crossover, METH_VARARGS, crossover_doc},
    {"format_ns", (PyCFunction)(void (*)(void))core_format_ns,
     METH_VARARGS | METH_KEYWORDS, format_ns_doc},
    {"format_p", core_format_p, METH_O, format_p_doc},
    {"format_size", core_format_size, METH_O, format_size_doc},
    {"cli_main", core_cli_main, METH_O, cli_main_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "plumb._core",
    "libplumb's timing, statistics and tool, for the plumb package.", -1,
    core_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__core(void);

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m = PyModule_Create(&core_module), *orders = NULL;

    if (!m)
        return NULL;
    if (!subject_error &&
        !(subject_error = PyErr_NewException("plumb._core.SubjectError",
                                             PyExc_Exception, NULL)))
        goto fail;
    if (PyModule_AddObjectRef(m, "SubjectError", subject_error) < 0)
        goto fail;
    if (!(orders = PyTuple_New(PLUMB_ORDER_COUNT)))
        goto fail;
    for (int o = 0; o < PLUMB_ORDER_COUNT; o++) {
        PyObject *name = PyUnicode_FromString(plumb_order_name(o));
        if (!name)
            goto fail;
        PyTuple_SET_ITEM(orders, o, name);
    }
    if (PyModule_AddObject(m, "ORDERS", orders) < 0)
        goto fail;
    orders = NULL;
    if (PyModule_AddStringConstant(m, "VERSION", PLUMB_VERSION) < 0)
        goto fail;
    if (plumb_py_add_store(m) < 0)
        goto fail;
    if (plumb_py_add_timer(m) < 0)
        goto fail;
    if (plumb_py_add_mem(m) < 0)
        goto fail;
    if (plumb_py_add_profiler(m) < 0)
        goto fail;
    if (plumb_py_add_sql(m) < 0)
        goto fail;
    return m;
fail:
    Py_XDECREF(orders);
    Py_DECREF(m);
    return NULL;
}
