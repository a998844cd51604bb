/* Guardrails at run time: deny, redact and limit actions applied to the
   texts of a request (input) or to an answer (output), and the texts the
   VM derives from them.

   The request is never changed (it may be shared by decisions and
   threads).  What input guardrails do lands in an overlay, in the VM's
   per-request memory: one view per text slot of the request
   (vm/request.h: every string the provider will receive as text), either
   the request's own text or its redacted replacement, and the views
   routing reads -- each message's text, 'input', 'system' -- rebuilt from
   them when anything was redacted.  The route, the token estimates and
   the drivers (vm_texts(): the texts to send) all read the overlay.

   Regexes fail closed.  Every match runs under explicit PCRE2 limits
   (GD_MATCH_LIMIT steps, GD_DEPTH_LIMIT, GD_HEAP_LIMIT_KIB, a JIT stack of
   at most GD_JIT_STACK bytes), and all the matching of one request under a
   time budget (GD_REGEX_BUDGET_MS).  When a match stops on a limit or an
   error, a deny or redact action refuses the request with a reason that
   says so (a redaction never stops part way into the text the provider
   receives), and a routing condition fails the decision. */
#ifndef RV_GUARD_H
#define RV_GUARD_H

#include "vm.h"

#define GD_MATCH_LIMIT 1000000u         /* pcre2_set_match_limit, per match */
#define GD_DEPTH_LIMIT 100000u          /* pcre2_set_depth_limit (the interpreter's backtracking) */
#define GD_HEAP_LIMIT_KIB 16384u        /* pcre2_set_heap_limit */
#define GD_JIT_STACK (1u << 20)         /* the JIT's stack: 32 KiB growing to this */
#define GD_REGEX_BUDGET_MS 100          /* regex time per request (see gd_match) */
/* Redacted texts and the views rebuilt from them take at most this many
   times the request body's size, plus GD_MEM_BASE bytes, of the VM's
   per-request memory. */
#define GD_MEM_FACTOR 4
#define GD_MEM_BASE (1u << 20)

/* The VM's view of a request's texts (see above), and the guardrails'
   per-request state.  Lives in rv_vm; read through vm_texts() and the
   fields below. */
typedef struct {
    /* the views, filled from the request only when a guardrail first
       needs them ('loaded'): a decision no input guardrail screens reads
       the request's own (vm_view_* in vmstate.h), so starting one does
       not read the request at all */
    const rv_sv *texts;         /* per text slot: what the provider receives */
    const rv_sv *msg_texts;     /* per message: routing's text ('messages') */
    rv_sv input, system;
    uint32_t nslot;
    uint8_t loaded;             /* the views above are set */
    uint8_t changed;            /* some text was redacted: the views above are the VM's */
    size_t mem_used;            /* of the VM's per-request memory, for the above */
    char *scratch;              /* decoded strings of JSON sent as written (VM memory) */
    size_t scratch_cap;
    /* regex budget */
    void *mctx, *jit_stack;     /* pcre2_match_context *, pcre2_jit_stack * */
    uint32_t matches;           /* pcre2_match calls for this request */
    int64_t re_start_ns;        /* when the clock was first read, 0 before */
    const char *re_error;       /* why the last match stopped, NULL if none */
    struct gd_scans *scans;     /* what the filters' scans found (guard.c; VM memory) */
} gd_overlay;

/* Set up a VM's overlay (vm_new): the PCRE2 match context with the limits
   above (its JIT stack comes with the first match that needs it).  0, or
   -1 when out of memory. */
int gd_init(gd_overlay *ov);
/* pcre2_match of 'code' (a pcre2_code *) on s[0, n) from 'off' with
   'opts', into the VM's match data, under the overlay's limits.  Returns
   pcre2_match's code. */
int gd_pcre_match(rv_vm *vm, const void *code, const char *s, size_t n, size_t off, uint32_t opts);
/* Start a request (vm_start): the overlay shows the request's own texts. */
void gd_begin(rv_vm *vm);
/* Run 'agent''s input guardrails on the overlay, in 'guard' order and each
   guardrail's actions in order (an agent delegated to runs its own after
   its caller's).  Returns 0 to go on, or 1 when a guardrail refused
   (vm_deny recorded). */
int gd_input(rv_vm *vm, uint32_t agent);
/* Apply the output actions to 'text' (in the VM's memory, which stays
   as it is until the request ends); may rewrite it (into the VM's
   memory) or refuse (returns 1). */
int gd_output(rv_vm *vm, uint32_t agent, rv_sv *text);
/* The tightest output limit of the agent's guardrails, 0 if none. */
int64_t gd_output_limit(const rv_program *p, uint32_t agent);
/* Does regex 're' match anywhere in 's'?  1 or 0; -1 when the match
   stopped (a PCRE2 limit or error, or the request's regex budget is
   spent): vm->ov.re_error says why.  What the filters' scans found in a
   text of the request or the VM's memory is remembered until the next
   gd_begin (guard.c). */
int gd_match(rv_vm *vm, uint32_t re, const char *s, size_t n);
/* Estimated input tokens of the conversation as the provider receives it:
   every text slot, plus 4 per message for its framing; and its bytes
   (the same framing), the worst case of its tokens. */
int64_t gd_input_tokens(const rv_vm *vm);
int64_t gd_input_bytes(const rv_vm *vm);
/* Free the overlay's memory and PCRE2 objects (vm_free). */
void gd_free(gd_overlay *ov);


#endif
