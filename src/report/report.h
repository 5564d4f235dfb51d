/* report.h: internals shared by the renderers in src/report/. Each renderer
 * turns a session and its analysis into one string; none of them computes a
 * statistic (analysis does) or decides where the string goes (the client
 * does). */
#ifndef PLUMB_REPORT_H
#define PLUMB_REPORT_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
/* Appends n bytes of data as they are (NULs included). */
void plumb__buf_append(plumb__buf_t *b, const char *data, size_t n);
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
/* A value of the scanned parameter (a fitted range's end, a crossover):
 * whole numbers and values from 100 up without decimals, others to three
 * significant figures ("1000000", "397", "0.25"); no exponent. */
void plumb__format_scan_value(double n, char *out, size_t size);

/* The C library's description of signal sig ("Killed"), as plumb bench
 * names the signal that ended a command; never NULL. Static storage. */
const char *plumb__signal_name(int sig);

/* Words of a verdict for a metric: "faster"/"slower" for times, "less
 * peak memory"/"more peak memory" for max RSS (and plumb.compare's peak
 * heap), "fewer"/"more" for the others (the
 * caller names the metric: "fewer bytes written"); and the factor to print
 * (>= 1) with its interval, oriented so that the factor reads with the
 * words. Returns 0 when the comparison has no ratio (a median of 0). */
int plumb__verdict_words(const plumb_comparison_t *c, const char **words,
                         double *factor, double *lo, double *hi);

/* ---- reading a session and its analysis, alike in every renderer ---- */

/* The statistics of run i, or NULL when the analysis holds none for it (an
 * analysis is not required to cover every run). */
const plumb_run_stats_t *plumb__report_run_stats(const plumb_analysis_t *a,
                                                 size_t i);
/* The samples of run that did not exit 0: from st when there is one, else
 * counted from the samples. */
size_t plumb__report_failures(const plumb_run_t *run,
                              const plumb_run_stats_t *st);
/* The union of parameter names over all runs, in order of first use: the
 * parameter columns of a table. The names point into the session; the
 * caller frees *names (NULL when there are none). PLUMB_ENOMEM. */
int plumb__report_param_columns(const plumb_session_t *s, const char ***names,
                                size_t *n);
/* The value of parameter `name` in run, or NULL when it has none. */
const char *plumb__report_param_value(const plumb_run_t *run,
                                      const char *name);
/* What a fitted series is called: the command as written ("slow.py", not
 * "slow.py n=1000", which names one run of it), else the run's name. */
const char *plumb__report_series_name(const plumb_run_t *run);
/* The verdict in the words docs/json.md fixes for JSON and CSV, so that
 * readers can match on them: "faster"/"slower" for times, "less"/"more"
 * for other metrics, or "no significant difference". */
const char *plumb__report_verdict_word(const plumb_comparison_t *c);
/* The confidence level of the intervals, in percent (95 when unset). */
double plumb__report_level_percent(const plumb_analysis_t *a);

/* A qsort order of plumb_stack_entry_t: by total, then self, descending,
 * then by function, file and line. Functions read best by total (where the
 * time goes, callees included), lines by self (where it is spent, the
 * order of plumb_stack_top): the summary and the JSON list them so. */
int plumb__report_by_total(const void *x, const void *y);

/* ---- JSON values, as docs/json.md fixes them (json_value.c) ---- */

/* A string for s: null for NULL, bytes that are not UTF-8 as U+FFFD. Each
 * of these returns a new reference, or NULL when out of memory. */
json_t *plumb__json_text(const char *s);
/* Like plumb__json_text, but "" (an unknown field) is null too. */
json_t *plumb__json_known_text(const char *s);
/* A number; NaN and infinity, which JSON lacks, are null. */
json_t *plumb__json_number(double v);
json_t *plumb__json_count(uint64_t v);
/* obj[key] = value / array += value, taking value's reference (released
 * on failure too); -1 when value is NULL: an allocation upstream failed. */
int plumb__json_put(json_t *obj, const char *key, json_t *value);
int plumb__json_push(json_t *array, json_t *value);
/* value, or NULL (value released) when any step building it failed. */
json_t *plumb__json_finish(json_t *value, int failed);
/* Appends doc to b, indented by two, keys in insertion order, and a final
 * newline. PLUMB_ENOMEM. */
int plumb__json_dump(const json_t *doc, plumb__buf_t *b);
/* st's stacks, in plumb_stack_each's order, each {thread, frames: [{function,
 * file, line}], count_key: its count, truncated}. NULL when out of memory. */
json_t *plumb__json_stacks(const plumb_stack_t *st, const char *count_key);

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
