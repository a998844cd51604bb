/* Internals shared by the VM's own files (image.c, interp.c, decide.c,
   guard.c, vmmem.c): the state of one decision.  Not for drivers, which
   see only vm.h. */
#ifndef RV_VMSTATE_H
#define RV_VMSTATE_H

#include <string.h>

#include "guard.h"
#include "vm.h"

#define RV_STR_(x) #x
#define RV_STR(x) RV_STR_(x)

#define VM_INLINE_ATTEMPTS 4

/* A block of per-request memory (vmmem.c). */
typedef struct vm_block {
    struct vm_block *next;
    size_t len, cap;
    _Alignas(16) char data[];
} vm_block;

struct rv_vm {
    const rv_image *img;
    const rv_env *env;
    const rv_request *req;
    gd_overlay ov;              /* the request's texts as this decision sees them (guard.h) */
    bi_langdet *lang;
    const rv_observer *obs;
    void *obs_ud;

    /* where we are */
    enum { VS_IDLE, VS_ROUTE, VS_CALL, VS_HOOK, VS_END } state;
    uint32_t pc;                /* route code: where to continue (after a hook) */
    uint32_t chain[RV_MAX_CHAIN];   /* agents whose guardrails apply, addressed first */
    uint32_t nchain;
    rv_caller caller;           /* the request's caller budget (name in VM memory) */

    /* the target being tried */
    struct {
        uint32_t model;
        rv_purpose purpose;
        uint32_t attempt;       /* 1-based attempts of this model for this purpose */
        uint32_t cascade, step; /* cascade index (RV_NONE) and step within it */
        uint32_t fallback;      /* next fallback entry of the deciding agent */
        rv_sv kept;             /* a cascade step's answer while the judge rates it (VM memory) */
        uint32_t kept_model;    /* the model that gave it (the step's, or its stand-in) */
        const rv_toolcall *kept_tools;  /* and its tool calls (VM memory) */
        uint32_t nkept_tools;
        uint32_t rule;          /* the rule whose call settings apply, RV_NONE */
        int64_t retry_after;    /* the last failure's Retry-After, -1 if none */
        uint32_t nticket;
        /* (last: vm_start clears what is above, not this kilobyte) */
        uint64_t ticket[RV_MAX_CHAIN + 1];  /* day-budget reservations of the call in flight
                                               (the path's agents, then the caller) */
    } cur;
    uint32_t onfail_used[RV_MAX_ATTEMPTS];  /* 'fallback on' entries taken (targets indexes) */
    uint32_t nonfail_used;
    /* the call in flight: try_step() decides it is made and records what
       only it knows (the wait, the reservation, the system prompt); the
       descriptor is filled from those and the VM's state when a driver
       first asks (vm_call), so a decision nobody calls (explain, test,
       simulate) never writes its kilobyte of parameters and stops */
    rv_call call;
    int call_ready;             /* 'call' describes the call in flight */
    int64_t call_backoff, call_reserved;
    rv_sv call_system;
    rv_hookcall hookcall;
    rv_chatmsg judge_msgs[2];
    rv_result res;
    /* the request's call records: the first VM_INLINE_ATTEMPTS here, more
       in per-request memory (up to RV_MAX_ATTEMPTS), so that the VM stays
       small for the common request of one or two calls */
    rv_attempt *attempts;
    uint32_t attempt_cap;
    rv_attempt attempt_inline[VM_INLINE_ATTEMPTS];
    rv_guardact *guardacts;     /* guardact_cap records: the program's actions, and one refusal */
    uint32_t guardact_cap;
    rv_toolcall *tools;         /* the accepted answer's tool calls (VM memory) */

    /* clock and estimates */
    int64_t start_us, deadline_us;
    int64_t in_tokens;          /* estimated tokens of the conversation, -1 until needed */
    uint64_t rand_state;

    /* streaming (feed.c); allocated with the VM; 'feed_dirty' is set by
       every vm_feed and vm_feed_end, so that vm_start resets only a
       stream that was fed */
    struct vm_feed *feed;
    int feed_dirty;
    /* the last decision was plain (decide.c, "Plain decisions"): it went
       from vm_start to its first call through a plan, and nothing has
       touched the VM since but vm_call and vm_result */
    int plain;

    /* per-request memory: copies of what the VM keeps, derived strings
       (redactions, lower(), templates); reset by vm_start */
    vm_block *mem;              /* current block; one is kept across requests (vmmem.c) */
    size_t mem_used, mem_cap;   /* bytes handed out this request, and the cap */
    void *md;                   /* pcre2_match_data * */
    char lang_cache[4];
    const char *lang_text;
    uint32_t lang_len;

