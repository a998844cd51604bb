/* The VM: runs a verified program for one request.

   A request's decision is a small state machine around the route code:

       vm_start ──▶ input guardrails ──▶ route code ──▶ CALL(model)
                        │                    │  ▲             │ vm_resume(answer | failure)
                        ▼                    ▼  │             ▼
                     DENIED            HOOK(url)──┘     retry / fallback / cascade step /
                                                        judge ──▶ CALL … ──▶ output guardrails
                                                                              ──▶ DONE | DENIED | FAILED

   The VM never does I/O.  Whenever it needs the outside world it returns
   to its caller -- RV_CALL (ask a model), RV_HOOK (ask a routing hook) --
   and the caller resumes it with the outcome.  'routevm explain' answers
   nothing (it reports the first CALL and the plan), 'routec test' answers
   from the test's 'given' lines, the gateway from live providers; the
   decision is the same code in all of them.

   The image (program plus its compiled regexes) is immutable and shared;
   an rv_vm is per request, allocated once and reused: starting a request
   allocates nothing beyond the request itself. */
#ifndef RV_VM_H
#define RV_VM_H

#include <stdint.h>

#include "builtins.h"
#include "program.h"
#include "request.h"

/* A loaded program ready to run: the program and its regexes compiled
   (with the JIT where available) once. */
typedef struct rv_image {
    const rv_program *p;
    void **re;                  /* pcre2_code * per program regex */
    /* (kval, below, is filled from the constant table once) */
    struct ls_set **lits;       /* per regex: a literal-set matcher, or NULL (vm/litset.h) */
    uint32_t max_match;         /* largest ovector any regex needs */
    uint32_t *meta_slot;        /* per string: its slot when it names a metadata key (LDMETA), else RV_NONE */
    struct rv_value_s *kval;    /* every constant as a ready stack value */
    uint32_t nmeta_slot;
} rv_image;

/* Returns 0, or -1 with a message (a regex that will not compile). */
int vm_image_init(rv_image *img, const rv_program *p, char *err, size_t errlen);
void vm_image_free(rv_image *img);

/* Values on the VM stack.  Strings and lists are views: into the program
   (constants), the request, or the VM's scratch space. */
typedef struct rv_value_s {
    uint8_t t;                  /* rv_type */
    uint8_t lk;                 /* LIST: 0 constant items, 1 request views */
    uint32_t n;                 /* STR: bytes; LIST: items */
    union {
        int64_t i;
        const char *s;
        const uint32_t *k;      /* constant list: constant indexes */
        const rv_sv *v;         /* request list */
    } u;
} rv_value;

typedef enum {
    RV_CALL,        /* call vm->call.model (see vm->call) and resume with the outcome */
    RV_HOOK,        /* ask hook vm->hook and resume with the outcome */
    RV_DONE,        /* answered: vm->model answered, vm->answer holds the text */
    RV_DENIED,      /* a guardrail refused: vm->denied_by, vm->deny_reason */
    RV_FAILED       /* no answer: vm->error */
} rv_status;

typedef enum { RV_PURPOSE_ANSWER, RV_PURPOSE_JUDGE } rv_purpose;

/* What the caller reports after a CALL or HOOK. */
typedef struct {
    int ok;
    /* a model's answer */
    rv_sv text, finish;
    int64_t confidence;         /* num (1e-6), or -1 when unknown (logprobs missing) */
    int64_t logprob;            /* mean token logprob, num; 0 when unknown */
    uint32_t tool_calls;
    int64_t in_tokens, out_tokens;  /* usage; -1 = unknown (the VM estimates) */
    /* a hook's answer: the model's name */
    rv_sv hook_model;
    /* a failure */
    const char *failure;        /* "timeout", "429", ... */
} rv_outcome;

/* One evaluated routing condition, for explain and coverage. */
typedef struct { uint32_t pc, loc; uint8_t result; } rv_cond;

#define RV_MAX_CONDS 256

