/* json.c: the JSON renderer, plumb's versioned machine-readable output. It
 * owns the document's shape (docs/json.md, PLUMB_JSON_SCHEMA_VERSION) and its
 * encoding through jansson: NaN and infinity become null, the 64-bit seed
 * becomes a decimal string, bytes that are not UTF-8 become U+FFFD. It
 * computes no statistic (analysis does) and keeps raw units: nanoseconds,
 * bytes, counts. */
#include "report/report.h"
#include "utf8.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values --------------------------------------------------------------- */

/* A JSON string for s (null for NULL); NULL when out of memory. */
static json_t *json_text(const char *s)
{
    if (!s)
        return json_null();
    if (plumb__utf8_valid(s))
        return json_string(s);
    /* commands and names come from the user's shell and need not be UTF-8 */
    char *repaired = malloc(3 * strlen(s) + 1);
    if (!repaired)
        return NULL;
    plumb__utf8_repair_into(s, repaired);
    json_t *v = json_string(repaired);
    free(repaired);
    return v;
}

/* Like json_text, but "" (the environment's "unknown") becomes null too. */
static json_t *json_known_text(const char *s)
{
    return s && *s ? json_text(s) : json_null();
}

/* JSON has no NaN or infinity: a figure that does not exist is null. */
static json_t *json_number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *json_int(int64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *json_size(size_t v)
{
    return json_integer((json_int_t)v);
}

/* Sets obj[key] to value, taking the reference (jansson drops it on failure
 * too); -1 when value is NULL, i.e. an allocation upstream failed. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

static int push(json_t *array, json_t *value)
{
    return value ? json_array_append_new(array, value) : -1;
}

/* Releases obj and returns NULL when any step building it failed. */
static json_t *finish(json_t *obj, int failed)
{
    if (failed) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* ---- words the schema fixes -------------------------------------------- */

static const char *verdict_code(plumb_verdict_t v)
{
    switch (v) {
    case PLUMB_VERDICT_LOWER:
        return "lower";
    case PLUMB_VERDICT_HIGHER:
        return "higher";
    default:
        return "same";
    }
}

static const char *run_name(const plumb_session_t *s, size_t i)
{
    return i < s->n_runs ? s->runs[i].name : NULL;
}

/* ---- sections ---------------------------------------------------------- */

static json_t *environment_json(const plumb_env_t *env)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= put(o, "host", json_known_text(env->host));
    failed |= put(o, "kernel", json_known_text(env->kernel));
    failed |= put(o, "cpu_model", json_known_text(env->cpu_model));
    failed |= put(o, "cpus", env->cpus > 0 ? json_integer(env->cpus)
                                            : json_null());
    failed |= put(o, "load_avg1", env->load_avg1 >= 0
                                      ? json_number(env->load_avg1)
                                      : json_null());
    failed |= put(o, "governor", json_known_text(env->governor));
    return finish(o, failed);
}

static json_t *session_json(const plumb_session_t *s)
{
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, s->seed);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= put(o, "id", s->id ? json_int(s->id) : json_null());
    failed |= put(o, "created_ns", s->env.created_ns
                                       ? json_int(s->env.created_ns)
                                       : json_null());
    failed |= put(o, "invocation", json_text(s->invocation));
    failed |= put(o, "partial", json_boolean(s->partial));
    failed |= put(o, "seed", json_string(seed));
    failed |= put(o, "overhead_ns", json_int(s->overhead_ns));
    failed |= put(o, "git_commit", json_text(s->git_commit));
    failed |= put(o, "scan_param", json_text(s->scan_param));
    failed |= put(o, "counters", json_text(s->counters));
    failed |= put(o, "environment", environment_json(&s->env));
    return finish(o, failed);
}

static json_t *summary_json(const plumb_summary_t *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= put(o, "n", json_size(m->n));
    failed |= put(o, "min", json_number(m->min));
    failed |= put(o, "max", json_number(m->max));
    failed |= put(o, "mean", json_number(m->mean));
    failed |= put(o, "stddev", json_number(m->stddev));
    failed |= put(o, "median", json_number(m->median));
    failed |= put(o, "mad", json_number(m->mad));
    failed |= put(o, "p5", json_number(m->p5));
    failed |= put(o, "p25", json_number(m->p25));
    failed |= put(o, "p75", json_number(m->p75));
    failed |= put(o, "p95", json_number(m->p95));
    failed |= put(o, "median_ci_low", json_number(m->median_ci_low));
    failed |= put(o, "median_ci_high", json_number(m->median_ci_high));
    failed |= put(o, "median_ci_level", json_number(m->median_ci_level));
    failed |= put(o, "outliers", json_size(m->outliers));
    return finish(o, failed);
}

