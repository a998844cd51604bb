/* Per-request memory of a VM: where the VM keeps what it copies from its
   driver (an answer it may still accept, tool calls) and what it derives
   (redacted texts, lower(), system templates, a judge's prompt).

   A chain of bump-allocated blocks, each twice the last.  vm_start keeps
   the largest block of up to VM_MEM_KEEP bytes and frees the rest, so a
   VM starts small (VM_MEM_FIRST) and settles at the size its requests
   need: after the first such request a decision allocates nothing.  A
   decision may use at most VM_MEM_CAP bytes: past it vm_alloc returns
   NULL and the caller fails closed (a guardrail that cannot redact
   denies). */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "vmstate.h"

#define VM_MEM_FIRST (1u << 10)
#define VM_MEM_KEEP  (64u << 10)
#define VM_MEM_CAP   ((size_t)128 << 20)

static vm_block *block_new(size_t cap)
{
    vm_block *b = mem_malloc(sizeof *b + cap);
    if (b) {
        b->next = NULL;
        b->len = 0;
        b->cap = cap;
    }
    return b;
}

void *vm_alloc(rv_vm *vm, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > VM_MEM_CAP || vm->mem_used > VM_MEM_CAP - n)
        return NULL;
    vm_block *b = vm->mem;
    if (!b || b->cap - b->len < n) {
        size_t cap = b ? b->cap * 2 : VM_MEM_FIRST;
        while (cap < n)
            cap *= 2;
        if (cap > VM_MEM_CAP)
            cap = n;
        vm_block *nb = block_new(cap);
        if (!nb)
            return NULL;
        nb->next = b;
        vm->mem = b = nb;
    }
    void *p = b->data + b->len;
    b->len += n;
    vm->mem_used += n;
    return p;
}

char *vm_copy(rv_vm *vm, const char *s, size_t n)
{
    char *d = vm_alloc(vm, n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void vm_mem_reset(rv_vm *vm)
{
    /* keep the newest block of at most VM_MEM_KEEP bytes (the largest:
       each block is at least twice the one before), or the oldest when
       every block is larger; free the rest */
    vm_block *keep = vm->mem, *b;
    while (keep && keep->cap > VM_MEM_KEEP && keep->next)
        keep = keep->next;
    while ((b = vm->mem)) {
        vm->mem = b->next;
        if (b != keep)
            free(b);
    }
    if ((vm->mem = keep)) {
        keep->next = NULL;
        keep->len = 0;
    }
    vm->mem_used = 0;
}

void vm_mem_free(rv_vm *vm)
{
    while (vm->mem) {
        vm_block *b = vm->mem;
        vm->mem = b->next;
        free(b);
    }
    vm->mem_used = 0;
}

int vm_owns(const rv_vm *vm, const char *s)
{
    for (const vm_block *b = vm->mem; s && b; b = b->next)
        if (s >= b->data && s < b->data + b->cap)
            return 1;
    return 0;
}
