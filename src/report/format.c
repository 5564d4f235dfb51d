/* format.c: what every renderer shares, so that a figure reads the same in
 * text, Markdown, JSON and CSV: the number formatting (units, p-values,
 * verdict words) and the reading of a session and its analysis (a run's
 * statistics and failures, the parameter columns, the name of a series).
 * The layout of each format is its renderer's. */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plumb__buf_puts(plumb__buf_t *b, const char *s)
{
    plumb__buf_append(b, s, strlen(s));
}

/* The room for n more bytes and a NUL; 0, or -1 with b failed. */
static int reserve(plumb__buf_t *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len > n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

void plumb__buf_append(plumb__buf_t *b, const char *data, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void plumb__buf_printf(plumb__buf_t *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        if (reserve(b, (size_t)n) != 0)
            return;
    }
}

int plumb__buf_finish(plumb__buf_t *b, char **out)
{
    if (!b->failed && !b->data)
        plumb__buf_puts(b, "");
    if (b->failed) {
        free(b->data);
        b->data = NULL;
        return PLUMB_ENOMEM;
    }
    *out = b->data;
    b->data = NULL;
    return 0;
}

/* The divisor and suffix that suit v in its unit. */
static void pick_scale(double v, plumb_unit_t unit, double *div,
                       const char **suffix)
{
    double a = fabs(v);
    if (unit == PLUMB_UNIT_NS) {
        static const struct { double div; const char *s; } t[] = {
            {1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}};
        for (size_t i = 0; i < 4; i++)
            if (a >= t[i].div || i == 3) {
                *div = t[i].div;
                *suffix = t[i].s;
                return;
            }
    } else if (unit == PLUMB_UNIT_BYTES) {
        static const struct { double div; const char *s; } t[] = {
            {1099511627776.0, "TiB"}, {1073741824.0, "GiB"},
            {1048576.0, "MiB"},       {1024.0, "KiB"}, {1, "B"}};
        for (size_t i = 0; i < 5; i++)
            if (a >= t[i].div || i == 4) {
                *div = t[i].div;
                *suffix = t[i].s;
                return;
            }
    }
    static const struct { double div; const char *s; } t[] = {
        {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}};
    for (size_t i = 0; i < 5; i++)
        if (a >= t[i].div || i == 4) {
            *div = t[i].div;
            *suffix = t[i].s;
            return;
        }
}

/* Three significant figures at most, but never a misleading "1e+03". */
static void print_number(double v, char *out, size_t size)
{
    double a = fabs(v);
    int decimals = a >= 100 ? 1 : a >= 10 ? 2 : 3;
    if (a >= 1000)
        decimals = 0;
    snprintf(out, size, "%.*f", decimals, v);
}

void plumb__format_scaled(double v, double scale_like, plumb_unit_t unit,
                          int with_unit, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "n/a");
        return;
    }
    double div;
    const char *suffix;
    pick_scale(scale_like, unit, &div, &suffix);
    if (v == 0 || (unit != PLUMB_UNIT_NS && div == 1)) {
        /* whole bytes and counts carry no decimals */
        snprintf(out, size, "%.0f%s%s", v, with_unit && *suffix ? " " : "",
                 with_unit ? suffix : "");
        return;
    }
    char num[64];
    print_number(v / div, num, sizeof num);
    snprintf(out, size, "%s%s%s", num, with_unit && *suffix ? " " : "",
             with_unit ? suffix : "");
}

void plumb__format_value(double v, plumb_unit_t unit, char *out, size_t size)
{
    plumb__format_scaled(v, v, unit, 1, out, size);
}

void plumb__format_p(double p, char *out, size_t size)
{
    if (isnan(p))
        snprintf(out, size, "p=n/a");
    else if (p < 0.001)
        snprintf(out, size, "p<0.001");
    else
        snprintf(out, size, "p=%.3f", p);
}

void plumb__format_scan_value(double n, char *out, size_t size)
{
    /* %g would write a scan up to a million as "1e+06", and a crossover
     * at 1234.5 as "1.23e+03" */
    if (!isfinite(n) || fabs(n) >= 100 || n == floor(n))
        snprintf(out, size, "%.0f", n);
    else
        snprintf(out, size, "%.3g", n);
}

const char *plumb__signal_name(int sig)
{
    /* the words plumb bench's errors use: the C library's description */
    const char *name = strsignal(sig);
    return name ? name : "unknown signal";
}

int plumb__verdict_words(const plumb_comparison_t *c, const char **words,
                         double *factor, double *lo, double *hi)
{
    int lower = c->verdict == PLUMB_VERDICT_LOWER ||
                (c->verdict == PLUMB_VERDICT_SAME && c->ratio >= 1);
    switch (c->metric) {
    case PLUMB_METRIC_WALL:
    case PLUMB_METRIC_CPU:
    case PLUMB_METRIC_USER:
    case PLUMB_METRIC_SYS:
        *words = lower ? "faster" : "slower";
        break;
    case PLUMB_METRIC_MAX_RSS:
        *words = lower ? "less peak memory" : "more peak memory";
        break;
    default:
        *words = lower ? "fewer" : "more";
        break;
    }
    if (isnan(c->ratio) || c->ratio <= 0)
        return 0;
    if (lower) {
        *factor = c->ratio;
        *lo = c->ci_low;
        *hi = c->ci_high;
    } else {
        *factor = 1 / c->ratio;
        *lo = 1 / c->ci_high;
        *hi = 1 / c->ci_low;
    }
    return 1;
}

const plumb_run_stats_t *plumb__report_run_stats(const plumb_analysis_t *a,
                                                 size_t i)
{
    return i < a->n_runs ? &a->runs[i] : NULL;
}

size_t plumb__report_failures(const plumb_run_t *run,
                              const plumb_run_stats_t *st)
{
    if (st)
        return st->failures;
    size_t failures = 0;
    for (size_t k = 0; k < run->n_samples; k++)
        failures += !plumb_sample_ok(&run->samples[k]);
    return failures;
}

int plumb__report_param_columns(const plumb_session_t *s, const char ***names,
                                size_t *n)
{
    size_t total = 0, count = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        total += s->runs[i].n_params;
    *names = NULL;
    *n = 0;
    if (total == 0)
        return 0;
    const char **cols = malloc(total * sizeof *cols);
    if (!cols)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < s->n_runs; i++)
        for (size_t p = 0; p < s->runs[i].n_params; p++) {
            const char *name = s->runs[i].param_names[p];
            size_t k = 0;
            while (k < count && strcmp(cols[k], name) != 0)
                k++;
            if (k == count)
                cols[count++] = name;
        }
    *names = cols;
    *n = count;
    return 0;
}

const char *plumb__report_param_value(const plumb_run_t *run,
                                      const char *name)
{
    for (size_t p = 0; p < run->n_params; p++)
        if (strcmp(run->param_names[p], name) == 0)
            return run->param_values[p];
    return NULL;
}

const char *plumb__report_series_name(const plumb_run_t *run)
{
    return run->series_name ? run->series_name : run->name;
}

const char *plumb__report_verdict_word(const plumb_comparison_t *c)
{
    int is_time = plumb_metric_unit(c->metric) == PLUMB_UNIT_NS;
    switch (c->verdict) {
    case PLUMB_VERDICT_LOWER:
        return is_time ? "faster" : "less";
    case PLUMB_VERDICT_HIGHER:
        return is_time ? "slower" : "more";
    default:
        return "no significant difference";
    }
}

double plumb__report_level_percent(const plumb_analysis_t *a)
{
    double level = a->opts.level;
    return level > 0 && level < 1 ? 100 * level : 95;
}
