/* report.h: internals shared by the renderers in src/report/. Each renderer
 * turns a session and its analysis into one string; none of them computes a
 * statistic (analysis does) or decides where the string goes (the client
 * does). */
#ifndef PLUMB_REPORT_H
#define PLUMB_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "plumb.h"

/* A growable string. `failed` latches the first allocation failure so that
 * renderers can append freely and check once at the end. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} plumb__buf_t;

void plumb__buf_printf(plumb__buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void plumb__buf_puts(plumb__buf_t *b, const char *s);
/* Hands the string to the caller (0), or frees it (PLUMB_ENOMEM). */
int plumb__buf_finish(plumb__buf_t *b, char **out);

/* Human forms of a value in a metric's unit, into out: "12.3 ms",
 * "1.50 GiB", "12.3 k". With with_unit 0, the number only, scaled as
 * `scale_like` would be (so a column shares one unit). */
void plumb__format_value(double v, plumb_unit_t unit, char *out, size_t size);
void plumb__format_scaled(double v, double scale_like, plumb_unit_t unit,
                          int with_unit, char *out, size_t size);
/* "p<0.001" or "p=0.023". */
void plumb__format_p(double p, char *out, size_t size);

/* Words of a verdict for a metric: "faster"/"slower", "less memory"/"more
 * memory", "fewer bytes written"/"more bytes written"; and the factor to
 * print (>= 1) with its interval, oriented so that the factor reads with
 * the words. Returns 0 when the comparison has no ratio (a median of 0). */
int plumb__verdict_words(const plumb_comparison_t *c, const char **words,
                         double *factor, double *lo, double *hi);

/* The renderers. */
int plumb__report_text(const plumb_session_t *s, const plumb_analysis_t *a,
                       const plumb_report_opts_t *o, plumb__buf_t *b);
int plumb__report_markdown(const plumb_session_t *s,
                           const plumb_analysis_t *a,
                           const plumb_report_opts_t *o, plumb__buf_t *b);
int plumb__report_json(const plumb_session_t *s, const plumb_analysis_t *a,
                       const plumb_report_opts_t *o, plumb__buf_t *b);
int plumb__report_csv(const plumb_session_t *s, const plumb_analysis_t *a,
                      const plumb_report_opts_t *o, plumb__buf_t *b);

#endif
