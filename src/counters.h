/* counters.h: the internal side of plumb_counters_t, shared by the counters
 * implementation (src/linux/counters.c) and proc, which reads them around
 * each run. A reading belongs to the caller; nothing here allocates.
 */
#ifndef PLUMB_COUNTERS_H
#define PLUMB_COUNTERS_H

#include <stdint.h>

#include "plumb.h"

/* Instructions, then cycles. */
#define PLUMB__COUNTERS_N 2

/* One read of every counter: the running total over all children that have
 * exited, and how long it was enabled and actually counting (they differ
 * when the kernel multiplexes more events than the hardware has counters). */
typedef struct {
    uint64_t count[PLUMB__COUNTERS_N];
    uint64_t enabled_ns[PLUMB__COUNTERS_N];
    uint64_t running_ns[PLUMB__COUNTERS_N];
} plumb__counters_reading_t;

/* Opens counters of perf event `type` with the given configs, with the
 * semantics of plumb_counters_new. plumb_counters_new opens the hardware
 * instruction and cycle counters; tests open software events (task clock)
 * through this to check the inheritance on machines without a PMU. */
int plumb__counters_open(uint32_t type,
                         const uint64_t config[PLUMB__COUNTERS_N],
                         plumb_counters_t **out, const char **reason);

/* Reads every counter. 0, or PLUMB_EIO. */
int plumb__counters_read(const plumb_counters_t *counters,
                         plumb__counters_reading_t *reading);

/* Stores what the children counted between two readings in the sample's
 * instructions and cycles, scaled for multiplexing. A counter that never
 * ran in between is left PLUMB_UNAVAILABLE: "not counted" is not 0. */
void plumb__counters_store(const plumb__counters_reading_t *before,
                           const plumb__counters_reading_t *after,
                           plumb_sample_t *sample);

#endif
