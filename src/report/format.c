/* format.c: the number formatting every renderer shares (units, p-values,
 * verdict words), so a figure reads the same in text, Markdown and CSV. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plumb__buf_puts(plumb__buf_t *b, const char *s)
{
    plumb__buf_printf(b, "%s", s);
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
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
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
        *words = lower ? "less memory" : "more memory";
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
