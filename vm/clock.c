/* The clocks, held per event-loop callback; see clock.h. */
#include <time.h>

#include "clock.h"

_Thread_local clk_state clk_tl;

int64_t clk_read_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (clk_tl.depth) {
        clk_tl.mono_us = us;
        clk_tl.have_mono = 1;
    }
    return us;
}

int64_t clk_read_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (clk_tl.depth) {
        clk_tl.wall_us = us;
        clk_tl.have_wall = 1;
    }
    return us;
}

int64_t clk_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (clk_tl.depth) {
        clk_tl.mono_us = ns / 1000;
        clk_tl.have_mono = 1;
    }
    return ns;
}
