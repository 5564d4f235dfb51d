/* json.c: the JSON renderer of a session, plumb's versioned machine-readable
 * output. It owns the document's shape (docs/json.md,
 * PLUMB_JSON_SCHEMA_VERSION); its values follow json_value.c (NaN and
 * infinity become null, bytes that are not UTF-8 become U+FFFD) and the
 * 64-bit seed becomes a decimal string. It
 * computes no statistic (analysis does) and keeps raw units: nanoseconds,
 * bytes, counts. */
#include "report/report.h"
#include "utf8.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values --------------------------------------------------------------- */

static json_t *json_int(int64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *json_size(size_t v)
{
    return json_integer((json_int_t)v);
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
    failed |= plumb__json_put(o, "host", plumb__json_known_text(env->host));
    failed |=
        plumb__json_put(o, "kernel", plumb__json_known_text(env->kernel));
    failed |= plumb__json_put(o, "cpu_model",
                              plumb__json_known_text(env->cpu_model));
    failed |= plumb__json_put(
        o, "cpus", env->cpus > 0 ? json_integer(env->cpus) : json_null());
    failed |= plumb__json_put(o, "load_avg1",
                              env->load_avg1 >= 0
                                  ? plumb__json_number(env->load_avg1)
                                  : json_null());
    failed |=
        plumb__json_put(o, "governor", plumb__json_known_text(env->governor));
    return plumb__json_finish(o, failed);
}

static json_t *session_json(const plumb_session_t *s)
{
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, s->seed);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "id", s->id ? json_int(s->id) : json_null());
    failed |= plumb__json_put(o, "created_ns",
                              s->env.created_ns ? json_int(s->env.created_ns)
                                                : json_null());
    failed |=
        plumb__json_put(o, "invocation", plumb__json_text(s->invocation));
    failed |= plumb__json_put(o, "partial", json_boolean(s->partial));
    failed |= plumb__json_put(o, "seed", json_string(seed));
    failed |= plumb__json_put(o, "overhead_ns", json_int(s->overhead_ns));
    failed |=
        plumb__json_put(o, "git_commit", plumb__json_text(s->git_commit));
    failed |=
        plumb__json_put(o, "scan_param", plumb__json_text(s->scan_param));
    failed |= plumb__json_put(o, "counters", plumb__json_text(s->counters));
    failed |= plumb__json_put(o, "environment", environment_json(&s->env));
    return plumb__json_finish(o, failed);
}

static json_t *summary_json(const plumb_summary_t *m)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "n", json_size(m->n));
    failed |= plumb__json_put(o, "min", plumb__json_number(m->min));
    failed |= plumb__json_put(o, "max", plumb__json_number(m->max));
    failed |= plumb__json_put(o, "mean", plumb__json_number(m->mean));
    failed |= plumb__json_put(o, "stddev", plumb__json_number(m->stddev));
    failed |= plumb__json_put(o, "median", plumb__json_number(m->median));
    failed |= plumb__json_put(o, "mad", plumb__json_number(m->mad));
    failed |= plumb__json_put(o, "p5", plumb__json_number(m->p5));
    failed |= plumb__json_put(o, "p25", plumb__json_number(m->p25));
    failed |= plumb__json_put(o, "p75", plumb__json_number(m->p75));
    failed |= plumb__json_put(o, "p95", plumb__json_number(m->p95));
    failed |= plumb__json_put(o, "median_ci_low",
                              plumb__json_number(m->median_ci_low));
    failed |= plumb__json_put(o, "median_ci_high",
                              plumb__json_number(m->median_ci_high));
    failed |= plumb__json_put(o, "median_ci_level",
                              plumb__json_number(m->median_ci_level));
    failed |= plumb__json_put(o, "outliers", json_size(m->outliers));
    return plumb__json_finish(o, failed);
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
            failed |= plumb__json_put(o, plumb_metric_key((plumb_metric_t)m),
                                      summary_json(&st->summary[m]));
    return plumb__json_finish(o, failed);
}

static json_t *sample_json(const plumb_sample_t *sample)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        int64_t v = sample->metric[m];
        failed |= plumb__json_put(o, plumb_metric_key((plumb_metric_t)m),
                                  v == PLUMB_UNAVAILABLE ? json_null()
                                                         : json_int(v));
    }
    failed |= plumb__json_put(o, "exit_code", json_integer(sample->exit_code));
    failed |=
        plumb__json_put(o, "term_signal", json_integer(sample->term_signal));
    failed |= plumb__json_put(o, "timed_out", json_boolean(sample->timed_out));
    return plumb__json_finish(o, failed);
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
        failed |=
            plumb__json_put(o, name, plumb__json_text(run->param_values[i]));
        free(repaired);
    }
    return plumb__json_finish(o, failed);
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
    failed |=
        plumb__json_put(o, "id", run->id ? json_int(run->id) : json_null());
    failed |= plumb__json_put(o, "name", plumb__json_text(run->name));
    failed |= plumb__json_put(o, "command", plumb__json_text(run->command));
    failed |= plumb__json_put(o, "params", params_json(run));
    failed |= plumb__json_put(o, "python", plumb__json_text(run->python));
    failed |= plumb__json_put(o, "shell", json_boolean(run->shell));
    failed |= plumb__json_put(o, "shell_overhead_ns",
                              json_int(run->shell_overhead_ns));
    failed |= plumb__json_put(o, "baseline",
                              run->baseline >= 0 ? json_integer(run->baseline)
                                                 : json_null());
    failed |= plumb__json_put(o, "series", json_integer(run->series));
    failed |= plumb__json_put(o, "x", plumb__json_number(run->x));
    failed |= plumb__json_put(o, "n_samples", json_size(run->n_samples));
    failed |= plumb__json_put(o, "loops",
                              run->loops ? json_int((int64_t)run->loops)
                                         : json_null());
    failed |= plumb__json_put(o, "failures",
                              json_size(plumb__report_failures(run, st)));
    failed |= plumb__json_put(o, "statistics", statistics_json(st));

    json_t *samples = json_array();
    for (size_t k = 0; samples && k < run->n_samples && !failed; k++)
        failed |= plumb__json_push(samples, sample_json(&run->samples[k]));
    failed |= plumb__json_put(o, "samples", samples);
    return plumb__json_finish(o, failed);
}

