/* The clocks, held per event-loop callback; see clock.h. */
#include <time.h>

#include "clock.h"

_Thread_local clk_state clk_tl;

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Inside a hold, a monotonic reading becomes the held time. */
static void keep_mono(int64_t us)
{
    if (clk_tl.depth) {
        clk_tl.mono_us = us;
        clk_tl.have_mono = 1;
    }
}

int64_t clk_read_mono_us(void)
{
    int64_t us = read_ns(CLOCK_MONOTONIC) / 1000;
    keep_mono(us);
    return us;
}

int64_t clk_read_wall_us(void)
{
    int64_t us = read_ns(CLOCK_REALTIME) / 1000;
    if (clk_tl.depth) {
        clk_tl.wall_us = us;
        clk_tl.have_wall = 1;
    }
    return us;
}

int64_t clk_mono_ns(void)
{
    int64_t ns = read_ns(CLOCK_MONOTONIC);
    keep_mono(ns / 1000);
    return ns;
}
