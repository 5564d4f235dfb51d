/* markdown.c: the GitHub-flavoured Markdown renderer, a summary sized for a
 * CI job summary or a pull-request comment: a table of runs, the verdict of
 * each comparison, complexity fits, crossovers and warnings. Figures are
 * formatted by format.c so they read as in the terminal; the statistics
 * come from the analysis. Everything taken from the user (names, commands,
 * parameters) is escaped so it cannot break the table or turn into markup. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- escaping ----------------------------------------------------------- */

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

/* Appends s with the characters that Markdown would read as markup
 * backslash-escaped ('|' would end a table cell), and line breaks as spaces
 * (a table row is one line). An '_' inside a word ("x86_64") is no markup
 * in GFM and stays as it is, so the raw text reads well too. */
static void put_escaped(plumb__buf_t *b, const char *s)
{
    if (!s)
        return;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '_' && p > s && is_word_char(p[-1]) && is_word_char(p[1]))
            continue;
        if (*p && !strchr("\\`*_[]<>|~\r\n", *p))
            continue;
        plumb__buf_printf(b, "%.*s", (int)(p - start), start);
        if (!*p)
            break;
        if (*p == '\r' || *p == '\n')
            plumb__buf_puts(b, " ");
        else
            plumb__buf_printf(b, "\\%c", *p);
        start = p + 1;
    }
}

/* ---- figures ------------------------------------------------------------ */

/* The unit's suffix of a formatted value ("ms" of "12.3 ms"), "" if none. */
static const char *suffix_of(const char *formatted)
{
    const char *space = strrchr(formatted, ' ');
    return space ? space + 1 : "";
}

/* "open lo sep hi close unit", with the unit once when both ends share it
 * ("[99.00, 101.0] ms", "999.0 µs … 1.001 ms"). */
static void format_range(double lo, double hi, plumb_unit_t unit,
                         const char *open, const char *sep, const char *close,
                         char *out, size_t size)
{
    char lo_text[64], hi_text[64];
    plumb__format_value(lo, unit, lo_text, sizeof lo_text);
    plumb__format_value(hi, unit, hi_text, sizeof hi_text);
    const char *unit_text = suffix_of(hi_text);
    if (isnan(lo) || isnan(hi) || strcmp(suffix_of(lo_text), unit_text) != 0) {
        snprintf(out, size, "%s%s%s%s%s", open, lo_text, sep, hi_text, close);
        return;
    }
    char lo_num[64], hi_num[64];
    plumb__format_scaled(lo, lo, unit, 0, lo_num, sizeof lo_num);
    plumb__format_scaled(hi, hi, unit, 0, hi_num, sizeof hi_num);
    snprintf(out, size, "%s%s%s%s%s%s%s", open, lo_num, sep, hi_num, close,
             *unit_text ? " " : "", unit_text);
}

/* A cell with the median of metric m, or "n/a". */
static void put_median_cell(plumb__buf_t *b, const plumb_run_stats_t *st,
                            plumb_metric_t m)
{
    char text[64] = "n/a";
    if (st && st->measured[m])
        plumb__format_value(st->summary[m].median, plumb_metric_unit(m), text,
                            sizeof text);
    plumb__buf_printf(b, " %s |", text);
}

/* ---- sections ----------------------------------------------------------- */

static void put_heading(plumb__buf_t *b, const plumb_session_t *s)
{
    plumb__buf_puts(b, "## plumb benchmark\n\n");
    const plumb_env_t *env = &s->env;
    plumb__buf_printf(b, "plumb %s", PLUMB_VERSION);
    if (*env->host) {
        plumb__buf_puts(b, " · ");
        put_escaped(b, env->host);
    }
    if (*env->cpu_model) {
        plumb__buf_puts(b, " · ");
        put_escaped(b, env->cpu_model);
        if (env->cpus > 0)
            plumb__buf_printf(b, " (%d CPUs)", env->cpus);
    }
    if (*env->kernel) {
        plumb__buf_puts(b, " · ");
        put_escaped(b, env->kernel);
    }
    if (s->git_commit) {
        plumb__buf_puts(b, " · commit ");
        plumb__buf_printf(b, "%.12s", s->git_commit);
    }
    plumb__buf_puts(b, "\n\n");
    if (s->partial)
        plumb__buf_puts(b, "> **Interrupted:** these results are partial.\n\n");
}

