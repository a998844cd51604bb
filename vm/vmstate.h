/* Internals shared by the VM's own files (image.c, interp.c, decide.c,
   guard.c): not for drivers, which see only vm.h. */
#ifndef RV_VMSTATE_H
#define RV_VMSTATE_H

#include "vm.h"

static inline int vm_truthy(const rv_value *v) { return v->t == RV_T_BOOL && v->u.i; }

/* Constant 'k' of 'p' as a stack value. */
rv_value vm_const_value(const rv_program *p, uint32_t k);

/* Context of a WHERE, CHECK or EXPECT function. */
typedef struct {
    uint32_t cand;              /* WHERE: candidate model */
    const rv_outcome *resp;     /* CHECK: the answer */
} fn_ctx;

/* How exec() left a function. */
typedef enum {
    EX_RET,         /* a WHERE/CHECK/EXPECT function returned (value in *ret) */
    EX_DECIDE,      /* route chose model vm->call.model */
    EX_CASCADE,     /* route chose cascade 'arg' */
    EX_CHOOSE,      /* route chose choice set 'arg' */
    EX_DELEGATE,    /* route continues in agent 'arg' */
    EX_HOOK,        /* route asks hook 'arg'; resume at vm->pc */
    EX_FAIL         /* route failed: message in vm->error */
} ex_result;

/* Run code from 'pc' until it decides, suspends or returns (interp.c). */
ex_result vm_exec(rv_vm *vm, uint32_t pc, const fn_ctx *ctx, rv_value *ret, uint32_t *arg);
/* Run function 'fn' to its RET; NIL if it does not return a value. */
rv_value vm_run(rv_vm *vm, uint32_t fn, const fn_ctx *ctx);

#endif
