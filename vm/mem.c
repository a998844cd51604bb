/* Allocation wrappers with failure injection; see mem.h. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static long fail_after = -1;   /* test hooks only; single-threaded tests */
static unsigned long nalloc;

void mem_fail_after(long n) { fail_after = n; }
unsigned long mem_count(void) { return nalloc; }

static int should_fail(void)
{
    nalloc++;
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void *mem_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *mem_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *mem_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void *mem_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return mem_realloc(p, count * size);
}

void *mem_map(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

void mem_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

int mem_grow(void **arr, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 8;
    void *n = mem_reallocarray(*arr, ncap, elem);
    if (!n)
        return -1;
    *arr = n;
    *cap = ncap;
    return 0;
}
