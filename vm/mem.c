/* Allocation wrappers with failure injection; see mem.h. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Test hooks, per thread: a test counting or failing the allocations of
   its own thread is not disturbed by others, and threads share nothing
   here. */
static _Thread_local long fail_after = -1;
static _Thread_local int fail_once;     /* only the one allocation fails */
static _Thread_local unsigned long nalloc, nfailed;

void mem_fail_after(long n) { fail_after = n; fail_once = 0; }
void mem_fail_nth(long n) { fail_after = n; fail_once = 1; }
unsigned long mem_count(void) { return nalloc; }
unsigned long mem_failures(void) { return nfailed; }

/* 'p' as an allocation returns it, counted when it failed. */
static void *counted(void *p)
{
    if (!p)
        nfailed++;
    return p;
}

static int should_fail(void)
{
    nalloc++;
    if (fail_after < 0)
        return 0;
    if (fail_after == 0) {
        if (fail_once)
            fail_after = -1;
        return 1;
    }
    fail_after--;
    return 0;
}

void *mem_malloc(size_t n)
{
    return counted(should_fail() ? NULL : malloc(n ? n : 1));
}

void *mem_calloc(size_t count, size_t size)
{
    return counted(should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1));
}

void *mem_realloc(void *p, size_t n)
{
    return counted(should_fail() ? NULL : realloc(p, n ? n : 1));
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
        return counted(NULL);
    /* Reserve, align to 2 MiB and ask for huge pages before touching the
       memory, so the kernel can back it with a few large pages instead of
       faulting in thousands of small ones. */
    const size_t huge = 2u << 20;
    size_t span = n + huge;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return counted(NULL);
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (raw + span > p + n)
        munmap(p + n, (size_t)(raw + span - (p + n)));
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    madvise(p, n, MADV_POPULATE_WRITE);
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

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
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
