/* analysis.c: turns a session's samples into what a user reads: statistics
 * per run, each candidate against its baseline, complexity fits over a
 * parameter scan, and warnings about how far the figures can be trusted.
 * It measures nothing (bench does) and formats nothing (report does). */
#include "plumb.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A warning is worth giving when the coefficient of variation exceeds it. */
#define HIGH_CV 0.10
/* Runs shorter than this many harness overheads measure mostly plumb. */
#define SHORT_RUN_OVERHEADS 10.0

static int add_warning(plumb_analysis_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_warning(plumb_analysis_t *a, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char **grown = realloc(a->warnings, (a->n_warnings + 1) * sizeof *grown);
    if (!grown)
        return PLUMB_ENOMEM;
    a->warnings = grown;
    if (!(grown[a->n_warnings] = strdup(text)))
        return PLUMB_ENOMEM;
    a->n_warnings++;
    return 0;
}

void plumb_analysis_free(plumb_analysis_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_warnings; i++)
        free(a->warnings[i]);
    free(a->warnings);
    free(a->runs);
    free(a->pairs);
    free(a->fits);
    free(a->crossovers);
    free(a);
}

static int summarize_run(const plumb_run_t *run, plumb_run_stats_t *st)
{
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        double *v;
        size_t n;
        int err = plumb_run_values(run, (plumb_metric_t)m, &v, &n);
        if (err)
            return err;
        if (n > 0) {
            err = plumb_stats_summarize(v, n, &st->summary[m]);
            st->measured[m] = err == 0;
        }
        free(v);
        if (err)
            return err;
    }
    for (size_t i = 0; i < run->n_samples; i++)
        if (!plumb_sample_ok(&run->samples[i]))
            st->failures++;
    return 0;
}

static int compare_pair(const plumb_session_t *s, const plumb_analysis_t *a,
                        plumb_pair_t *pair)
{
    static const plumb_metric_t metrics[] = PLUMB_VERDICT_METRICS;
    const plumb_run_t *base = &s->runs[pair->baseline];
    const plumb_run_t *cand = &s->runs[pair->candidate];
    int err = 0;
    for (size_t k = 0; k < PLUMB_N_VERDICT_METRICS && !err; k++) {
        double *bv = NULL, *cv = NULL;
        size_t bn, cn;
        if ((err = plumb_run_values(base, metrics[k], &bv, &bn)) == 0 &&
            (err = plumb_run_values(cand, metrics[k], &cv, &cn)) == 0 &&
            bn >= 2 && cn >= 2) {
            err = plumb_compare(bv, bn, cv, cn, &a->opts, &pair->cmp[k]);
            if (err == PLUMB_ETOOFEW || err == PLUMB_EINVAL)
                err = 0; /* not comparable on this metric; say nothing */
            else if (err == 0) {
                pair->cmp[k].metric = metrics[k];
                pair->compared[k] = 1;
            }
        }
        free(bv);
        free(cv);
    }
    return err;
}

/* Fits wall time over the scanned parameter for each series. */
static int fit_series(const plumb_session_t *s, plumb_analysis_t *a)
{
    int err = 0;
    double *xs = NULL, *ts = NULL;
    size_t total = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        total += s->runs[i].n_samples;
    a->fits = calloc(s->n_runs ? s->n_runs : 1, sizeof *a->fits);
    xs = malloc((total ? total : 1) * sizeof *xs);
    ts = malloc((total ? total : 1) * sizeof *ts);
    if (!a->fits || !xs || !ts) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        int series = s->runs[i].series, seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= s->runs[j].series == series;
        if (seen)
            continue;
        size_t count = 0;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t j = i; j < s->n_runs; j++) {
            const plumb_run_t *run = &s->runs[j];
            /* no growth law takes n <= 0 (log 0): such sizes (--param
             * n=0,10,...) are left out of the fit */
            if (run->series != series || !(run->x > 0))
                continue;
            lo = fmin(lo, run->x);
            hi = fmax(hi, run->x);
            for (size_t k = 0; k < run->n_samples; k++) {
                int64_t w = run->samples[k].metric[PLUMB_METRIC_WALL];
                if (w == PLUMB_UNAVAILABLE)
                    continue;
                xs[count] = run->x;
                /* per call, as plumb_run_values gives it */
                ts[count++] = run->loops > 1 ? (double)w / (double)run->loops
                                             : (double)w;
            }
        }
        plumb_series_fit_t *f = &a->fits[a->n_fits];
        int fit_err = plumb_complexity_fit(xs, ts, count, &f->fit);
        /* too few sizes, or a median of 0 at some size (a shell run whose
         * start-up was all of it): this series has no fit */
        if (fit_err == PLUMB_ETOOFEW || fit_err == PLUMB_EINVAL)
            continue;
        if (fit_err) {
            err = fit_err;
            goto out;
        }
        f->series = series;
        f->first_run = i;
        f->n_lo = lo;
        f->n_hi = hi;
        a->n_fits++;
    }
