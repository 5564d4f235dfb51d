/* profile.c: the terminal summary of a sampling profile: how much was
 * sampled and how faithfully (rate achieved, samples dropped), then where
 * the samples fell, by function and by line. Flame-graph formats come from
 * the stacks themselves (plumb_stack_collapsed, plumb_stack_speedscope). */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")

static void header(const plumb_profile_t *p, const plumb_report_opts_t *o,
                   plumb__buf_t *b)
{
    char took[32];
    plumb__format_value((double)p->duration_ns, PLUMB_UNIT_NS, took,
                        sizeof took);
    plumb__buf_printf(b, "%splumb profile%s · %s · pid %d · %s mode\n",
                      BOLD(o), RESET(o), p->python, p->pid,
                      p->mode == PLUMB_PROFILE_CPU ? "cpu" : "wall");
    plumb__buf_printf(b,
                      "%llu samples in %s (%.0f Hz achieved, %.0f Hz asked) "
                      "· %llu dropped (stacks changed while read) · %zu "
                      "thread%s\n",
                      (unsigned long long)p->samples, took, p->achieved_hz,
                      p->rate_hz, (unsigned long long)p->dropped,
                      p->threads_seen, p->threads_seen == 1 ? "" : "s");
    if (p->samples > 0 && p->achieved_hz < 0.8 * p->rate_hz)
        plumb__buf_printf(
            b,
            "%snote: %.0f Hz is below the %.0f Hz asked: the CPUs were busy "
            "(plumb waits its turn rather than interrupt the program) or the "
            "rate is more than plumb sustains here; fewer samples make the "
            "shares less precise%s\n",
            DIM(o), p->achieved_hz, p->rate_hz, RESET(o));
    if (p->processes > 1)
        plumb__buf_printf(b, "%zu CPython processes sampled (the target and "
                             "its children)\n",
                          p->processes);
    plumb__buf_printf(b, "%s%llu thread stacks recorded", DIM(o),
                      (unsigned long long)p->thread_samples);
    if (p->mode == PLUMB_PROFILE_CPU)
        plumb__buf_printf(b, "; %llu skipped while off-CPU",
                          (unsigned long long)p->idle);
    if (p->exit_signal > 0)
        plumb__buf_printf(b, "; the program was killed by signal %d (%s)",
                          p->exit_signal, plumb__signal_name(p->exit_signal));
    else if (p->exit_status >= 0)
        plumb__buf_printf(b, "; the program exited with status %d",
                          p->exit_status);
    plumb__buf_printf(b, "%s\n", RESET(o));
}

int plumb__report_by_total(const void *x, const void *y)
{
    const plumb_stack_entry_t *a = x, *b = y;
    if (a->total != b->total)
        return a->total < b->total ? 1 : -1;
    if (a->self != b->self)
        return a->self < b->self ? 1 : -1;
    int c = strcmp(a->function, b->function);
    if (c)
        return c;
    if ((c = strcmp(a->file, b->file)))
        return c;
    return (a->line > b->line) - (a->line < b->line);
}

static void table(const plumb_profile_t *p, int by_line, size_t top,
                  const plumb_report_opts_t *o, plumb__buf_t *b)
{
    plumb_stack_entry_t *e = NULL;
    size_t n = 0;
    if (plumb_stack_top(p->stacks, by_line, &e, &n) != 0) {
        b->failed = 1;
        return;
    }
    if (!by_line)
        qsort(e, n, sizeof *e, plumb__report_by_total);
    double total = (double)plumb_stack_total(p->stacks);
    plumb__buf_printf(b, "\n%s%s%s  %7s %7s\n", BOLD(o),
                      by_line ? "Top lines    " : "Top functions", RESET(o),
                      "self", "total");
    for (size_t i = 0; i < n && i < top; i++) {
        char where[512];
        if (by_line)
            snprintf(where, sizeof where, "%s:%d  %s", e[i].file, e[i].line,
                     e[i].function);
        else
            snprintf(where, sizeof where, "%s  (%s)", e[i].function,
                     e[i].file);
        plumb__buf_printf(b, "  %6.1f%% %6.1f%%  %s\n",
                          total > 0 ? 100.0 * (double)e[i].self / total : 0,
                          total > 0 ? 100.0 * (double)e[i].total / total : 0,
                          where);
    }
    if (n > top)
        plumb__buf_printf(b, "  %s... %zu more (%s)%s\n", DIM(o), n - top,
                          o->python ? "summary(top=N), or a flame graph: "
                                      "collapsed() / speedscope()"
                                    : "--top N, or a flame graph: --format "
                                      "collapsed / speedscope",
                          RESET(o));
    free(e);
}

/* Where the samples fell by thread, and who held the GIL. */
static void threads(const plumb_profile_t *p, const plumb_report_opts_t *o,
                    plumb__buf_t *b)
{
    if (p->n_threads == 0)
        return;
    double stacks = (double)p->thread_samples, ticks = (double)p->samples;
    plumb__buf_printf(b, "\n%sThreads%s        stacks  held the GIL\n",
                      BOLD(o), RESET(o));
    for (size_t i = 0; i < p->n_threads; i++) {
        const plumb_profile_thread_t *t = &p->threads[i];
        char gil[32] = "unknown";
        if (t->gil_known && ticks > 0)
            snprintf(gil, sizeof gil, "%5.1f%%",
                     100.0 * (double)t->gil_ticks / ticks);
        plumb__buf_printf(b, "  %6.1f%%  %12s  %s\n",
                          stacks > 0 ? 100.0 * (double)t->stacks / stacks : 0,
                          gil, t->label);
    }
    if (p->threads_seen > p->n_threads)
        plumb__buf_printf(b, "  %s... %zu more threads not listed%s\n",
                          DIM(o), p->threads_seen - p->n_threads, RESET(o));
}

int plumb_report_profile(const plumb_profile_t *p,
                         const plumb_report_opts_t *opts, size_t top,
                         char **out)
{
    static const plumb_report_opts_t defaults = {0, 0, 0};
    plumb__buf_t b = {0};
    if (!p || !out)
        return PLUMB_EINVAL;
    if (!opts)
        opts = &defaults;
    header(p, opts, &b);
    if (plumb_stack_total(p->stacks) == 0)
        plumb__buf_printf(&b, "\nno Python stacks were recorded%s\n",
                          p->mode == PLUMB_PROFILE_CPU
                              ? (opts->python
                                     ? ": the program never ran Python code "
                                       "on a CPU while sampled (try "
                                       "mode='wall')"
                                     : ": the program never ran Python code "
                                       "on a CPU while sampled (try --mode "
                                       "wall)")
                              : "");
    else {
        threads(p, opts, &b);
        table(p, 0, top, opts, &b);
        table(p, 1, top, opts, &b);
    }
    return plumb__buf_finish(&b, out);
}
