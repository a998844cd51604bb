/* The clocks, read once per event-loop callback.  A gateway worker's
   request path asks for the time some two dozen times per request (the
   connection's deadlines, the driver's start, each transfer's start and
   bytes, the engine's timers, the metrics); nearly all of those asks
   fall in three callbacks of the worker's loop, and within one callback
   the answers would differ only by the instructions run between them.

   A callback that wants that brackets its work in clk_hold() and
   clk_release() (they nest): inside, the first clk_mono_us() reads
   CLOCK_MONOTONIC and the later ones return that reading, and the same
   for clk_wall_us() and CLOCK_REALTIME.  A held time thus lags the true
   one by the work the callback did since its first read -- so clk_mono_ns(),
   the decision's own clock, always reads, and its reading becomes the
   held monotonic time: after the VM ran, the times read are those of its
   end, not those of before.  Outside a hold every call reads the clock
   (the CLI, tests, other threads).

   The state is per thread; nothing here allocates or blocks. */
#ifndef RV_CLOCK_H
#define RV_CLOCK_H

#include <stdint.h>

typedef struct {
    unsigned depth;             /* clk_hold()s not yet released */
    int have_mono, have_wall;   /* the held readings below are set */
    int64_t mono_us, wall_us;
} clk_state;

extern _Thread_local clk_state clk_tl;

/* Readings: CLOCK_MONOTONIC and CLOCK_REALTIME in microseconds, kept when
   inside a hold (clk_mono_us and clk_wall_us call them when nothing is
   held). */
int64_t clk_read_mono_us(void);
int64_t clk_read_wall_us(void);

/* CLOCK_MONOTONIC in microseconds: inside a hold, the held time. */
static inline int64_t clk_mono_us(void)
{
    return clk_tl.have_mono ? clk_tl.mono_us : clk_read_mono_us();
}

/* CLOCK_REALTIME in microseconds since the epoch: inside a hold, the held
   time (read at the hold's first ask, not derived from the monotonic). */
static inline int64_t clk_wall_us(void)
{
    return clk_tl.have_wall ? clk_tl.wall_us : clk_read_wall_us();
}

/* CLOCK_MONOTONIC in nanoseconds, always read; inside a hold, it becomes
   the held monotonic time (in microseconds). */
int64_t clk_mono_ns(void);

static inline void clk_hold(void)
{
    if (!clk_tl.depth++)
        clk_tl.have_mono = clk_tl.have_wall = 0;
}

static inline void clk_release(void)
{
    if (!--clk_tl.depth)
        clk_tl.have_mono = clk_tl.have_wall = 0;
}

#endif
