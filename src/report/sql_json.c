/* sql_json.c: plumb sql's report as one JSON document (docs/json.md, "SQL
 * reports"): the trace's connections (passwords hidden), the statements
 * by fingerprint, the findings by cost, and the indexes tried with their
 * measurements. The exact texts and parameters that ran appear only when
 * the trace kept them (--keep-params): values may be private data. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *comparison_json(const plumb_comparison_t *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "baseline_median_ns",
                              plumb__json_number(c->baseline_median));
    failed |= plumb__json_put(o, "candidate_median_ns",
                              plumb__json_number(c->candidate_median));
    failed |= plumb__json_put(o, "ratio", plumb__json_number(c->ratio));
    failed |= plumb__json_put(o, "ci_low", plumb__json_number(c->ci_low));
    failed |= plumb__json_put(o, "ci_high", plumb__json_number(c->ci_high));
    failed |= plumb__json_put(o, "p_value", plumb__json_number(c->p_value));
    failed |= plumb__json_put(o, "verdict",
                              json_string(plumb_verdict_name(c->verdict)));
    return plumb__json_finish(o, failed);
}

static json_t *value_json(const plumb_sql_value_t *v)
{
    switch (v->type) {
    case PLUMB_SQL_INTEGER:
        return json_integer(v->integer);
    case PLUMB_SQL_REAL:
        return plumb__json_number(v->real);
    case PLUMB_SQL_TEXT:
        return json_stringn(v->bytes, v->len);
    case PLUMB_SQL_BLOB: {
        char *hex = malloc(2 * v->len + 1);
        if (!hex)
            return NULL;
        for (size_t i = 0; i < v->len; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)v->bytes[i]);
        json_t *o = json_pack("{s:s}", "hex", hex);
        free(hex);
        return o;
    }
    default:
        return json_null();
    }
}

/* The exact texts and parameters of a group's statements (keep_params). */
static json_t *runs_json(const plumb_sql_trace_t *t,
                         const plumb_sql_analysis_t *a, size_t gi)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < t->n_statements && !failed; i++) {
        const plumb_sql_statement_t *s = &t->statements[i];
        if (a->statement_group[i] != gi)
            continue;
        json_t *o = json_object(), *samples = json_array();
        failed |= !o || !samples;
        for (size_t k = 0; !failed && k < s->n_samples; k++) {
            const plumb_sql_sample_t *x = &s->samples[k];
            json_t *params = x->n_params && x->params[0].name ? json_object()
                                                              : json_array();
            failed |= !params;
            for (size_t p = 0; !failed && p < x->n_params; p++)
                failed |= x->params[p].name
                              ? plumb__json_put(params, x->params[p].name,
                                                value_json(&x->params[p]))
                              : plumb__json_push(params,
                                                 value_json(&x->params[p]));
            failed |= plumb__json_push(samples, params);
        }
        if (!failed) {
            failed |= plumb__json_put(o, "sql", plumb__json_text(s->sql));
            failed |= plumb__json_put(o, "file", plumb__json_known_text(s->file));
            failed |= plumb__json_put(o, "line", json_integer(s->line));
            failed |= plumb__json_put(o, "calls", plumb__json_count(s->calls));
            failed |= plumb__json_put(o, "params", samples);
            samples = NULL;
            failed |= plumb__json_push(list, o);
            o = NULL;
        }
        json_decref(o);
        json_decref(samples);
    }
    return plumb__json_finish(list, failed);
}

