/* The one allocation wrapper.  Every heap allocation in routec and routevm
   goes through these, so tests can make the N-th allocation fail
   (mem_fail_after) and check that each failure is survived.  On failure the
   wrappers return NULL like malloc; callers report "out of memory". */
#ifndef RV_MEM_H
#define RV_MEM_H

#include <stddef.h>

void *mem_malloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
/* realloc to count*size bytes, NULL on overflow or failure ('p' stays valid) */
void *mem_reallocarray(void *p, size_t count, size_t size);
char *mem_strndup(const char *s, size_t n);
/* a copy of NUL-terminated 's' (strdup through the wrapper), NULL on failure */
char *mem_strdup(const char *s);

/* Large zeroed regions straight from the kernel, pre-faulted in one call
   (a page fault per 4 KiB page is what a big compile would otherwise
   spend most of its time on).  NULL on failure. */
void *mem_map(size_t n);
void mem_unmap(void *p, size_t n);

/* Test hook: make every allocation of the calling thread after its next
   'n' fail (-1 disables). */
void mem_fail_after(long n);
/* Test hook: make only the allocation after the calling thread's next
   'n' fail, and the ones after it succeed again (a transient failure;
   mem_fail_after(-1) disables). */
void mem_fail_nth(long n);
/* Test hook: allocations the calling thread made through these wrappers
   so far. */
unsigned long mem_count(void);
/* Allocations of the calling thread that failed so far (injected or
   real): code that sees an operation fail can tell whether memory ran
   out on its thread meanwhile. */
unsigned long mem_failures(void);

/* Growable arrays: ensure room for one more element in 'arr' with 'len'
   used and 'cap' allocated.  Evaluates to 0 on success, -1 on failure. */
#define MEM_GROW(arr, len, cap) \
    ((len) < (cap) ? 0 : mem_grow((void **)&(arr), &(cap), sizeof *(arr)))
int mem_grow(void **arr, size_t *cap, size_t elem);

#endif
