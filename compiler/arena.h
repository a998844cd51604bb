/* Arena allocation for the compiler: the AST, symbols and every string the
   front end makes live in one arena owned by the compilation and are freed
   in one call.  Output that outlives a compile (rv_program) is copied out
   by the code generator. */
#ifndef RV_ARENA_H
#define RV_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct arena_block arena_block;
typedef struct { arena_block *head; size_t used, cap; } arena;

/* What arena_alloc() aligns to: enough for every object the compiler
   keeps in its arena (pointers and 64-bit integers; nothing there holds
   a 128-bit integer). */
#define ARENA_ALIGN 8

/* Zeroed memory, ARENA_ALIGN-aligned; NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), not aligned (strings need none). */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_free(arena *a);

/* A set of distinct strings whose bytes live in an arena: arena_intern()
   returns the set's one copy of s[0..n) (which has no NUL), adding it the
   first time.  The set owns its slot array (arena_strset_free()); the
   strings belong to the arena and must not be written.  NULL when out of
   memory. */
typedef struct { char **slot; uint32_t n, cap; } arena_strset;
char *arena_intern(arena *a, arena_strset *set, const char *s, size_t n);
void arena_strset_free(arena_strset *set);

#endif
