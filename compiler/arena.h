/* Arena allocation for the compiler: the AST, symbols and every string the
   front end makes live in one arena owned by the compilation and are freed
   in one call.  Output that outlives a compile (rv_program) is copied out
   by the code generator. */
#ifndef RV_ARENA_H
#define RV_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct { arena_block *head; size_t used, cap; } arena;

/* Zeroed memory, 16-byte aligned; NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void arena_free(arena *a);

#endif