static json_t *comparison_json(const plumb_session_t *s,
                               const plumb_pair_t *pair,
                               const plumb_comparison_t *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "baseline", json_size(pair->baseline));
    failed |= plumb__json_put(o, "candidate", json_size(pair->candidate));
    failed |= plumb__json_put(o, "baseline_name",
                              plumb__json_text(run_name(s, pair->baseline)));
    failed |= plumb__json_put(o, "candidate_name",
                              plumb__json_text(run_name(s, pair->candidate)));
    failed |=
        plumb__json_put(o, "metric", json_string(plumb_metric_key(c->metric)));
    failed |= plumb__json_put(o, "baseline_median",
                              plumb__json_number(c->baseline_median));
    failed |= plumb__json_put(o, "candidate_median",
                              plumb__json_number(c->candidate_median));
    failed |= plumb__json_put(o, "ratio", plumb__json_number(c->ratio));
    failed |= plumb__json_put(o, "ci_low", plumb__json_number(c->ci_low));
    failed |= plumb__json_put(o, "ci_high", plumb__json_number(c->ci_high));
    failed |= plumb__json_put(o, "p_value", plumb__json_number(c->p_value));
    failed |= plumb__json_put(o, "u", plumb__json_number(c->u));
    failed |= plumb__json_put(o, "exact", json_boolean(c->exact));
    failed |= plumb__json_put(o, "verdict",
                              json_string(plumb__report_verdict_word(c)));
    failed |= plumb__json_put(o, "verdict_code",
                              json_string(verdict_code(c->verdict)));
    return plumb__json_finish(o, failed);
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
                failed |= plumb__json_push(
                    arr,
                    comparison_json(s, &a->pairs[i], &a->pairs[i].cmp[k]));
    return plumb__json_finish(arr, failed);
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
        bad |= plumb__json_put(o, "series", json_integer(f->series));
        bad |= plumb__json_put(o, "name", plumb__json_text(fit_name(s, a, i)));
        bad |= plumb__json_put(o, "order",
                               json_string(plumb_order_name(f->fit.order)));
        bad |= plumb__json_put(o, "a", plumb__json_number(f->fit.a));
        bad |= plumb__json_put(o, "b", plumb__json_number(f->fit.b));
        bad |= plumb__json_put(o, "fit_error",
                               plumb__json_number(f->fit.fit_error));
        bad |= plumb__json_put(
            o, "close_order",
            f->fit.close_order == PLUMB_ORDER_COUNT
                ? json_null()
                : json_string(plumb_order_name(f->fit.close_order)));
        bad |= plumb__json_put(o, "n_lo", plumb__json_number(f->n_lo));
        bad |= plumb__json_put(o, "n_hi", plumb__json_number(f->n_hi));
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    return plumb__json_finish(arr, failed);
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
        bad |= plumb__json_put(o, "a",
                               plumb__json_text(fit_name(s, a, c->fit_a)));
        bad |= plumb__json_put(o, "b",
                               plumb__json_text(fit_name(s, a, c->fit_b)));
        bad |= plumb__json_put(o, "n", plumb__json_number(c->n));
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    return plumb__json_finish(arr, failed);
}

static json_t *warnings_json(const plumb_analysis_t *a)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < a->n_warnings && !failed; i++)
        if (a->warnings[i])
            failed |= plumb__json_push(arr, plumb__json_text(a->warnings[i]));
    return plumb__json_finish(arr, failed);
}

/* ---- the document ------------------------------------------------------ */

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
    failed |= plumb__json_put(root, "schema_version",
                              json_integer(PLUMB_JSON_SCHEMA_VERSION));
    failed |= plumb__json_put(root, "tool", json_string("plumb"));
    failed |=
        plumb__json_put(root, "plumb_version", json_string(PLUMB_VERSION));
    failed |= plumb__json_put(root, "session", session_json(s));
    for (size_t i = 0; i < s->n_runs && !failed; i++)
        failed |= plumb__json_push(runs, run_json(s, a, i));
    failed |= plumb__json_put(root, "runs", runs);
    failed |= plumb__json_put(root, "comparisons", comparisons_json(s, a));
    failed |= plumb__json_put(root, "fits", fits_json(s, a));
    failed |= plumb__json_put(root, "crossovers", crossovers_json(s, a));
    failed |= plumb__json_put(root, "warnings", warnings_json(a));
    if (failed)
        goto out;
    err = plumb__json_dump(root, b);
out:
    json_decref(root);
    return err;
}