    /* the dispatch in progress (DISPATCH, CHAIN): its index and what is
       left of its class's rule list -- for a listed value, 'dnext' is
       NULL until the first CHAIN reads the list from the value's entry
       'dent' (a first rule that matches needs none of it) */
    uint32_t dk;
    const struct rv_dentry *dent;
    const uint32_t *dnext, *dlim;

    /* metadata keys looked up at most once per request (image meta
       slots): a slot whose 'gen' is not this request's is not looked up yet */
    struct vm_mslot {
        const rv_sv *val;       /* NULL: the request has no such key */
        uint32_t gen;
    } *mslot;
    uint32_t gen;

    /* the plan that decides the route function entered (plan.h), NULL to
       run its code; 'no_plans' keeps every function on the interpreter,
       as an observer does ('plans_off': either) */
    const struct vm_plan *plan;
    int no_plans, plans_off;
    /* can a call need a budget checked whatever the caller's: does an
       agent have a per-request budget, or one a per-day budget and the
       env a ledger? */
    int budgets;

    uint32_t sp, stack_cap;
    rv_value stack[];
};

/* How an agent's decisions may start (rv_image.astart, image.c): 'plain'
   when it has no guardrails and its route is decided by its plan, or by
   code that changes nothing in the VM but the rule it records -- tests
   of metadata and request values with pure builtins, and the targets --
   so that a decision may be plain (decide.c); then straight at 'plan',
   else at 'pc' on the interpreter. */
struct vm_astart {
    const struct vm_plan *plan;
    uint32_t pc;
    int plain;
    /* code that starts with a DISPATCH: its index (else RV_NONE) and its
       key, looked up at once -- a value whose slot decides is decided
       without entering the interpreter */
    uint32_t dk;
    rv_sv dkey;
};

static inline int vm_truthy(const rv_value *v) { return v->t == RV_T_BOOL && v->u.i; }

/* The first 8 bytes of 's' (n bytes), zero-padded (request.h). */
static inline uint64_t vm_head8(const char *s, uint32_t n)
{
    return req_head8(s, n);
}

/* Where a dispatch's value hashes: its first 8 bytes (already read for
   the compare), the rest 8 at a time, its length and the dispatch's index
   mixed in, so that one table serves every dispatch. */
static inline uint32_t vm_dhash(uint32_t k, uint64_t head, const char *s, uint32_t n)
{
    const uint64_t m = 0x9e3779b97f4a7c15ull;
    uint64_t h = (head ^ ((uint64_t)n << 32 | k)) * m;
    if (n > 8) {
        uint64_t w;
        uint32_t i = 8;
        for (; i + 8 <= n; i += 8) {
            memcpy(&w, s + i, 8);
            h = (h ^ w) * m;
            h ^= h >> 29;
        }
        if (i < n) {                /* the last 8 bytes, overlapping */
            memcpy(&w, s + n - 8, 8);
            h = (h ^ w) * m;
        }
    }
    h ^= h >> 32;
    return (uint32_t)(h * m >> 32);
}

#define RV_DSLOT_LONG  0xFFFFu
#define RV_DSLOT_CODE  0xFFFFu
#define RV_DSLOT_EMPTY 0xFFFEu

/* The slot of value 's' (n bytes) in dispatch 'k' (image.c): its
   decision, or where its class's rules start (the rest are in its entry,
   at the same index); NULL when the dispatch does not list the value
   (class 0).  Inline: the interpreter's DISPATCH is its one caller per
   request. */
static inline const struct rv_dslot *vm_dispatch_find(const rv_image *img, uint32_t k, const char *s, uint32_t n)
{
    uint64_t head = vm_head8(s, n);
    uint32_t base = img->dtab[k].base, mask = img->dtab[k].mask;
    uint16_t len = n < RV_DSLOT_LONG ? (uint16_t)n : RV_DSLOT_LONG;
    const struct rv_dslot *e;
    for (uint32_t i = vm_dhash(k, head, s, n) & mask; (e = &img->dslot[base + i])->model != RV_DSLOT_EMPTY;
         i = (i + 1) & mask) {
        if (e->head != head || e->len != len)
            continue;
        if (n <= 8)
            return e;
        const struct rv_dentry *d = &img->dentry[base + i];
        if (d->len == n && !memcmp(d->s + 8, s + 8, n - 8))
            return e;
    }
    return NULL;
}

/* The request's texts as this decision sees them: the overlay's once a
   guardrail loaded it (guard.c), the request's own before. */
