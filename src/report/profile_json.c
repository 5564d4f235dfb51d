/* profile_json.c: a sampling profile as one JSON document (docs/json.md,
 * "Profiles"): what was sampled and how faithfully, the threads, every
 * function and line with its self and total counts, and every distinct
 * stack. It owns the document's shape; the counts come from the stacks
 * (plumb_stack_top, plumb_stack_each) and the values follow json_value.c.
 * It computes no share: readers divide by header.thread_samples. */
#include "report/report.h"

#include <stdlib.h>

static json_t *header_json(const plumb_profile_t *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "command", plumb__json_known_text(p->command));
    failed |= plumb__json_put(o, "pid", json_integer(p->pid));
    failed |= plumb__json_put(o, "python", plumb__json_known_text(p->python));
    failed |= plumb__json_put(
        o, "mode",
        json_string(p->mode == PLUMB_PROFILE_WALL ? "wall" : "cpu"));
    failed |= plumb__json_put(o, "rate_hz", plumb__json_number(p->rate_hz));
    failed |=
        plumb__json_put(o, "achieved_hz", plumb__json_number(p->achieved_hz));
    failed |= plumb__json_put(o, "duration_ns", json_integer(p->duration_ns));
    failed |= plumb__json_put(o, "samples", plumb__json_count(p->samples));
    failed |= plumb__json_put(o, "dropped", plumb__json_count(p->dropped));
    failed |= plumb__json_put(o, "thread_samples",
                              plumb__json_count(p->thread_samples));
    failed |= plumb__json_put(o, "idle", plumb__json_count(p->idle));
    failed |= plumb__json_put(o, "processes", plumb__json_count(p->processes));
    failed |=
        plumb__json_put(o, "threads_seen", plumb__json_count(p->threads_seen));
    failed |= plumb__json_put(o, "exit_status",
                              p->exit_status >= 0
                                  ? json_integer(p->exit_status)
                                  : json_null());
    failed |= plumb__json_put(o, "exit_signal",
                              p->exit_signal > 0
                                  ? json_integer(p->exit_signal)
                                  : json_null());
    return plumb__json_finish(o, failed);
}

static json_t *threads_json(const plumb_profile_t *p)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    int failed = 0;
    for (size_t i = 0; i < p->n_threads && !failed; i++) {
        const plumb_profile_thread_t *t = &p->threads[i];
        json_t *o = json_object();
        int bad = !o;
        if (o) {
            bad |= plumb__json_put(o, "label", plumb__json_text(t->label));
            bad |= plumb__json_put(o, "stacks", plumb__json_count(t->stacks));
            bad |= plumb__json_put(o, "gil_ticks",
                                   t->gil_known
                                       ? plumb__json_count(t->gil_ticks)
                                       : json_null());
        }
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    return plumb__json_finish(arr, failed);
}

/* Every function (by_line 0: "function", "file") or line (also "line"),
 * in the summary's order. NULL when out of memory. */
static json_t *entries_json(const plumb_profile_t *p, int by_line)
{
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    if (plumb_stack_top(p->stacks, by_line, &e, &n) != 0)
        return NULL;
    if (!by_line)
        qsort(e, n, sizeof *e, plumb__report_by_total);
    json_t *arr = json_array();
    int failed = !arr;
    for (size_t i = 0; i < n && !failed; i++) {
        json_t *o = json_object();
        int bad = !o;
        if (o) {
            bad |= plumb__json_put(o, "function",
                                   plumb__json_text(e[i].function));
            bad |= plumb__json_put(o, "file",
                                   plumb__json_known_text(e[i].file));
            if (by_line)
                bad |= plumb__json_put(o, "line",
                                       e[i].line > 0 ? json_integer(e[i].line)
                                                     : json_null());
            bad |= plumb__json_put(o, "self", plumb__json_count(e[i].self));
            bad |= plumb__json_put(o, "total", plumb__json_count(e[i].total));
        }
        failed |= plumb__json_push(arr, plumb__json_finish(o, bad));
    }
    free(e);
    return plumb__json_finish(arr, failed);
}

int plumb_report_profile_json(const plumb_profile_t *p, char **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!p || !p->stacks)
        return PLUMB_EINVAL;
    plumb__buf_t b = {0};
    int err = PLUMB_ENOMEM;
    json_t *root = json_object();
    if (!root)
        return err;
    int failed = 0;
    failed |= plumb__json_put(root, "schema_version",
                              json_integer(PLUMB_JSON_SCHEMA_VERSION));
    failed |= plumb__json_put(root, "tool", json_string("plumb"));
    failed |=
        plumb__json_put(root, "plumb_version", json_string(PLUMB_VERSION));
    failed |= plumb__json_put(root, "kind", json_string("profile"));
    failed |= plumb__json_put(root, "header", header_json(p));
    failed |= plumb__json_put(root, "threads", threads_json(p));
    failed |= plumb__json_put(root, "functions", entries_json(p, 0));
    failed |= plumb__json_put(root, "lines", entries_json(p, 1));
    failed |= plumb__json_put(root, "stacks",
                              plumb__json_stacks(p->stacks, "count"));
    if (!failed)
        err = plumb__json_dump(root, &b);
    json_decref(root);
    if (err) {
        free(b.data);
        return err;
    }
    return plumb__buf_finish(&b, out);
}