out:
    free(xs);
    free(ts);
    return err;
}

/* Where the baseline's curve crosses each candidate's. */
static int find_crossovers(const plumb_session_t *s, plumb_analysis_t *a)
{
    if (a->n_fits < 2)
        return 0;
    a->crossovers = calloc(a->n_fits, sizeof *a->crossovers);
    if (!a->crossovers)
        return PLUMB_ENOMEM;
    for (size_t c = 0; c < a->n_fits; c++) {
        const plumb_run_t *first = &s->runs[a->fits[c].first_run];
        if (first->baseline < 0)
            continue;
        int base_series = s->runs[first->baseline].series;
        for (size_t b = 0; b < a->n_fits; b++) {
            if (a->fits[b].series != base_series || b == c)
                continue;
            double lo = fmax(a->fits[b].n_lo, a->fits[c].n_lo);
            double hi = fmin(a->fits[b].n_hi, a->fits[c].n_hi);
            double n;
            if (lo < hi && plumb_complexity_crossover(&a->fits[b].fit,
                                                      &a->fits[c].fit, lo, hi,
                                                      &n) == 0) {
                a->crossovers[a->n_crossovers].fit_a = b;
                a->crossovers[a->n_crossovers].fit_b = c;
                a->crossovers[a->n_crossovers].n = n;
                a->n_crossovers++;
            }
        }
    }
    return 0;
}

/* A warning that may concern several runs: one sentence naming them all,
 * so a scan of twenty runs does not print twenty lines. */
typedef struct {
    char names[768];
    size_t count;
    int full; /* a run was left out, and ", ..." ends the list */
} run_list_t;

static void list_run(run_list_t *l, const char *name, const char *detail)
{
    static const char more[] = ", ...";
    char entry[sizeof l->names];
    size_t at = strlen(l->names);
    if (l->full)
        return;
    snprintf(entry, sizeof entry, "%s%s%s%s%s", l->count ? ", " : "", name,
             *detail ? " (" : "", detail, *detail ? ")" : "");
    l->count++;
    /* Whole entries only, keeping room for `more`: a name cut short would
     * name a run that does not exist. The first goes in even cut short, so
     * that the list names at least one run. */
    size_t room = sizeof l->names - sizeof more - at;
    size_t len = strlen(entry);
    if (len > room) {
        l->full = 1;
        if (at > 0) {
            strcpy(l->names + at, more);
            return;
        }
        len = room;
    }
    memcpy(l->names + at, entry, len);
    strcpy(l->names + at + len, l->full ? more : "");
}