static void put_run_row(plumb__buf_t *b, const plumb_session_t *s,
                        const plumb_analysis_t *a, size_t i,
                        const char **params, size_t n_params)
{
    const plumb_run_t *run = &s->runs[i];
    const plumb_run_stats_t *st = plumb__report_run_stats(a, i);

    plumb__buf_puts(b, "| ");
    put_escaped(b, run->name);
    if (run->command && strcmp(run->command, run->name) != 0) {
        plumb__buf_puts(b, " (");
        put_escaped(b, run->command);
        plumb__buf_puts(b, ")");
    }
    plumb__buf_puts(b, " |");
    for (size_t p = 0; p < n_params; p++) {
        plumb__buf_puts(b, " ");
        put_escaped(b, plumb__report_param_value(run, params[p]));
        plumb__buf_puts(b, " |");
    }

    size_t failures = plumb__report_failures(run, st);
    plumb__buf_printf(b, " %zu", run->n_samples);
    if (failures)
        plumb__buf_printf(b, " (%zu failed)", failures);
    plumb__buf_puts(b, " |");

    if (!st || !st->measured[PLUMB_METRIC_WALL]) {
        plumb__buf_puts(b, " n/a | n/a | n/a | n/a |");
    } else {
        const plumb_summary_t *w = &st->summary[PLUMB_METRIC_WALL];
        char median[64], ci[160], mean[64], sd[64], range[160];
        plumb__format_value(w->median, PLUMB_UNIT_NS, median, sizeof median);
        format_range(w->median_ci_low, w->median_ci_high, PLUMB_UNIT_NS, "[",
                     ", ", "]", ci, sizeof ci);
        plumb__format_value(w->mean, PLUMB_UNIT_NS, mean, sizeof mean);
        plumb__format_value(w->stddev, PLUMB_UNIT_NS, sd, sizeof sd);
        format_range(w->min, w->max, PLUMB_UNIT_NS, "", " … ", "", range,
                     sizeof range);
        plumb__buf_printf(b, " %s | %s", median, ci);
        /* An interval from few samples covers less than the level asked
         * for; say how much it does cover. */
        if (isfinite(w->median_ci_level) &&
            w->median_ci_level * 100 < plumb__report_level_percent(a) - 1e-9)
            plumb__buf_printf(b, " (%.0f%%)", w->median_ci_level * 100);
        plumb__buf_printf(b, " | %s ± %s | %s |", mean, sd, range);
    }
    put_median_cell(b, st, PLUMB_METRIC_USER);
    put_median_cell(b, st, PLUMB_METRIC_SYS);
    put_median_cell(b, st, PLUMB_METRIC_MAX_RSS);
    plumb__buf_puts(b, "\n");
}

