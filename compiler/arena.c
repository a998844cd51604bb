/* Bump allocator in blocks of at least 64 KiB; see arena.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "mem.h"

/* Blocks double from 64 KiB; from 1 MiB on they are mapped (pre-faulted)
   rather than malloc'd. */
#define ARENA_FIRST (64u << 10)
#define ARENA_MAPPED (1u << 20)   /* (mem_map aligns mapped blocks to 2 MiB) */
#define ARENA_LARGEST (2u << 20)

struct arena_block {
    arena_block *prev;
    size_t cap;
    int mapped;
    _Alignas(16) unsigned char data[];
};

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = a->head ? a->head->cap * 2 : ARENA_FIRST;
        if (cap > ARENA_LARGEST)
            cap = ARENA_LARGEST;
        if (cap < n)
            cap = n;
        int mapped = cap >= ARENA_MAPPED;
        if (mapped)   /* whole 2 MiB pages */
            cap = (((sizeof(arena_block) + cap) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1)) - sizeof(arena_block);
        arena_block *b = mapped ? mem_map(sizeof *b + cap) : mem_malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->mapped = mapped;
        b->prev = a->head;
        b->cap = cap;
        a->head = b;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    if (!a->head->mapped)
        memset(p, 0, n);   /* mapped blocks come zeroed */
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = arena_alloc(a, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *prev = b->prev;
        if (b->mapped)
            mem_unmap(b, sizeof *b + b->cap);
        else
            free(b);
        b = prev;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}
