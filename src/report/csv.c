/* csv.c: the CSV renderer: one RFC 4180 record per run, a summary for
 * spreadsheets and scripts (like hyperfine's --export-csv). It owns the
 * column list (docs/json.md, "CSV") and the quoting; numbers are raw (ns,
 * bytes), never scaled. Statistics come from the analysis; per-sample data
 * is the JSON renderer's. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4180 ends every record with CRLF. */
#define CSV_EOL "\r\n"

/* Writes one field, quoted when it holds a comma, a quote or a line break
 * (quotes doubled inside). NULL is an empty field. */
static void put_field(plumb__buf_t *b, const char *s, int first)
{
    if (!first)
        plumb__buf_puts(b, ",");
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        plumb__buf_puts(b, s);
        return;
    }
    plumb__buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        const char *quote = strchr(p, '"');
        if (!quote) {
            plumb__buf_puts(b, p);
            break;
        }
        plumb__buf_printf(b, "%.*s\"\"", (int)(quote - p), p);
        p = quote;
    }
    plumb__buf_puts(b, "\"");
}

/* A raw number: an integer when it is one, else the shortest decimal that
 * reads back as the same double; empty when it does not exist. */
static void put_number(plumb__buf_t *b, double v)
{
    plumb__buf_puts(b, ",");
    if (!isfinite(v))
        return;
    if (v == floor(v) && fabs(v) < 9.2e18) {
        plumb__buf_printf(b, "%.0f", v);
        return;
    }
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break;
    }
    plumb__buf_puts(b, text);
}

static void put_size(plumb__buf_t *b, size_t v)
{
    plumb__buf_printf(b, ",%zu", v);
}

/* The wall-time comparison of run i against its baseline, or NULL. */
static const plumb_comparison_t *wall_comparison(const plumb_analysis_t *a,
                                                 size_t i)
{
    for (size_t k = 0; k < a->n_pairs; k++) {
        const plumb_pair_t *pair = &a->pairs[k];
        if (pair->candidate != i)
            continue;
        for (size_t m = 0; m < PLUMB_N_VERDICT_METRICS; m++)
            if (pair->compared[m] && pair->cmp[m].metric == PLUMB_METRIC_WALL)
                return &pair->cmp[m];
    }
    return NULL;
}

/* The median of metric m, or NaN when it was not measured. */
static double median_of(const plumb_run_stats_t *st, plumb_metric_t m)
{
    return st && st->measured[m] ? st->summary[m].median : NAN;
}

static void put_run(plumb__buf_t *b, const plumb_session_t *s,
                    const plumb_analysis_t *a, size_t i, const char **params,
                    size_t n_params)
{
    const plumb_run_t *run = &s->runs[i];
    const plumb_run_stats_t *st = plumb__report_run_stats(a, i);

    put_field(b, run->name, 1);
    put_field(b, run->command, 0);
    for (size_t p = 0; p < n_params; p++)
        put_field(b, plumb__report_param_value(run, params[p]), 0);
    put_size(b, run->n_samples);
    put_size(b, plumb__report_failures(run, st));

    static const plumb_summary_t none = {
        0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0};
    const plumb_summary_t *w =
        st && st->measured[PLUMB_METRIC_WALL] ? &st->summary[PLUMB_METRIC_WALL]
                                              : &none;
    put_number(b, w->mean);
    put_number(b, w->stddev);
    put_number(b, w->median);
    put_number(b, w->median_ci_low);
    put_number(b, w->median_ci_high);
    put_number(b, w->min);
    put_number(b, w->max);
    put_number(b, w->p5);
    put_number(b, w->p95);
    put_number(b, w->mad);
    put_number(b, median_of(st, PLUMB_METRIC_USER));
    put_number(b, median_of(st, PLUMB_METRIC_SYS));
    put_number(b, median_of(st, PLUMB_METRIC_MAX_RSS));
    put_number(b, median_of(st, PLUMB_METRIC_WCHAR));

    const plumb_comparison_t *c = wall_comparison(a, i);
    if (c) {
        put_number(b, c->ratio);
        put_number(b, c->ci_low);
        put_number(b, c->ci_high);
        put_number(b, c->p_value);
        put_field(b, plumb__report_verdict_word(c), 0);
    } else {
        plumb__buf_puts(b, ",,,,,");
    }
    plumb__buf_puts(b, CSV_EOL);
}

int plumb__report_csv(const plumb_session_t *s, const plumb_analysis_t *a,
                      const plumb_report_opts_t *o, plumb__buf_t *b)
{
    (void)o;
    const char **params;
    size_t n_params;
    int err = plumb__report_param_columns(s, &params, &n_params);
    if (err)
        return err;

    plumb__buf_puts(b, "name,command");
    for (size_t p = 0; p < n_params; p++)
        put_field(b, params[p], 0);
    plumb__buf_puts(b,
                    ",runs,failures,mean_ns,stddev_ns,median_ns,"
                    "median_ci_low_ns,median_ci_high_ns,min_ns,max_ns,p5_ns,"
                    "p95_ns,mad_ns,user_median_ns,sys_median_ns,"
                    "max_rss_median_bytes,wchar_median_bytes,ratio,"
                    "ratio_ci_low,ratio_ci_high,p_value,verdict" CSV_EOL);
    for (size_t i = 0; i < s->n_runs; i++)
        put_run(b, s, a, i, params, n_params);

    free(params);
    return b->failed ? PLUMB_ENOMEM : 0;
}