static int warn_about_runs(const plumb_session_t *s, plumb_analysis_t *a)
{
    run_list_t noisy = {"", 0, 0}, outliers = {"", 0, 0},
               short_runs = {"", 0, 0}, failed = {"", 0, 0};
    char detail[64];
    for (size_t i = 0; i < s->n_runs; i++) {
        const plumb_run_t *run = &s->runs[i];
        const plumb_run_stats_t *st = &a->runs[i];
        if (st->failures > 0) {
            snprintf(detail, sizeof detail, "%zu of %zu", st->failures,
                     run->n_samples);
            list_run(&failed, run->name, detail);
        }
        if (!st->measured[PLUMB_METRIC_WALL])
            continue;
        const plumb_summary_t *w = &st->summary[PLUMB_METRIC_WALL];
        double cv = w->mean > 0 ? w->stddev / w->mean : 0;
        if (w->n >= 3 && cv > HIGH_CV) {
            snprintf(detail, sizeof detail, "CV %.1f%%", 100 * cv);
            list_run(&noisy, run->name, detail);
        }
        if (w->outliers > 0) {
            snprintf(detail, sizeof detail, "%zu of %zu", w->outliers, w->n);
            list_run(&outliers, run->name, detail);
        }
        if (s->overhead_ns > 0 &&
            w->median < SHORT_RUN_OVERHEADS * (double)s->overhead_ns) {
            if (run->loops)
                snprintf(detail, sizeof detail, "%.1f ns", w->median);
            else
                snprintf(detail, sizeof detail, "%.3f ms", w->median / 1e6);
            list_run(&short_runs, run->name, detail);
        }
    }
    int err = 0;
    if (noisy.count)
        err = add_warning(a,
                          "high variance (coefficient of variation above "
                          "10%%) in %s: something else competes for the "
                          "machine or the program itself varies; close "
                          "other programs or raise --min-runs, and trust "
                          "the medians and their intervals over the means",
                          noisy.names);
    if (!err && outliers.count)
        err = add_warning(a,
                          "statistical outliers (modified z-score above "
                          "3.5) in %s: interference from other processes "
                          "or a cold cache; try --warmup, or rerun on a "
                          "quiet machine",
                          outliers.names);
    if (!err && short_runs.count && s->runs[0].loops)
        /* a session of plumb.bench: the harness is its timing loop */
        err = add_warning(a,
                          "calls shorter than %.0f times the harness's own "
                          "cost (%.1f ns per call) in %s: the figure is "
                          "mostly the timing loop; time a bigger piece of "
                          "work per call",
                          SHORT_RUN_OVERHEADS, (double)s->overhead_ns,
                          short_runs.names);
    else if (!err && short_runs.count)
        err = add_warning(a,
                          "runs shorter than %.0f times the harness's own "
                          "cost (%.3f ms per run) in %s: the timer cannot "
                          "tell the command's work from process start-up; "
                          "measure a larger workload",
                          SHORT_RUN_OVERHEADS, (double)s->overhead_ns / 1e6,
                          short_runs.names);
    if (!err && failed.count)
        err = add_warning(a,
                          "failed runs (non-zero exit, signal or timeout) "
                          "in %s are included in the statistics",
                          failed.names);
    return err;
}

static int warn_about_machine(const plumb_session_t *s, plumb_analysis_t *a)
{
    int err = 0;
    if (s->partial)
        err = add_warning(a, "interrupted: these results are partial");
    if (!err && s->env.cpus > 0 && s->env.load_avg1 > s->env.cpus)
        err = add_warning(a,
                          "the machine was loaded (load average %.2f on %d "
                          "CPUs): timings are inflated and noisy; rerun when "
                          "it is quiet",
                          s->env.load_avg1, s->env.cpus);
    if (!err && s->env.governor[0] &&
        strcmp(s->env.governor, "performance") != 0)
        err = add_warning(a,
                          "the CPU frequency governor is '%s', not "
                          "'performance': frequency changes add noise (as "
                          "root: cpupower frequency-set -g performance)",
                          s->env.governor);
    return err;
}

int plumb_analysis_new(const plumb_session_t *s,
                       const plumb_compare_opts_t *opts,
                       plumb_analysis_t **out)
{
    int err = 0;
    plumb_analysis_t *a = NULL;
    if (!s || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!(a = calloc(1, sizeof *a)))
        return PLUMB_ENOMEM;
    if (opts)
        a->opts = *opts;
    else
        plumb_compare_opts_init(&a->opts);
    a->n_runs = s->n_runs;
    a->runs = calloc(s->n_runs ? s->n_runs : 1, sizeof *a->runs);
    a->pairs = calloc(s->n_runs ? s->n_runs : 1, sizeof *a->pairs);
    if (!a->runs || !a->pairs) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->n_runs && !err; i++)
        err = summarize_run(&s->runs[i], &a->runs[i]);
    for (size_t i = 0; i < s->n_runs && !err; i++) {
        int base = s->runs[i].baseline;
        if (base < 0 || (size_t)base >= s->n_runs || (size_t)base == i)
            continue;
        plumb_pair_t *pair = &a->pairs[a->n_pairs++];
        pair->baseline = (size_t)base;
        pair->candidate = i;
        err = compare_pair(s, a, pair);
    }
    if (!err && s->scan_param)
        err = fit_series(s, a);
    if (!err)
        err = find_crossovers(s, a);
    if (!err)
        err = warn_about_machine(s, a);
    if (!err)
        err = warn_about_runs(s, a);
out:
    if (err) {
        plumb_analysis_free(a);
        return err;
    }
    *out = a;
    return 0;
}