typedef struct rv_vm {
    const rv_image *img;
    rv_request *req;
    bi_langdet *lang;           /* optional; lang() returns "" without it */

    /* where we are */
    enum { VS_ROUTE, VS_CALL, VS_HOOK, VS_END } state;
    uint32_t agent;             /* agent whose route decided (after delegation) */
    uint32_t first_agent;       /* the agent addressed */
    uint32_t fn, pc;
    uint32_t rule;              /* rule index of the decision, RV_NONE if none */
    uint32_t hook;              /* RV_HOOK: hook index */
    enum { VIA_NONE, VIA_MODEL, VIA_CHOICE, VIA_CASCADE, VIA_HOOK, VIA_FALLBACK } via;
    uint32_t via_index;         /* choice, cascade, hook or fallback entry */
    uint32_t hook_met;          /* a hook on the path (RV_NONE): explain reports its default */

    /* the call in progress */
    struct {
        uint32_t model;
        rv_purpose purpose;
        uint32_t attempt;       /* 1-based attempts of this model */
        uint32_t cascade, step; /* cascade index (RV_NONE) and step within it */
        uint32_t fallback;      /* next fallback entry to try */
    } call;
    uint32_t model;             /* the model that answered (RV_DONE) or was chosen */

    /* results */
    rv_sv answer;
    uint32_t denied_by;         /* guardrail, RV_NONE */
    rv_sv deny_reason;
    uint32_t redacted;          /* redactions made (input and output) */
    int64_t cost;               /* money, exact */
    int64_t in_tokens;          /* estimated tokens of the conversation */
    uint32_t attempts;          /* model calls made, failures included */
    const char *error;

    /* trace of evaluated conditions (optional) */
    rv_cond *conds;
    uint32_t nconds, max_conds;
    uint32_t *cover;            /* optional: per pc, bit 0 fell through, bit 1 jumped */

    /* scratch for builtins and redaction (reset per request) */
    char *scratch;
    size_t scratch_len, scratch_cap;
    void *md;                   /* pcre2_match_data * */
    char lang_cache[4];
    const char *lang_text;
    uint32_t lang_len;

    /* metadata keys looked up at most once per request (image meta slots) */
    const rv_sv **meta_val;
    uint32_t *meta_gen, gen;

    uint32_t sp, stack_cap;
    rv_value stack[];
} rv_vm;

/* A VM for 'img'; the caller frees it with vm_free().  'lang' may be NULL. */
rv_vm *vm_new(const rv_image *img, bi_langdet *lang);
void vm_free(rv_vm *vm);

/* Start deciding 'req' for 'agent' (an agent index).  The request may be
   modified (redaction).  Returns the first status. */
rv_status vm_start(rv_vm *vm, uint32_t agent, rv_request *req);
rv_status vm_resume(rv_vm *vm, const rv_outcome *o);

/* Run a WHERE, CHECK or EXPECT function (tests call EXPECT functions
   after a decision); 'cand' is the candidate model for WHERE, 'resp' the
   answer for CHECK. */
rv_value vm_run_fn(rv_vm *vm, uint32_t fn, uint32_t cand, const rv_outcome *resp);

/* Does the program call builtin 'b' anywhere?  (A language detector
   costs ~10 ms to load: drivers create one only for programs that call
   lang().) */
int vm_uses_builtin(const rv_program *p, rv_builtin b);

/* Find an agent by name; RV_NONE if none.  With no name: the only agent,
   if the program has exactly one. */
uint32_t vm_agent(const rv_program *p, const char *name, size_t len);

/* Estimated cost of a call to 'model' with the request's tokens and the
   given output tokens. */
int64_t vm_call_cost(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens);

/* Estimated input tokens of a call to 'model': the conversation plus the
   model's system template (computed once per request, on demand). */
int64_t vm_model_tokens(rv_vm *vm, uint32_t model);

/* Output tokens assumed when estimating a call before it is made: the
   request's max_tokens, else the model's output limit, else 1,000
   (capped by the output limits). */
int64_t vm_expected_output(const rv_vm *vm, uint32_t model);

#endif
