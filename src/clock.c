/* clock.c: the timers every measurement reads. Monotonic for durations,
 * realtime only for timestamps that are stored. */
#include "plumb.h"

#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t plumb_clock_now_ns(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

int64_t plumb_clock_realtime_ns(void)
{
    return read_clock(CLOCK_REALTIME);
}
