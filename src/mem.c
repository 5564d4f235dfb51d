/* mem.c: a memory profile (plumb_mem_t): its header, its three aggregates
 * of bytes by stack and its timeline, kept within PLUMB_MEM_TIMELINE_MAX
 * points however long the program runs. It does not record allocations
 * (the recorder in the Python extension does, with heap.c), write or read
 * JSON (report/mem_json.c), keep profiles (store_mem.c) or render them
 * (report/mem.c).
 */
#include "plumb.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Points are first taken at most this often; each time the timeline fills
 * up, twice as far apart. 512 points at 10 ms cover 5 s before the first
 * merge. */
#define TIMELINE_FIRST_STEP_NS INT64_C(10000000)

int plumb_mem_new(plumb_mem_t **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    plumb_mem_t *m = calloc(1, sizeof *m);
    if (!m)
        return PLUMB_ENOMEM;
    m->exit_status = -1;
    m->timeline_step_ns = TIMELINE_FIRST_STEP_NS;
    if (plumb_stack_new(&m->peak) || plumb_stack_new(&m->allocated) ||
        plumb_stack_new(&m->end)) {
        plumb_mem_free(m);
        return PLUMB_ENOMEM;
    }
    *out = m;
    return 0;
}

void plumb_mem_free(plumb_mem_t *m)
{
    if (!m)
        return;
    plumb_stack_free(m->peak);
    plumb_stack_free(m->allocated);
    plumb_stack_free(m->end);
    free(m->timeline);
    free(m);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Folds point `from` into `into`: the higher of each figure, so that no
 * peak is lost; `into` keeps its time. */
static void fold(plumb_mem_point_t *into, const plumb_mem_point_t *from)
{
    into->heap_bytes = max_u64(into->heap_bytes, from->heap_bytes);
    into->rss_bytes = max_u64(into->rss_bytes, from->rss_bytes);
}

/* Merges neighbours two by two and doubles the step: the timeline then
 * reads as if it had been taken half as often, with every peak kept. */
static void halve(plumb_mem_t *m)
{
    size_t n = m->n_timeline, kept = 0;
    for (size_t i = 0; i < n; i += 2) {
        plumb_mem_point_t p = m->timeline[i];
        if (i + 1 < n)
            fold(&p, &m->timeline[i + 1]);
        m->timeline[kept++] = p;
    }
    m->n_timeline = kept;
    if (m->timeline_step_ns > 0 && m->timeline_step_ns <= INT64_MAX / 2)
        m->timeline_step_ns *= 2;
    else if (m->timeline_step_ns <= 0)
        /* a step the client zeroed: take the spacing the points now have */
        m->timeline_step_ns =
            kept > 1 ? (m->timeline[kept - 1].t_ns - m->timeline[0].t_ns) /
                               (int64_t)(kept - 1) +
                           1
                     : 1;
}

int plumb_mem_add_point(plumb_mem_t *m, int64_t t_ns, uint64_t heap_bytes,
                        uint64_t rss_bytes)
{
    if (!m)
        return PLUMB_EINVAL;
    plumb_mem_point_t p = {t_ns, heap_bytes, rss_bytes};
    if (!m->timeline) {
        m->timeline = malloc(PLUMB_MEM_TIMELINE_MAX * sizeof *m->timeline);
        if (!m->timeline)
            return PLUMB_ENOMEM;
    }
    assert(m->n_timeline <= PLUMB_MEM_TIMELINE_MAX);
    if (m->n_timeline == PLUMB_MEM_TIMELINE_MAX)
        halve(m);
    if (m->n_timeline > 0) {
        plumb_mem_point_t *last = &m->timeline[m->n_timeline - 1];
        /* a difference, not a sum: no overflow for any pair of times that
         * are both non-negative, and a clock going back folds in too */
        if (t_ns < last->t_ns || t_ns - last->t_ns < m->timeline_step_ns) {
            fold(last, &p);
            return 0;
        }
    }
    m->timeline[m->n_timeline++] = p;
    return 0;
}
