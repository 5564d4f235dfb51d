/* mem.c: the terminal summary of a memory profile: how the recording
 * ended, the peak (heap and RSS) and how it was estimated, what was
 * allocated, then where the memory was: the lines and functions holding it
 * at the peak, the lines that allocated most and those still holding it at
 * the end (likely leaks), and a sparkline of the timeline. Flame graphs
 * come from the aggregates themselves (plumb_stack_collapsed,
 * plumb_stack_speedscope), the JSON from mem_json.c. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define YELLOW(o) ((o)->color ? "\033[33m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")

/* Columns of the timeline's sparkline at most. */
#define SPARK_WIDTH 60

static void bytes_text(uint64_t v, char *out, size_t size)
{
    plumb__format_value((double)v, PLUMB_UNIT_BYTES, out, size);
}

static void time_text(int64_t ns, char *out, size_t size)
{
    plumb__format_value((double)ns, PLUMB_UNIT_NS, out, size);
}

/* How the program ended, or that it died and the figures are those of
 * its last snapshot. */
static void ending(const plumb_mem_t *m, const plumb_report_opts_t *o,
                   plumb__buf_t *b)
{
    char took[32], how[96] = "";
    time_text(m->duration_ns, took, sizeof took);
    if (m->exit_signal > 0)
        snprintf(how, sizeof how, "was killed by signal %d (%s)",
                 m->exit_signal, plumb__signal_name(m->exit_signal));
    else if (m->exit_status >= 0)
        snprintf(how, sizeof how, "exited with status %d", m->exit_status);
    if (!m->complete)
        plumb__buf_printf(b,
                          "%sthe program died: figures are those of its last "
                          "snapshot, at %s%s%s%s%s\n",
                          YELLOW(o), took, *how ? " (it " : "", how,
                          *how ? ")" : "", RESET(o));
    else if (*how)
        plumb__buf_printf(b, "the program %s after %s\n", how, took);
    else
        plumb__buf_printf(b, "recorded for %s\n", took);
}

static void figures(const plumb_mem_t *m, const plumb_report_opts_t *o,
                    plumb__buf_t *b)
{
    char peak[32], at[32], mean[32], rss[32], start[32], alloc[32], end[32];
    bytes_text(m->peak_bytes, peak, sizeof peak);
    time_text(m->peak_ns, at, sizeof at);
    bytes_text(m->mean_bytes, mean, sizeof mean);
    bytes_text(m->allocated_bytes, alloc, sizeof alloc);
    bytes_text(m->end_bytes, end, sizeof end);
    const char *heap = m->native ? "heap peak       " : "Python heap peak";
    plumb__buf_printf(b,
                      "\n%s  %s%s%s at %s  %s(estimated; sampled: %llu "
                      "sample%s, one per %s allocated on average)%s\n",
                      heap, BOLD(o), peak, RESET(o), at, DIM(o),
                      (unsigned long long)m->samples,
                      m->samples == 1 ? "" : "s", mean, RESET(o));
    if (m->peak_rss_bytes) {
        bytes_text(m->peak_rss_bytes, rss, sizeof rss);
        plumb__buf_printf(b, "RSS peak          %s", rss);
        if (m->start_rss_bytes) {
            bytes_text(m->start_rss_bytes, start, sizeof start);
            plumb__buf_printf(b, "  %s(%s at the start)%s", DIM(o), start,
                              RESET(o));
        }
        plumb__buf_puts(b, "\n");
    } else {
        plumb__buf_printf(b, "RSS peak          unknown %s(the system did "
                             "not tell)%s\n",
                          DIM(o), RESET(o));
    }
    plumb__buf_printf(b,
                      "allocated         %s in %llu allocation%s  %s(exact: "
                      "every allocation counted)%s\n",
                      alloc, (unsigned long long)m->allocations,
                      m->allocations == 1 ? "" : "s", DIM(o), RESET(o));
    plumb__buf_printf(b,
                      "held at the end   %s  %s(estimated from the same "
                      "samples)%s\n",
                      end, DIM(o), RESET(o));
    if (m->samples == 0 && m->allocated_bytes > 0)
        plumb__buf_printf(b,
                          "%snote: no allocation was sampled, so every "
                          "estimate is 0: the program allocated %s, too "
                          "little for one sample per %s; sample more often "
                          "(%s)%s\n",
                          YELLOW(o), alloc, mean,
                          o->python ? "a smaller sample_bytes="
                                    : "a smaller --sample-bytes",
                          RESET(o));
}

/* One table of an aggregate: its lines by the bytes they allocated
 * themselves (by_line), or its functions by the bytes they and their
 * callees allocated; with each row's share of the aggregate. */
