/* The heap's high-water mark over a stretch of a test, for tests that
   check a parse allocates nothing beyond what it counts or keeps
   (tests/unit/request_test.c, jview_test.c).  Measured through the
   sanitizer allocator's hooks, which report every malloc, calloc,
   realloc and free: 'make check' runs the unit tests built with ASan.
   A build without a sanitizer has no hooks: hp_available() is 0 and
   such a test says it did not measure.  One thread; header-only
   (static inline functions) because every tests/unit/NAME.c becomes its
   own test binary. */
#ifndef RV_TEST_HEAPPEAK_H
#define RV_TEST_HEAPPEAK_H

#include <stddef.h>

/* <sanitizer/allocator_interface.h>, weak: absent without a sanitizer */
extern int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                                     void (*free_hook)(const volatile void *)) __attribute__((weak));
extern size_t __sanitizer_get_allocated_size(const volatile void *p) __attribute__((weak));

/* Bytes live, counted from when the hooks went in (blocks older than
   that may take it below 0), and the most since hp_start(). */
static long long hp_live_bytes, hp_peak_bytes;

static inline void hp_on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    hp_live_bytes += (long long)n;
    if (hp_live_bytes > hp_peak_bytes)
        hp_peak_bytes = hp_live_bytes;
}

static inline void hp_on_free(const volatile void *p)
{
    hp_live_bytes -= (long long)__sanitizer_get_allocated_size(p);
}

/* Can the heap be measured here?  (Installs the hooks the first time.) */
static inline int hp_available(void)
{
    static int state;       /* 0 not tried, 1 measuring, -1 cannot */
    if (!state)
        state = __sanitizer_install_malloc_and_free_hooks && __sanitizer_get_allocated_size &&
                        __sanitizer_install_malloc_and_free_hooks(hp_on_malloc, hp_on_free)
                    ? 1
                    : -1;
    return state > 0;
}

/* A stretch begins: its high-water mark is the bytes live now. */
static inline long long hp_start(void)
{
    hp_peak_bytes = hp_live_bytes;
    return hp_live_bytes;
}

static inline long long hp_live(void) { return hp_live_bytes; }
static inline long long hp_peak(void) { return hp_peak_bytes; }

#endif
