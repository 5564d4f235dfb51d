/* metric.c: the table of what one sample measures (keys, labels, units) and
 * the sample's own helpers. How a metric is obtained is proc's business. */
#include "plumb.h"

#include <string.h>

static const struct {
    const char *key;
    const char *label;
    plumb_unit_t unit;
} metric_table[PLUMB_METRIC_COUNT] = {
#define PLUMB_METRIC_ROW(name, key, label, unit) {key, label, unit},
    PLUMB_METRIC_MAP(PLUMB_METRIC_ROW)
#undef PLUMB_METRIC_ROW
};

const char *plumb_metric_key(plumb_metric_t m)
{
    return (unsigned)m < PLUMB_METRIC_COUNT ? metric_table[m].key : "?";
}

const char *plumb_metric_label(plumb_metric_t m)
{
    return (unsigned)m < PLUMB_METRIC_COUNT ? metric_table[m].label : "?";
}

plumb_unit_t plumb_metric_unit(plumb_metric_t m)
{
    return (unsigned)m < PLUMB_METRIC_COUNT ? metric_table[m].unit
                                             : PLUMB_UNIT_COUNT;
}

int plumb_metric_find(const char *key)
{
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        if (strcmp(metric_table[m].key, key) == 0)
            return m;
    return -1;
}

void plumb_sample_init(plumb_sample_t *s)
{
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        s->metric[m] = PLUMB_UNAVAILABLE;
    s->exit_code = 0;
    s->term_signal = 0;
    s->timed_out = 0;
}

int plumb_sample_ok(const plumb_sample_t *s)
{
    return s->exit_code == 0 && s->term_signal == 0 && !s->timed_out;
}
