/* text.c: the terminal report: a block per run, the verdicts against the
 * baseline, complexity fits, and warnings. Colour only when asked (the
 * client decides whether the terminal wants it). */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define GREEN(o) ((o)->color ? "\033[32m" : "")
#define RED(o) ((o)->color ? "\033[31m" : "")
#define YELLOW(o) ((o)->color ? "\033[33m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")

/* The summary of metric m for a run, or NULL when it has none (not
 * measured, or no statistics for the run in the analysis). */
static const plumb_summary_t *metric(const plumb_analysis_t *a, size_t run,
                                     plumb_metric_t m)
{
    const plumb_run_stats_t *st = plumb__report_run_stats(a, run);
    return st && st->measured[m] ? &st->summary[m] : NULL;
}

/* "s" unless the formatted count is one. */
static const char *plural(const char *count)
{
    return strcmp(count, "1") == 0 ? "" : "s";
}

/* "12.3 ms" for the median of metric m, or "n/a". */
static void median_of(const plumb_analysis_t *a, size_t run, plumb_metric_t m,
                      char *out, size_t size)
{
    const plumb_summary_t *s = metric(a, run, m);
    if (!s)
        snprintf(out, size, "n/a");
    else
        plumb__format_value(s->median, plumb_metric_unit(m), out, size);
}

static void run_header(const plumb_session_t *s, const plumb_analysis_t *a,
                       size_t i, const plumb_report_opts_t *o, plumb__buf_t *b)
{
    const plumb_run_t *run = &s->runs[i];
    size_t failures =
        plumb__report_failures(run, plumb__report_run_stats(a, i));
    plumb__buf_printf(b, "%s%s%s", BOLD(o), run->name, RESET(o));
    if (strcmp(run->name, run->command) != 0)
        plumb__buf_printf(b, "  %s%s%s", DIM(o), run->command, RESET(o));
    if (run->loops)
        plumb__buf_printf(b, "\n    %zu sample%s × %llu call%s", run->n_samples,
                          run->n_samples == 1 ? "" : "s",
                          (unsigned long long)run->loops,
                          run->loops == 1 ? "" : "s");
    else
        plumb__buf_printf(b, "\n    %zu run%s", run->n_samples,
                          run->n_samples == 1 ? "" : "s");
    if (failures)
        plumb__buf_printf(b, " (%s%zu failed%s)", YELLOW(o), failures,
                          RESET(o));
    if (run->python)
        plumb__buf_printf(b, " · %s", run->python);
    if (run->shell) {
        char cost[32];
        plumb__format_value((double)run->shell_overhead_ns, PLUMB_UNIT_NS,
                            cost, sizeof cost);
        plumb__buf_printf(b, " · through a shell (its start-up, %s, is "
                             "subtracted)", cost);
    }
    if (run->id)
        plumb__buf_printf(b, " · stored as run %lld", (long long)run->id);
    plumb__buf_puts(b, "\n");
}

static void wall_lines(const plumb_analysis_t *a, size_t i, plumb__buf_t *b,
                       const plumb_report_opts_t *o)
{
    const plumb_summary_t *w = metric(a, i, PLUMB_METRIC_WALL);
    if (!w) {
        plumb__buf_puts(b, "    wall time   n/a\n");
        return;
    }
    char med[32], lo[32], hi[32], mean[32], sd[32], mn[32], p5[32], p95[32],
        mx[32], mad[32];
    plumb_unit_t ns = PLUMB_UNIT_NS;
    plumb__format_value(w->median, ns, med, sizeof med);
    plumb__format_scaled(w->median_ci_low, w->median, ns, 0, lo, sizeof lo);
    plumb__format_scaled(w->median_ci_high, w->median, ns, 1, hi, sizeof hi);
    plumb__format_value(w->mean, ns, mean, sizeof mean);
    plumb__format_value(w->stddev, ns, sd, sizeof sd);
    plumb__format_value(w->mad, ns, mad, sizeof mad);
    plumb__format_scaled(w->min, w->median, ns, 0, mn, sizeof mn);
    plumb__format_scaled(w->p5, w->median, ns, 0, p5, sizeof p5);
    plumb__format_scaled(w->p95, w->median, ns, 0, p95, sizeof p95);
    plumb__format_scaled(w->max, w->median, ns, 1, mx, sizeof mx);
    plumb__buf_printf(b,
                      "    wall time   median %s%s%s  [%s, %s] %.0f%% CI"
                      "   mean %s ± %s   MAD %s\n",
                      BOLD(o), med, RESET(o), lo, hi,
                      100 * w->median_ci_level, mean, sd, mad);
    plumb__buf_printf(b, "                min %s  p5 %s  p95 %s  max %s",
                      mn, p5, p95, mx);
    if (w->outliers)
        plumb__buf_printf(b, "   %s%zu outlier%s%s", YELLOW(o), w->outliers,
                          w->outliers == 1 ? "" : "s", RESET(o));
    plumb__buf_puts(b, "\n");
}