/* Statistics of the measured metrics only; {} when the analysis holds no
 * statistics for this run. */
static json_t *statistics_json(const plumb_run_stats_t *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    for (int m = 0; st && m < PLUMB_METRIC_COUNT; m++)
        if (st->measured[m])
            failed |= put(o, plumb_metric_key((plumb_metric_t)m),
                          summary_json(&st->summary[m]));
    return finish(o, failed);
}

static json_t *sample_json(const plumb_sample_t *sample)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        int64_t v = sample->metric[m];
        failed |= put(o, plumb_metric_key((plumb_metric_t)m),
                      v == PLUMB_UNAVAILABLE ? json_null() : json_int(v));
    }
    failed |= put(o, "exit_code", json_integer(sample->exit_code));
    failed |= put(o, "term_signal", json_integer(sample->term_signal));
    failed |= put(o, "timed_out", json_boolean(sample->timed_out));
    return finish(o, failed);
}

static json_t *params_json(const plumb_run_t *run)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < run->n_params && !failed; i++) {
        const char *name = run->param_names[i];
        char *repaired = NULL;
        if (!plumb__utf8_valid(name)) {
            if (!(repaired = malloc(3 * strlen(name) + 1))) {
                failed = 1;
                break;
            }
            plumb__utf8_repair_into(name, repaired);
            name = repaired;
        }
        failed |= put(o, name, json_text(run->param_values[i]));
        free(repaired);
    }
    return finish(o, failed);
}

static json_t *run_json(const plumb_session_t *s, const plumb_analysis_t *a,
                        size_t i)
{
    const plumb_run_t *run = &s->runs[i];
    const plumb_run_stats_t *st = plumb__report_run_stats(a, i);

    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= put(o, "id", run->id ? json_int(run->id) : json_null());
    failed |= put(o, "name", json_text(run->name));
    failed |= put(o, "command", json_text(run->command));
    failed |= put(o, "params", params_json(run));
    failed |= put(o, "python", json_text(run->python));
    failed |= put(o, "shell", json_boolean(run->shell));
    failed |= put(o, "shell_overhead_ns", json_int(run->shell_overhead_ns));
    failed |= put(o, "baseline", run->baseline >= 0
                                     ? json_integer(run->baseline)
                                     : json_null());
    failed |= put(o, "series", json_integer(run->series));
    failed |= put(o, "x", json_number(run->x));
    failed |= put(o, "n_samples", json_size(run->n_samples));
    failed |= put(o, "failures", json_size(plumb__report_failures(run, st)));
    failed |= put(o, "statistics", statistics_json(st));

    json_t *samples = json_array();
    for (size_t k = 0; samples && k < run->n_samples && !failed; k++)
        failed |= push(samples, sample_json(&run->samples[k]));
    failed |= put(o, "samples", samples);
    return finish(o, failed);
}

static json_t *comparison_json(const plumb_session_t *s,
                               const plumb_pair_t *pair,
                               const plumb_comparison_t *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= put(o, "baseline", json_size(pair->baseline));
    failed |= put(o, "candidate", json_size(pair->candidate));
    failed |= put(o, "baseline_name", json_text(run_name(s, pair->baseline)));
    failed |= put(o, "candidate_name",
                  json_text(run_name(s, pair->candidate)));
    failed |= put(o, "metric", json_string(plumb_metric_key(c->metric)));
    failed |= put(o, "baseline_median", json_number(c->baseline_median));
    failed |= put(o, "candidate_median", json_number(c->candidate_median));
    failed |= put(o, "ratio", json_number(c->ratio));
    failed |= put(o, "ci_low", json_number(c->ci_low));
    failed |= put(o, "ci_high", json_number(c->ci_high));
    failed |= put(o, "p_value", json_number(c->p_value));
    failed |= put(o, "u", json_number(c->u));
    failed |= put(o, "exact", json_boolean(c->exact));
    failed |= put(o, "verdict", json_string(plumb__report_verdict_word(c)));
    failed |= put(o, "verdict_code", json_string(verdict_code(c->verdict)));
    return finish(o, failed);
}