static json_t *group_json(const plumb_sql_trace_t *t,
                          const plumb_sql_analysis_t *a, size_t gi)
{
    const plumb_sql_group_t *g = &a->groups[gi];
    json_t *o = json_object();
    if (!o)
        return NULL;
    char id[24];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)g->fingerprint.id);
    int failed = 0;
    failed |= plumb__json_put(o, "fingerprint",
                              plumb__json_text(g->fingerprint.text));
    failed |= plumb__json_put(o, "id", json_string(id));
    failed |= plumb__json_put(o, "kind", json_string(plumb_sql_kind_name(
                                              g->fingerprint.kind)));
    failed |= plumb__json_put(o, "connection", json_integer(g->conn));
    failed |= plumb__json_put(o, "calls", plumb__json_count(g->calls));
    failed |= plumb__json_put(o, "errors", plumb__json_count(g->errors));
    failed |= plumb__json_put(o, "total_ns", json_integer(g->total_ns));
    failed |= plumb__json_put(o, "min_ns", json_integer(g->min_ns));
    failed |= plumb__json_put(o, "max_ns", json_integer(g->max_ns));
    failed |= plumb__json_put(o, "rows", json_integer(g->rows));
    failed |= plumb__json_put(o, "texts", plumb__json_count(g->n_texts));
    failed |= plumb__json_put(o, "sites", plumb__json_count(g->n_sites));
    failed |= plumb__json_put(o, "file", plumb__json_known_text(g->file));
    failed |= plumb__json_put(o, "line", json_integer(g->line));
    failed |= plumb__json_put(o, "function", plumb__json_known_text(g->func));
    failed |= plumb__json_put(o, "plan", plumb__json_text(g->plan));
    if (t->keep_params)
        failed |= plumb__json_put(o, "runs", runs_json(t, a, gi));
    return plumb__json_finish(o, failed);
}

static json_t *finding_json(const plumb_sql_finding_t *f)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "kind",
                              json_string(plumb_sql_finding_key(f->kind)));
    failed |= plumb__json_put(o, "statement", plumb__json_count(f->group));
    failed |= plumb__json_put(o, "cost_ns", json_integer(f->cost_ns));
    failed |= plumb__json_put(o, "calls", plumb__json_count(f->calls));
    failed |= plumb__json_put(o, "distinct", plumb__json_count(f->distinct));
    failed |= plumb__json_put(o, "file", plumb__json_known_text(f->file));
    failed |= plumb__json_put(o, "line", json_integer(f->line));
    failed |= plumb__json_put(o, "function", plumb__json_known_text(f->func));
    failed |= plumb__json_put(o, "detail", plumb__json_text(f->detail));
    return plumb__json_finish(o, failed);
}

static json_t *advice_json(const plumb_sql_advice_t *x)
{
    const plumb_sql_trial_t *r = &x->trial;
    json_t *o = json_object(), *cols = json_array();
    if (!o || !cols) {
        json_decref(o);
        json_decref(cols);
        return NULL;
    }
    int failed = 0;
    for (size_t i = 0; i < x->index.n_columns; i++)
        failed |= plumb__json_push(cols, plumb__json_text(x->index.columns[i]));
    failed |= plumb__json_put(o, "statement", plumb__json_count(x->group));
    failed |= plumb__json_put(o, "table", plumb__json_text(x->index.table));
    failed |= plumb__json_put(o, "columns", cols);
    failed |= plumb__json_put(o, "name", plumb__json_text(x->index.name));
    failed |= plumb__json_put(o, "create_sql",
                              plumb__json_text(x->index.create_sql));
    failed |= plumb__json_put(o, "tried", json_boolean(x->tried));
    failed |= plumb__json_put(o, "advised", json_boolean(x->advised));
    failed |= plumb__json_put(o, "error", plumb__json_text(x->error));
    if (x->tried) {
        failed |= plumb__json_put(o, "reads", comparison_json(&r->reads));
        failed |= plumb__json_put(o, "before_round_ns",
                                  plumb__json_number(r->before_round_ns));
        failed |= plumb__json_put(o, "after_round_ns",
                                  plumb__json_number(r->after_round_ns));
        failed |= plumb__json_put(o, "same_results",
                                  json_boolean(r->same_results));
        failed |= plumb__json_put(o, "plan_before",
                                  plumb__json_text(r->plan_before));
        failed |= plumb__json_put(o, "plan_after",
                                  plumb__json_text(r->plan_after));
        failed |= plumb__json_put(o, "scan_removed",
                                  json_boolean(r->scan_removed));
        failed |= plumb__json_put(o, "index_bytes",
                                  json_integer(r->index_bytes));
        failed |= plumb__json_put(o, "writes",
                                  r->has_writes ? comparison_json(&r->writes)
                                                : json_null());
    }
    return plumb__json_finish(o, failed);
}

