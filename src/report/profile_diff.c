/* profile_diff.c: two stored profiles side by side: which functions gained
 * or lost share of the samples from the first (A) to the second (B). The
 * shares come from plumb_stack_diff; this file only lays them out. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")
#define GREEN(o) ((o)->color ? "\033[32m" : "")
#define RED(o) ((o)->color ? "\033[31m" : "")

static void side(const char *tag, const plumb_profile_t *p,
                 const plumb_report_opts_t *o, plumb__buf_t *b)
{
    char took[32];
    plumb__format_value((double)p->duration_ns, PLUMB_UNIT_NS, took,
                        sizeof took);
    plumb__buf_printf(b, "  %s%s%s  %s · %s mode · %llu samples in %s · "
                         "%llu dropped\n",
                      BOLD(o), tag, RESET(o), p->python,
                      p->mode == PLUMB_PROFILE_CPU ? "cpu" : "wall",
                      (unsigned long long)plumb_stack_total(p->stacks), took,
                      (unsigned long long)p->dropped);
}

int plumb_report_profile_diff(const plumb_profile_t *a,
                              const plumb_profile_t *b,
                              const plumb_report_opts_t *opts, size_t top,
                              char **out)
{
    static const plumb_report_opts_t defaults = {0, 0, 0};
    plumb__buf_t buf = {0};
    plumb_stack_change_t *ch = NULL;
    size_t n = 0;
    if (!a || !b || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    int err = plumb_stack_diff(a->stacks, b->stacks, &ch, &n);
    if (err)
        return err;
    plumb__buf_printf(&buf, "%splumb compare%s · profiles: share of samples "
                            "by function (callees included)\n",
                      BOLD(opts), RESET(opts));
    side("A", a, opts, &buf);
    side("B", b, opts, &buf);
    if (a->mode != b->mode)
        plumb__buf_printf(&buf, "%snote: the profiles were taken in "
                                "different modes; their shares measure "
                                "different things%s\n",
                          DIM(opts), RESET(opts));
    if (n == 0) {
        plumb__buf_printf(&buf, "\nneither profile recorded a Python "
                                "stack\n");
    } else {
        plumb__buf_printf(&buf, "\n%s%8s %8s %9s  function%s\n", BOLD(opts),
                          "A", "B", "change", RESET(opts));
        size_t shown = top && top < n ? top : n;
        for (size_t i = 0; i < shown; i++) {
            double pa = 100.0 * ch[i].share_a, pb = 100.0 * ch[i].share_b;
            double d = pb - pa;
            const char *colour = d > 0.05    ? RED(opts)
                                 : d < -0.05 ? GREEN(opts)
                                             : "";
            plumb__buf_printf(&buf, "%7.1f%% %7.1f%% %s%+7.1f pp%s  %s",
                              pa, pb, colour, d, RESET(opts),
                              ch[i].function);
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
