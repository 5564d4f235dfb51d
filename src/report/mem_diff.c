/* mem_diff.c: two memory profiles side by side: their peaks and the ratio
 * of the two, then, function by function, the bytes each held at its peak
 * and the change, the biggest first. The bytes come from plumb_stack_diff
 * (each function's total in each aggregate); this file orders and lays
 * them out. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")
#define GREEN(o) ((o)->color ? "\033[32m" : "")
#define RED(o) ((o)->color ? "\033[31m" : "")

static void side(const char *tag, const plumb_mem_t *m,
                 const plumb_report_opts_t *o, plumb__buf_t *b)
{
    char peak[32], rss[32] = "unknown", mean[32];
    plumb__format_value((double)m->peak_bytes, PLUMB_UNIT_BYTES, peak,
                        sizeof peak);
    if (m->peak_rss_bytes)
        plumb__format_value((double)m->peak_rss_bytes, PLUMB_UNIT_BYTES, rss,
                            sizeof rss);
    plumb__format_value((double)m->mean_bytes, PLUMB_UNIT_BYTES, mean,
                        sizeof mean);
    plumb__buf_printf(b, "  %s%s%s  heap peak %s · RSS peak %s · %s%s%s\n",
                      BOLD(o), tag, RESET(o), peak, rss,
                      *m->python ? m->python : "Python",
                      m->native ? " · native too" : "",
                      m->complete ? "" : " · died before its end");
    if (*m->command)
        plumb__buf_printf(b, "     %s%s%s\n", DIM(o), m->command, RESET(o));
    plumb__buf_printf(b, "     %s(estimated from %llu samples, one per %s "
                         "allocated on average)%s\n",
                      DIM(o), (unsigned long long)m->samples, mean, RESET(o));
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* Biggest change in bytes first, then by name. */
static int by_bytes_changed(const void *x, const void *y)
{
    const plumb_stack_change_t *a = x, *b = y;
    uint64_t da = distance(a->total_a, a->total_b);
    uint64_t db = distance(b->total_a, b->total_b);
    if (da != db)
        return da < db ? 1 : -1;
    int c = strcmp(a->function, b->function);
    return c ? c : strcmp(a->file, b->file);
}

/* The peaks' ratio in words: "B's peak is 4.00x smaller than A's". */
static void ratio(const plumb_mem_t *a, const plumb_mem_t *b,
                  const plumb_report_opts_t *o, plumb__buf_t *buf)
{
    double pa = (double)a->peak_bytes, pb = (double)b->peak_bytes;
    plumb__buf_printf(buf, "\n%speak%s  ", BOLD(o), RESET(o));
    if (pa == 0 || pb == 0)
        plumb__buf_printf(buf, "no ratio: %s heap peak is 0\n",
                          pa == 0 ? "A's" : "B's");
    else if (pa == pb)
        plumb__buf_printf(buf, "B/A 1.00x: the same heap peak\n");
    else
        plumb__buf_printf(buf, "B/A %.2fx: %s%.2fx %s%s than A's\n", pb / pa,
                          pb < pa ? GREEN(o) : RED(o),
                          pb < pa ? pa / pb : pb / pa,
                          pb < pa ? "less memory" : "more memory", RESET(o));
}

int plumb_report_mem_diff(const plumb_mem_t *a, const plumb_mem_t *b,
                          const plumb_report_opts_t *opts, size_t top,
                          char **out)
{
    static const plumb_report_opts_t defaults = {0, 0, 0};
    plumb__buf_t buf = {0};
    plumb_stack_change_t *ch = NULL;
    size_t n = 0;
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!a || !b || !a->peak || !b->peak)
        return PLUMB_EINVAL;
    if (!opts)
        opts = &defaults;
    int err = plumb_stack_diff(a->peak, b->peak, &ch, &n);
    if (err)
        return err;
    if (n > 0)
        qsort(ch, n, sizeof *ch, by_bytes_changed);
    plumb__buf_printf(&buf, "%splumb compare%s · memory profiles: bytes "
                            "alive at the peak by function (callees "
                            "included)\n",
                      BOLD(opts), RESET(opts));
    side("A", a, opts, &buf);
    side("B", b, opts, &buf);
    ratio(a, b, opts, &buf);
    if (n == 0) {
        plumb__buf_printf(&buf, "\nneither profile sampled an allocation "
                                "alive at its peak\n");
    } else {
        plumb__buf_printf(&buf, "\n%s%10s %10s %11s  function%s\n",
                          BOLD(opts), "A", "B", "change", RESET(opts));
        size_t shown = top && top < n ? top : n;
        for (size_t i = 0; i < shown; i++) {
            char sa[32], sb[32], sd[32], change[40];
            uint64_t d = distance(ch[i].total_a, ch[i].total_b);
            int more = ch[i].total_b > ch[i].total_a;
            plumb__format_value((double)ch[i].total_a, PLUMB_UNIT_BYTES, sa,
                                sizeof sa);
            plumb__format_value((double)ch[i].total_b, PLUMB_UNIT_BYTES, sb,
                                sizeof sb);
            plumb__format_value((double)d, PLUMB_UNIT_BYTES, sd, sizeof sd);
            snprintf(change, sizeof change, "%s%s", d == 0 ? "" : more ? "+"
                                                                      : "-",
                     sd);
            plumb__buf_printf(&buf, "%10s %10s %s%11s%s  %s", sa, sb,
                              d == 0 ? "" : more ? RED(opts) : GREEN(opts),
                              change, RESET(opts), ch[i].function);
            if (*ch[i].file)
                plumb__buf_printf(&buf, " %s(%s)%s", DIM(opts), ch[i].file,
                                  RESET(opts));
            plumb__buf_puts(&buf, "\n");
        }
        if (shown < n)
            plumb__buf_printf(&buf, "%s... %zu more functions with smaller "
                                    "changes%s\n",
                              DIM(opts), n - shown, RESET(opts));
    }
    free(ch);
    return plumb__buf_finish(&buf, out);
}
