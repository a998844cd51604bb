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

/* 'n' bytes aligned to 'align' (a power of two): the compiler makes
   millions of small objects, so nothing is rounded up beyond what its
   type needs. */
static void *take(arena *a, size_t n, size_t align)
{
    size_t at = (a->used + align - 1) & ~(align - 1);
    if (!a->head || at > a->cap || a->cap - at < n) {
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
        at = 0;
    }
    void *p = a->head->data + at;
    a->used = at + n;
    if (!a->head->mapped)
        memset(p, 0, n);   /* mapped blocks come zeroed */
    return p;
}

void *arena_alloc(arena *a, size_t n)
{
    return take(a, n ? n : 1, ARENA_ALIGN);
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *d = take(a, n + 1, 1);
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
    char *d = take(a, (size_t)n + 1, 1);
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

/* ---------------------------------------------------------------- interning */

static uint32_t str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The slot for s[0..n): its string, or the empty slot where it goes. */
static uint32_t strset_find(const arena_strset *set, const char *s, size_t n, uint32_t h)
{
    uint32_t i = h & (set->cap - 1);
    while (set->slot[i] && !(strncmp(set->slot[i], s, n) == 0 && set->slot[i][n] == 0))
        i = (i + 1) & (set->cap - 1);
    return i;
}

static int strset_grow(arena_strset *set)
{
    uint32_t cap = set->cap ? set->cap * 2 : 1024;
    char **slot = mem_calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    arena_strset bigger = { slot, set->n, cap };
    for (uint32_t i = 0; i < set->cap; i++)
        if (set->slot[i]) {
            size_t n = strlen(set->slot[i]);
            slot[strset_find(&bigger, set->slot[i], n, str_hash(set->slot[i], n))] = set->slot[i];
        }
    free(set->slot);
    *set = bigger;
    return 0;
}

char *arena_intern(arena *a, arena_strset *set, const char *s, size_t n)
{
    if ((set->n + 1) * 2 > set->cap && strset_grow(set))
        return NULL;
    uint32_t h = str_hash(s, n), i = strset_find(set, s, n, h);
    if (!set->slot[i]) {
        if (!(set->slot[i] = arena_strndup(a, s, n)))
            return NULL;
        set->n++;
    }
    return set->slot[i];
}

void arena_strset_free(arena_strset *set)
{
    free(set->slot);
    memset(set, 0, sizeof *set);
}