static inline const rv_sv *vm_view_texts(const rv_vm *vm)
{
    return vm->ov.loaded ? vm->ov.texts : vm->req ? vm->req->slot_texts : NULL;
}
static inline const rv_sv *vm_view_msgs(const rv_vm *vm)
{
    return vm->ov.loaded ? vm->ov.msg_texts : vm->req ? vm->req->texts : NULL;
}
static inline rv_sv vm_view_input(const rv_vm *vm)
{
    return vm->ov.loaded ? vm->ov.input : vm->req ? vm->req->input : (rv_sv){ "", 0 };
}
static inline rv_sv vm_view_system(const rv_vm *vm)
{
    return vm->ov.loaded ? vm->ov.system : vm->req ? vm->req->system : (rv_sv){ "", 0 };
}

/* A test of a request value (plan.h): request field 'field', through
   builtin 'builtin' (RV_NONE: none), compared as JKT 'mtest' does, or
   (mtest RV_NONE) taken as a condition, negated when 'neg' -- as LDREQ
   [CALLB] JKT or LDREQ [NOT] JMPF decide. */
typedef struct {
    uint32_t field, builtin, mtest;
    uint8_t neg;
    uint8_t fast;               /* RQ_*: a shortcut that decides the same */
    uint8_t cmp;                /* RQ_INT, RQ_INPUT_BYTES, RQ_USER_BUCKET: bit c + 1 holds for the
                                   comparison c (-1, 0, 1) of the value with 'k' */
    int64_t k;
} vm_reqtest;
enum { RQ_NONE, RQ_BOOL, RQ_INT, RQ_INPUT_BYTES, RQ_USER_BUCKET };
/* Record an error of the route code at 'pc' (interp.c). */
void vm_runtime_error(rv_vm *vm, uint32_t pc, const char *msg);

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
    EX_DECIDE,      /* route chose model 'arg' */
    EX_CASCADE,     /* route chose cascade 'arg' */
    EX_CHOOSE,      /* route chose choice set 'arg' */
    EX_DELEGATE,    /* route continues in agent 'arg' */
    EX_HOOK,        /* route asks hook 'arg'; resume at vm->pc */
    EX_FAIL         /* route failed: message in vm->res.error, pc in vm->res.error_pc */
} ex_result;

/* Run code from 'pc' until it decides, suspends or returns (interp.c). */
ex_result vm_exec(rv_vm *vm, uint32_t pc, const fn_ctx *ctx, rv_value *ret, uint32_t *arg);
/* Run function 'fn' to its RET; NIL if it does not return a value. */
rv_value vm_run(rv_vm *vm, uint32_t fn, const fn_ctx *ctx);

/* Per-request memory (vmmem.c): 'n' bytes, 16-byte aligned, valid until
   the next vm_start; NULL when the request's memory cap is reached or the
   system is out of memory. */
void *vm_alloc(rv_vm *vm, size_t n);
/* A NUL-terminated copy of 'n' bytes of 's' in per-request memory. */
char *vm_copy(rv_vm *vm, const char *s, size_t n);
/* Forget this request's memory (keeps the first block). */
void vm_mem_reset(rv_vm *vm);
/* Has nothing been taken from the memory since it was last reset (so
   that resetting it would change nothing)? */
static inline int vm_mem_clean(const rv_vm *vm)
{
    return !vm->mem_used && (!vm->mem || (!vm->mem->next && !vm->mem->len));
}
void vm_mem_free(rv_vm *vm);
/* Does 's' point into this request's memory? */
int vm_owns(const rv_vm *vm, const char *s);

/* Streaming (feed.c). */
struct vm_feed *vm_feed_new(void);
void vm_feed_reset(rv_vm *vm);      /* forget the stream (buffers kept for the next, or freed) */
void vm_feed_free(struct vm_feed *f);   /* after vm_feed_reset: the kept buffers and 'f'; accepts NULL */
rv_sv vm_feed_text(rv_vm *vm);      /* the whole answer, guardrails applied, copied */
int vm_feed_active(const rv_vm *vm);
int vm_feed_denied(const rv_vm *vm);    /* an output deny refused it (vm_deny recorded) */
int vm_feed_failed(const rv_vm *vm);    /* it could not be kept: too long, out of memory */
int vm_feed_released(const rv_vm *vm);  /* some text reached the driver */

/* Record guardrail actions (guard.c calls these): a refusal, and
   redactions made by one action. */
void vm_deny(rv_vm *vm, uint32_t guard, uint32_t action, const char *reason, size_t len);
void vm_note_redactions(rv_vm *vm, uint32_t guard, uint32_t action, uint32_t count);

#endif