static json_t *connection_json(const plumb_sql_connection_t *c)
{
    char *target = plumb_sql_redact(c->target);
    if (!target)
        return NULL;
    json_t *o = json_object();
    int failed = !o;
    if (o) {
        failed |= plumb__json_put(o, "id", json_integer(c->id));
        failed |= plumb__json_put(o, "driver", plumb__json_text(c->driver));
        failed |= plumb__json_put(o, "target", plumb__json_text(target));
        failed |= plumb__json_put(o, "file", plumb__json_known_text(c->file));
        failed |= plumb__json_put(o, "line", json_integer(c->line));
    }
    free(target);
    return plumb__json_finish(o, failed);
}

static json_t *list_of(size_t n, json_t *(*item)(const void *, size_t),
                       const void *ctx)
{
    json_t *list = json_array();
    int failed = !list;
    for (size_t i = 0; !failed && i < n; i++)
        failed |= plumb__json_push(list, item(ctx, i));
    return plumb__json_finish(list, failed);
}

static json_t *connection_item(const void *ctx, size_t i)
{
    return connection_json(&((const plumb_sql_trace_t *)ctx)->connections[i]);
}

static json_t *finding_item(const void *ctx, size_t i)
{
    return finding_json(&((const plumb_sql_analysis_t *)ctx)->findings[i]);
}

static json_t *advice_item(const void *ctx, size_t i)
{
    return advice_json(&((const plumb_sql_analysis_t *)ctx)->advice[i]);
}

static json_t *note_item(const void *ctx, size_t i)
{
    return plumb__json_text(((const plumb_sql_analysis_t *)ctx)->notes[i]);
}

int plumb_report_sql_json(const plumb_sql_trace_t *t,
                          const plumb_sql_analysis_t *a, char **out)
{
    if (!t || !a || !out)
        return PLUMB_EINVAL;
    json_t *doc = json_object(), *groups = json_array();
    int failed = !doc || !groups;
    for (size_t i = 0; !failed && i < a->n_groups; i++)
        failed |= plumb__json_push(groups, group_json(t, a, i));
    if (!failed) {
        failed |= plumb__json_put(doc, "schema_version",
                                  json_integer(PLUMB_JSON_SCHEMA_VERSION));
        failed |= plumb__json_put(doc, "tool", json_string("plumb"));
        failed |= plumb__json_put(doc, "plumb_version",
                                  json_string(PLUMB_VERSION));
        failed |= plumb__json_put(doc, "kind", json_string("sql"));
        char *command = t->command ? plumb_sql_redact(t->command) : NULL;
        failed |= t->command && !command;
        failed |= plumb__json_put(doc, "command",
                                  plumb__json_known_text(command));
        free(command);
        failed |= plumb__json_put(doc, "pid", json_integer(t->pid));
        failed |= plumb__json_put(doc, "python",
                                  plumb__json_known_text(t->python));
        failed |= plumb__json_put(doc, "wall_ns", json_integer(t->wall_ns));
        failed |= plumb__json_put(doc, "timed", json_boolean(t->timed));
        failed |= plumb__json_put(doc, "keep_params",
                                  json_boolean(t->keep_params));
        failed |= plumb__json_put(doc, "queries",
                                  plumb__json_count(a->queries));
        failed |= plumb__json_put(doc, "query_ns", json_integer(a->query_ns));
        failed |= plumb__json_put(doc, "connections",
                                  list_of(t->n_connections, connection_item,
                                          t));
        failed |= plumb__json_put(doc, "statements", groups);
        groups = NULL;
        failed |= plumb__json_put(doc, "findings",
                                  list_of(a->n_findings, finding_item, a));
        failed |= plumb__json_put(doc, "indexes",
                                  list_of(a->n_advice, advice_item, a));
        failed |= plumb__json_put(doc, "notes",
                                  list_of(a->n_notes, note_item, a));
    }
    json_decref(groups);
    plumb__buf_t b = {NULL, 0, 0, 0};
    if (failed || plumb__json_dump(doc, &b)) {
        json_decref(doc);
        free(b.data);
        return PLUMB_ENOMEM;
    }
    json_decref(doc);
    plumb__buf_puts(&b, "\n");
    return plumb__buf_finish(&b, out);
}