static void resource_lines(const plumb_analysis_t *a, size_t i,
                           plumb__buf_t *b, const plumb_report_opts_t *o)
{
    char user[32], sys[32], rss[32], minf[32], majf[32];
    median_of(a, i, PLUMB_METRIC_USER, user, sizeof user);
    median_of(a, i, PLUMB_METRIC_SYS, sys, sizeof sys);
    median_of(a, i, PLUMB_METRIC_MAX_RSS, rss, sizeof rss);
    median_of(a, i, PLUMB_METRIC_MINOR_FAULTS, minf, sizeof minf);
    median_of(a, i, PLUMB_METRIC_MAJOR_FAULTS, majf, sizeof majf);
    plumb__buf_printf(b,
                      "    CPU         user %s  sys %s   max RSS %s   "
                      "page faults %s minor, %s major\n",
                      user, sys, rss, minf, majf);
    char rc[32], wc[32], rs[32], ws[32], rb[32], wb[32];
    median_of(a, i, PLUMB_METRIC_RCHAR, rc, sizeof rc);
    median_of(a, i, PLUMB_METRIC_WCHAR, wc, sizeof wc);
    median_of(a, i, PLUMB_METRIC_READ_SYSCALLS, rs, sizeof rs);
    median_of(a, i, PLUMB_METRIC_WRITE_SYSCALLS, ws, sizeof ws);
    median_of(a, i, PLUMB_METRIC_READ_BYTES, rb, sizeof rb);
    median_of(a, i, PLUMB_METRIC_WRITE_BYTES, wb, sizeof wb);
    plumb__buf_printf(b,
                      "    I/O         read %s (%s syscall%s)  written %s "
                      "(%s syscall%s)   storage %s read, %s written\n",
                      rc, rs, plural(rs), wc, ws, plural(ws), rb, wb);
    char vol[32], inv[32], ins[32], cyc[32];
    median_of(a, i, PLUMB_METRIC_VOL_CTXSW, vol, sizeof vol);
    median_of(a, i, PLUMB_METRIC_INVOL_CTXSW, inv, sizeof inv);
    median_of(a, i, PLUMB_METRIC_INSTRUCTIONS, ins, sizeof ins);
    median_of(a, i, PLUMB_METRIC_CYCLES, cyc, sizeof cyc);
    plumb__buf_printf(b,
                      "    switches    %s voluntary, %s involuntary   "
                      "instructions %s  cycles %s\n",
                      vol, inv, ins, cyc);
    if (o->verbose) {
        for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
            const plumb_summary_t *s = metric(a, i, (plumb_metric_t)m);
            if (!s || m == PLUMB_METRIC_WALL)
                continue;
            char med[32], lo[32], hi[32];
            plumb_unit_t u = plumb_metric_unit((plumb_metric_t)m);
            plumb__format_value(s->median, u, med, sizeof med);
            plumb__format_value(s->min, u, lo, sizeof lo);
            plumb__format_value(s->max, u, hi, sizeof hi);
            plumb__buf_printf(b, "    %-22s median %s  min %s  max %s\n",
                              plumb_metric_label((plumb_metric_t)m), med, lo,
                              hi);
        }
    }
}