static int put_runs_table(plumb__buf_t *b, const plumb_session_t *s,
                          const plumb_analysis_t *a)
{
    const char **params;
    size_t n_params;
    int err = plumb__report_param_columns(s, &params, &n_params);
    if (err)
        return err;

    plumb__buf_puts(b, "| Command |");
    for (size_t p = 0; p < n_params; p++) {
        plumb__buf_puts(b, " ");
        put_escaped(b, params[p]);
        plumb__buf_puts(b, " |");
    }
    plumb__buf_printf(b,
                      " Runs | Median | %g%% CI of median | Mean ± σ |"
                      " Min … Max | User | Sys | Max RSS |\n",
                      plumb__report_level_percent(a));
    plumb__buf_puts(b, "|:---|");
    for (size_t p = 0; p < n_params; p++)
        plumb__buf_puts(b, "---:|");
    plumb__buf_puts(b, "---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < s->n_runs; i++)
        put_run_row(b, s, a, i, params, n_params);
    plumb__buf_puts(b, "\n");
    free(params);
    return 0;
}

static void put_name(plumb__buf_t *b, const plumb_session_t *s, size_t i)
{
    plumb__buf_puts(b, "**");
    put_escaped(b, i < s->n_runs ? s->runs[i].name : "?");
    plumb__buf_puts(b, "**");
}

/* One line of a comparison, e.g.
 *   **fast.py** is **3.12× faster** than **slow.py** [3.05, 3.19], p<0.001
 *   **b** uses **1.50× less peak memory** than **a** [1.41, 1.62], p=0.002
 *   **b** shows no significant difference in wall time from **a** (…) */
static void put_comparison(plumb__buf_t *b, const plumb_session_t *s,
                           const plumb_pair_t *pair,
                           const plumb_comparison_t *c)
{
    const char *words;
    double factor = NAN, lo = NAN, hi = NAN;
    int has_ratio = plumb__verdict_words(c, &words, &factor, &lo, &hi);
    int is_time = plumb_metric_unit(c->metric) == PLUMB_UNIT_NS;
    char p_text[32];
    plumb__format_p(c->p_value, p_text, sizeof p_text);
    /* "faster" and "less peak memory" say what they measure; "fewer" needs
     * the metric's name, and a time other than wall time says which it is */
    const char *after_words = "", *after_name = "";
    if (!is_time && c->metric != PLUMB_METRIC_MAX_RSS)
        after_words = plumb_metric_label(c->metric);
    else if (is_time && c->metric != PLUMB_METRIC_WALL)
        after_name = plumb_metric_label(c->metric);

    plumb__buf_puts(b, "- ");
    put_name(b, s, pair->candidate);
    if (c->verdict == PLUMB_VERDICT_SAME) {
        plumb__buf_printf(b, " shows no significant difference in %s from ",
                          plumb_metric_label(c->metric));
        put_name(b, s, pair->baseline);
        if (has_ratio)
            plumb__buf_printf(b, " (%.2f× %s%s%s [%.2f, %.2f], %s)\n",
                              factor, words, *after_words ? " " : "",
                              after_words, lo, hi, p_text);
        else
            plumb__buf_printf(b, " (%s)\n", p_text);
        return;
    }

    const char *verb = is_time ? "is"
                       : c->metric == PLUMB_METRIC_MAX_RSS ? "uses"
                                                           : "has";

    if (has_ratio)
        plumb__buf_printf(b, " %s **%.2f× %s%s%s** than ", verb, factor, words,
                          *after_words ? " " : "", after_words);
    else
        plumb__buf_printf(b, " %s **%s%s%s** than ", verb, words,
                          *after_words ? " " : "", after_words);
    put_name(b, s, pair->baseline);
    if (*after_name)
        plumb__buf_printf(b, " in %s", after_name);
    if (has_ratio)
        plumb__buf_printf(b, " [%.2f, %.2f]", lo, hi);
    plumb__buf_printf(b, ", %s\n", p_text);
}

/* Wall time for every pair; the other metrics when they changed, or all of
 * them in verbose mode. */
static void put_comparisons(plumb__buf_t *b, const plumb_session_t *s,
                            const plumb_analysis_t *a, int verbose)
{
    int any = 0;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const plumb_pair_t *pair = &a->pairs[i];
        for (size_t k = 0; k < PLUMB_N_VERDICT_METRICS; k++) {
            const plumb_comparison_t *c = &pair->cmp[k];
            if (!pair->compared[k])
                continue;
            if (!verbose && c->metric != PLUMB_METRIC_WALL &&
                c->verdict == PLUMB_VERDICT_SAME)
                continue;
            if (!any)
                plumb__buf_puts(b, "### Comparisons\n\n");
            any = 1;
            put_comparison(b, s, pair, c);
        }
    }
    if (any)
        plumb__buf_puts(b, "\n");
}