static json_t *comparisons_json(const plumb_session_t *s,
                                const plumb_analysis_t *a)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < a->n_pairs && !failed; i++)
        for (size_t k = 0; k < PLUMB_N_VERDICT_METRICS; k++)
            if (a->pairs[i].compared[k])
                failed |= push(arr, comparison_json(s, &a->pairs[i],
                                                    &a->pairs[i].cmp[k]));
    return finish(arr, failed);
}

static const char *fit_name(const plumb_session_t *s,
                            const plumb_analysis_t *a, size_t f)
{
    return f < a->n_fits ? run_name(s, a->fits[f].first_run) : NULL;
}

static json_t *fits_json(const plumb_session_t *s, const plumb_analysis_t *a)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < a->n_fits && !failed; i++) {
        const plumb_series_fit_t *f = &a->fits[i];
        json_t *o = json_object();
        if (!o) {
            failed = 1;
            break;
        }
        int bad = 0;
        bad |= put(o, "series", json_integer(f->series));
        bad |= put(o, "name", json_text(fit_name(s, a, i)));
        bad |= put(o, "order", json_string(plumb_order_name(f->fit.order)));
        bad |= put(o, "a", json_number(f->fit.a));
        bad |= put(o, "b", json_number(f->fit.b));
        bad |= put(o, "fit_error", json_number(f->fit.fit_error));
        bad |= put(o, "n_lo", json_number(f->n_lo));
        bad |= put(o, "n_hi", json_number(f->n_hi));
        failed |= push(arr, finish(o, bad));
    }
    return finish(arr, failed);
}

static json_t *crossovers_json(const plumb_session_t *s,
                               const plumb_analysis_t *a)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < a->n_crossovers && !failed; i++) {
        const plumb_crossover_t *c = &a->crossovers[i];
        json_t *o = json_object();
        if (!o) {
            failed = 1;
            break;
        }
        int bad = 0;
        bad |= put(o, "a", json_text(fit_name(s, a, c->fit_a)));
        bad |= put(o, "b", json_text(fit_name(s, a, c->fit_b)));
        bad |= put(o, "n", json_number(c->n));
        failed |= push(arr, finish(o, bad));
    }
    return finish(arr, failed);
}

static json_t *warnings_json(const plumb_analysis_t *a)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < a->n_warnings && !failed; i++)
        if (a->warnings[i])
            failed |= push(arr, json_text(a->warnings[i]));
    return finish(arr, failed);
}

/* ---- the document ------------------------------------------------------ */

/* jansson hands the encoded text over in pieces; they go straight into the
 * report's buffer, without a second copy of the whole document. */
static int append_to_buf(const char *text, size_t size, void *data)
{
    plumb__buf_t *b = data;
    if (size > INT32_MAX)
        return -1;
    plumb__buf_printf(b, "%.*s", (int)size, text);
    return b->failed ? -1 : 0;
}

int plumb__report_json(const plumb_session_t *s, const plumb_analysis_t *a,
                       const plumb_report_opts_t *o, plumb__buf_t *b)
{
    (void)o;
    int err = PLUMB_ENOMEM;
    json_t *root = json_object();
    json_t *runs = json_array();
    if (!root || !runs) {
        json_decref(runs);
        goto out;
    }
    int failed = 0;
    failed |= put(root, "schema_version",
                  json_integer(PLUMB_JSON_SCHEMA_VERSION));
    failed |= put(root, "tool", json_string("plumb"));
    failed |= put(root, "plumb_version", json_string(PLUMB_VERSION));
    failed |= put(root, "session", session_json(s));
    for (size_t i = 0; i < s->n_runs && !failed; i++)
        failed |= push(runs, run_json(s, a, i));
    failed |= put(root, "runs", runs);
    failed |= put(root, "comparisons", comparisons_json(s, a));
    failed |= put(root, "fits", fits_json(s, a));
    failed |= put(root, "crossovers", crossovers_json(s, a));
    failed |= put(root, "warnings", warnings_json(a));
    if (failed)
        goto out;
    if (json_dump_callback(root, append_to_buf, b,
                           JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        goto out;
    plumb__buf_puts(b, "\n");
    if (!b->failed)
        err = 0;
out:
    json_decref(root);
    return err;
}