/* "fast.py  3.12x faster than slow.py  [3.05, 3.19]  p<0.001" */
static void verdict_line(const plumb_session_t *s, const plumb_pair_t *pair,
                         size_t k, const plumb_report_opts_t *o,
                         plumb__buf_t *b)
{
    const plumb_comparison_t *c = &pair->cmp[k];
    const char *cand = s->runs[pair->candidate].name;
    const char *base = s->runs[pair->baseline].name;
    const char *words;
    double factor, lo, hi;
    char p[32];
    plumb__format_p(c->p_value, p, sizeof p);
    int has_ratio = plumb__verdict_words(c, &words, &factor, &lo, &hi);
    int headline = c->metric == PLUMB_METRIC_WALL;
    const char *label = plumb_metric_label(c->metric);
    const char *colour = c->verdict == PLUMB_VERDICT_LOWER    ? GREEN(o)
                         : c->verdict == PLUMB_VERDICT_HIGHER ? RED(o)
                                                              : "";
    if (headline)
        plumb__buf_printf(b, "  %s%s%s  ", BOLD(o), cand, RESET(o));
    else
        plumb__buf_printf(b, "      %s: ", label);
    if (c->verdict == PLUMB_VERDICT_SAME) {
        plumb__buf_printf(b, "no significant difference from %s", base);
        if (has_ratio)
            plumb__buf_printf(b, "  (%.2fx %s [%.2f, %.2f], %s)", factor,
                              words, lo, hi, p);
        else
            plumb__buf_printf(b, "  (%s)", p);
    } else if (has_ratio) {
        plumb__buf_printf(b, "%s%.2fx %s%s than %s  [%.2f, %.2f]  %s",
                          colour, factor, words, RESET(o), base, lo, hi, p);
    } else {
        plumb__buf_printf(b, "%s%s%s than %s (one median is 0)  %s", colour,
                          words, RESET(o), base, p);
    }
    plumb__buf_puts(b, "\n");
}

static void comparisons(const plumb_session_t *s, const plumb_analysis_t *a,
                        const plumb_report_opts_t *o, plumb__buf_t *b)
{
    if (a->n_pairs == 0)
        return;
    plumb__buf_printf(b, "\n%sComparison%s (%g%% CI of the ratio of medians, "
                         "Mann-Whitney U p-value)\n",
                      BOLD(o), RESET(o), plumb__report_level_percent(a));
    for (size_t i = 0; i < a->n_pairs; i++) {
        const plumb_pair_t *pair = &a->pairs[i];
        if (pair->compared[0])
            verdict_line(s, pair, 0, o, b);
        else
            plumb__buf_printf(b, "  %s  not comparable with %s (too few "
                                 "runs)\n",
                              s->runs[pair->candidate].name,
                              s->runs[pair->baseline].name);
        /* other metrics only when they differ for real */
        for (size_t k = 1; k < PLUMB_N_VERDICT_METRICS; k++)
            if (pair->compared[k] &&
                pair->cmp[k].verdict != PLUMB_VERDICT_SAME)
                verdict_line(s, pair, k, o, b);
    }
}