static const char *fit_name(const plumb_session_t *s,
                            const plumb_analysis_t *a, size_t f)
{
    if (f >= a->n_fits || a->fits[f].first_run >= s->n_runs)
        return "?";
    return plumb__report_series_name(&s->runs[a->fits[f].first_run]);
}

static void put_fits(plumb__buf_t *b, const plumb_session_t *s,
                     const plumb_analysis_t *a)
{
    const char *n_name = s->scan_param ? s->scan_param : "n";
    if (a->n_fits) {
        plumb__buf_puts(b, "### Complexity\n\n");
        for (size_t i = 0; i < a->n_fits; i++) {
            const plumb_series_fit_t *f = &a->fits[i];
            plumb__buf_puts(b, "- ");
            put_escaped(b, fit_name(s, a, i));
            plumb__buf_puts(b, ": ");
            put_escaped(b, plumb_order_name(f->fit.order));
            if (isfinite(f->fit.fit_error))
                plumb__buf_printf(b, " (fit error %.1f%%)",
                                  100 * f->fit.fit_error);
            if (f->fit.close_order != PLUMB_ORDER_COUNT) {
                plumb__buf_puts(b, ", ");
                put_escaped(b, plumb_order_name(f->fit.close_order));
                plumb__buf_puts(b, " fits almost as well");
            }
            if (isfinite(f->n_lo) && isfinite(f->n_hi)) {
                char lo[32], hi[32];
                plumb__format_scan_value(f->n_lo, lo, sizeof lo);
                plumb__format_scan_value(f->n_hi, hi, sizeof hi);
                plumb__buf_puts(b, ", ");
                put_escaped(b, n_name);
                plumb__buf_printf(b, " from %s to %s", lo, hi);
            }
            plumb__buf_puts(b, "\n");
        }
        plumb__buf_puts(b, "\n");
    }
    if (a->n_crossovers) {
        plumb__buf_puts(b, "### Crossovers\n\n");
        for (size_t i = 0; i < a->n_crossovers; i++) {
            const plumb_crossover_t *c = &a->crossovers[i];
            char n[32];
            plumb__format_scan_value(c->n, n, sizeof n);
            plumb__buf_puts(b, "- ");
            put_escaped(b, fit_name(s, a, c->fit_a));
            plumb__buf_puts(b, " and ");
            put_escaped(b, fit_name(s, a, c->fit_b));
            plumb__buf_puts(b, " cross at ");
            put_escaped(b, n_name);
            plumb__buf_printf(b, " ≈ %s\n", n);
        }
        plumb__buf_puts(b, "\n");
    }
}

static void put_warnings(plumb__buf_t *b, const plumb_analysis_t *a)
{
    if (!a->n_warnings)
        return;
    plumb__buf_puts(b, "> **Warnings**\n>\n");
    for (size_t i = 0; i < a->n_warnings; i++) {
        if (!a->warnings[i])
            continue;
        plumb__buf_puts(b, "> - ");
        put_escaped(b, a->warnings[i]);
        plumb__buf_puts(b, "\n");
    }
    plumb__buf_puts(b, "\n");
}

int plumb__report_markdown(const plumb_session_t *s,
                           const plumb_analysis_t *a,
                           const plumb_report_opts_t *o, plumb__buf_t *b)
{
    put_heading(b, s);
    if (s->n_runs) {
        int err = put_runs_table(b, s, a);
        if (err)
            return err;
    } else {
        plumb__buf_puts(b, "No runs.\n\n");
    }
    put_comparisons(b, s, a, o->verbose);
    put_fits(b, s, a);
    put_warnings(b, a);
    return b->failed ? PLUMB_ENOMEM : 0;
}