static void table(const plumb_stack_t *st, int by_line, const char *title,
                  size_t top, const plumb_report_opts_t *o, plumb__buf_t *b)
{
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    if (plumb_stack_top(st, by_line, &e, &n) != 0) {
        b->failed = 1;
        return;
    }
    if (!by_line && n > 0)
        qsort(e, n, sizeof *e, plumb__report_by_total);
    double total = (double)plumb_stack_total(st);
    plumb__buf_printf(b, "\n%s%s%s\n", BOLD(o), title, RESET(o));
    /* lines that only lead to others hold nothing themselves: not rows */
    size_t rows = 0;
    while (rows < n && (by_line ? e[rows].self : e[rows].total) > 0)
        rows++;
    if (rows == 0)
        plumb__buf_printf(b, "  %snone sampled%s\n", DIM(o), RESET(o));
    for (size_t i = 0; i < rows && i < top; i++) {
        uint64_t bytes = by_line ? e[i].self : e[i].total;
        char size[32], where[512];
        bytes_text(bytes, size, sizeof size);
        if (by_line)
            snprintf(where, sizeof where, "%s:%d  %s", e[i].file, e[i].line,
                     e[i].function);
        else
            snprintf(where, sizeof where, "%s  (%s)", e[i].function,
                     e[i].file);
        plumb__buf_printf(b, "  %10s %6.1f%%  %s\n", size,
                          total > 0 ? 100.0 * (double)bytes / total : 0,
                          where);
    }
    if (rows > top)
        plumb__buf_printf(b, "  %s... %zu more (%s)%s\n", DIM(o), rows - top,
                          o->python ? "summary(top=N), or a flame graph: "
                                      "collapsed() / speedscope()"
                                    : "--top N, or a flame graph: --format "
                                      "collapsed / speedscope",
                          RESET(o));
    free(e);
}

/* The level, 1 to 8, of v on a scale whose top is max; 0 for nothing. */
static int level(uint64_t v, uint64_t max)
{
    if (v == 0 || max == 0)
        return 0;
    int l = (int)ceil(8.0 * (double)v / (double)max);
    return l < 1 ? 1 : l > 8 ? 8 : l;
}

static void sparkline(const plumb_mem_t *m, int rss, uint64_t max,
                      size_t width, plumb__buf_t *b)
{
    static const char *const blocks[9] = {" ", "▁", "▂", "▃", "▄",
                                          "▅", "▆", "▇", "█"};
    size_t n = m->n_timeline;
    plumb__buf_puts(b, rss ? "  RSS  " : "  heap ");
    for (size_t c = 0; c < width; c++) {
        /* each column is the highest of its points: no peak is lost */
        size_t from = c * n / width, to = (c + 1) * n / width;
        uint64_t v = 0;
        for (size_t i = from; i < to; i++) {
            uint64_t x = rss ? m->timeline[i].rss_bytes
                             : m->timeline[i].heap_bytes;
            v = x > v ? x : v;
        }
        plumb__buf_puts(b, blocks[level(v, max)]);
    }
    plumb__buf_puts(b, "\n");
}

static void timeline(const plumb_mem_t *m, const plumb_report_opts_t *o,
                     plumb__buf_t *b)
{
    size_t n = m->n_timeline;
    plumb__buf_printf(b, "\n%sTimeline%s", BOLD(o), RESET(o));
    if (n == 0) {
        plumb__buf_printf(b, "\n  %sno point was recorded%s\n", DIM(o),
                          RESET(o));
        return;
    }
    uint64_t max = 0, rss_max = 0;
    for (size_t i = 0; i < n; i++) {
        const plumb_mem_point_t *p = &m->timeline[i];
        max = p->heap_bytes > max ? p->heap_bytes : max;
        rss_max = p->rss_bytes > rss_max ? p->rss_bytes : rss_max;
    }
    max = rss_max > max ? rss_max : max;
    char from[32], to[32], top[32];
    time_text(m->timeline[0].t_ns, from, sizeof from);
    time_text(m->timeline[n - 1].t_ns, to, sizeof to);
    bytes_text(max, top, sizeof top);
    plumb__buf_printf(b, "  %sfrom %s to %s; one scale, █ is %s%s\n", DIM(o),
                      from, to, top, RESET(o));
    size_t width = n < SPARK_WIDTH ? n : SPARK_WIDTH;
    sparkline(m, 0, max, width, b);
    if (rss_max)
        sparkline(m, 1, max, width, b);
}

int plumb_report_mem(const plumb_mem_t *m, const plumb_report_opts_t *opts,
                     size_t top, char **out)
{
    static const plumb_report_opts_t defaults = {0, 0, 0};
    plumb__buf_t b = {0};
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!m || !m->peak || !m->allocated || !m->end ||
        (m->n_timeline && !m->timeline))
        return PLUMB_EINVAL;
    if (!opts)
        opts = &defaults;
    plumb__buf_printf(&b, "%splumb mem%s · %s · pid %d · %s\n", BOLD(opts),
                      RESET(opts), *m->python ? m->python : "Python", m->pid,
                      m->native ? "Python and native allocations"
                                : "Python allocations");
    if (*m->command)
        plumb__buf_printf(&b, "%s%s%s\n", DIM(opts), m->command, RESET(opts));
    ending(m, opts, &b);
    figures(m, opts, &b);
    table(m->peak, 1, "Alive at the peak, by line", top, opts, &b);
    table(m->peak, 0, "Alive at the peak, by function (callees included)",
          top, opts, &b);
    table(m->allocated, 1, "Allocated most, by line", top, opts, &b);
    table(m->end, 1, "Held at the end (likely leaks), by line", top, opts,
          &b);
    timeline(m, opts, &b);
    return plumb__buf_finish(&b, out);
}