static void fits(const plumb_session_t *s, const plumb_analysis_t *a,
                 const plumb_report_opts_t *o, plumb__buf_t *b)
{
    if (a->n_fits == 0)
        return;
    plumb__buf_printf(b, "\n%sComplexity%s over %s (wall time = a + b·g(%s), "
                         "model chosen by BIC)\n",
                      BOLD(o), RESET(o), s->scan_param, s->scan_param);
    int width = 0;
    for (size_t i = 0; i < a->n_fits; i++) {
        const plumb_run_t *run = &s->runs[a->fits[i].first_run];
        int len = (int)strlen(plumb__report_series_name(run));
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < a->n_fits; i++) {
        const plumb_series_fit_t *f = &a->fits[i];
        const char *label =
            plumb__report_series_name(&s->runs[f->first_run]);
        char start[32];
        plumb__format_value(f->fit.a, PLUMB_UNIT_NS, start, sizeof start);
        plumb__buf_printf(b, "  %-*s  %s%-11s%s (fit error %.1f%%, "
                             "intercept %s",
                          width, label, BOLD(o), plumb_order_name(f->fit.order),
                          RESET(o), 100 * f->fit.fit_error, start);
        if (f->fit.close_order != PLUMB_ORDER_COUNT)
            plumb__buf_printf(b, "; %s fits almost as well: scan a wider "
                                 "range or more values",
                              plumb_order_name(f->fit.close_order));
        plumb__buf_puts(b, ")\n");
    }
    for (size_t i = 0; i < a->n_crossovers; i++) {
        const plumb_crossover_t *c = &a->crossovers[i];
        const plumb_series_fit_t *fa = &a->fits[c->fit_a];
        const plumb_series_fit_t *fb = &a->fits[c->fit_b];
        double below = c->n * 0.5 > fa->n_lo ? c->n * 0.5 : fa->n_lo;
        int a_faster_below = plumb_complexity_eval(&fa->fit, below) <
                             plumb_complexity_eval(&fb->fit, below);
        const char *name_a =
            plumb__report_series_name(&s->runs[fa->first_run]);
        const char *name_b =
            plumb__report_series_name(&s->runs[fb->first_run]);
        char n[32];
        plumb__format_scan_value(c->n, n, sizeof n);
        plumb__buf_printf(b, "  the curves cross at %s ≈ %s: below it %s "
                             "is faster, above it %s\n",
                          s->scan_param, n, a_faster_below ? name_a : name_b,
                          a_faster_below ? name_b : name_a);
    }
}

/* How far the figures can be taken: partial or not, what the harness
 * itself costs, whether hardware counters were read. */
static void session_header(const plumb_session_t *s,
                           const plumb_report_opts_t *o, plumb__buf_t *b)
{
    if (s->partial)
        plumb__buf_printf(b, "%sPARTIAL%s: interrupted before the planned "
                             "runs were done\n",
                          YELLOW(o), RESET(o));
    if (s->overhead_ns > 0) {
        char cost[32];
        plumb__format_value((double)s->overhead_ns, PLUMB_UNIT_NS, cost,
                            sizeof cost);
        if (s->n_runs && s->runs[0].loops) /* plumb.bench's session */
            plumb__buf_printf(b, "%sharness overhead %s per call (the timing "
                                 "loop calling a function that does "
                                 "nothing; included in wall times)%s\n",
                              DIM(o), cost, RESET(o));
        else
            plumb__buf_printf(b, "%sharness overhead %s per run (starting "
                                 "and reaping a child; included in wall "
                                 "times)%s\n",
                              DIM(o), cost, RESET(o));
    }
    if (s->counters)
        plumb__buf_printf(b, "%s%s%s\n", DIM(o),
                          s->counters, RESET(o));
    if (s->partial || s->overhead_ns > 0 || s->counters)
        plumb__buf_puts(b, "\n");
}

int plumb__report_text(const plumb_session_t *s, const plumb_analysis_t *a,
                       const plumb_report_opts_t *o, plumb__buf_t *b)
{
    session_header(s, o, b);
    for (size_t i = 0; i < s->n_runs; i++) {
        if (i)
            plumb__buf_puts(b, "\n");
        run_header(s, a, i, o, b);
        wall_lines(a, i, b, o);
        resource_lines(a, i, b, o);
    }
    comparisons(s, a, o, b);
    fits(s, a, o, b);
    if (a->n_warnings)
        plumb__buf_puts(b, "\n");
    for (size_t i = 0; i < a->n_warnings; i++)
        plumb__buf_printf(b, "%swarning:%s %s\n", YELLOW(o), RESET(o),
                          a->warnings[i]);
    return 0;
}
