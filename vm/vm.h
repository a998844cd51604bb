/* The VM and its contract with drivers.

   A request's decision is a small state machine around the route code:

       vm_start ──▶ input guardrails ──▶ route code ──▶ CALL(model)
                        │                    │  ▲             │ vm_resume(answer | failure)
                        ▼                    ▼  │             ▼
                     DENIED            HOOK(url)──┘     retry / fallback / cascade step /
                                                        judge ──▶ CALL … ──▶ output guardrails
                                                                              ──▶ DONE | DENIED | FAILED

   The VM never does I/O.  Whenever it needs the outside world it returns
   to its driver -- RV_CALL (ask a model), RV_HOOK (ask a routing hook) --
   and the driver resumes it with the outcome.  'routevm explain' answers
   nothing (it reports the first call and the plan), 'routec test' answers
   from the test's 'given' lines, 'simulate' from recorded outcomes, 'run'
   and 'serve' from live providers: the decision is the same code in all
   of them, and so are its inputs, which reach the VM through one
   environment (rv_env) the driver supplies.

   The contract, in short:
   - rv_vm is opaque.  After RV_CALL, vm_call() describes the call
     completely (model, purpose, attempt, timeouts, backoff, streaming,
     output limit, the conversation to send); after RV_HOOK, vm_hook();
     at any time vm_result() the decision so far and, once the state
     machine has ended, its outcome.
   - Ownership.  The request passed to vm_start is borrowed and read-only;
     it must stay valid while the driver calls into the VM for that
     decision (vm_resume, vm_feed, vm_run_expect).
     Everything the driver passes to vm_resume or vm_feed is borrowed only
     for the duration of that call: the VM copies what it keeps (an answer
     it may still accept, a tool call's arguments) into per-request memory
     it owns, so a driver may free its buffers as soon as the call
     returns.  Every pointer the VM hands out (vm_call, vm_hook,
     vm_result, released stream text) points into the VM or the program
     and stays valid until the next vm_resume, vm_feed, vm_start or
     vm_free, whichever comes first, unless said otherwise.
   - A driver that made a call resumes with its outcome, failures
     included (with the usage the provider reported), so that the call's
     reservation against the daily budgets is settled.  A decision left
     at RV_CALL -- the driver starts another or frees the VM -- counts its
     call as not made: its reservation is released.
   - Inputs that change decisions at run time (the clock, spend against
     budgets, observed latency, circuit and rate-limit state, randomness
     for backoff jitter) come only through rv_env.  vm/envmem.h is an
     in-memory implementation for tests, explain and simulate.
   - Tracing and coverage attach through an observer (vm_set_observer),
     in the manner of lua_sethook.

   The image (program plus compiled regexes) is immutable and shared by
   every VM and thread; an rv_vm is per request, allocated once and
   reused: starting a request allocates nothing. */
#ifndef RV_VM_H
#define RV_VM_H

#include <stdint.h>

#include "builtins.h"
#include "program.h"
#include "request.h"

/* ---------------------------------------------------------------- image */

/* A loaded program ready to run: the program and its regexes compiled
   (with the JIT where available) once.  Read-only after vm_image_init;
   shared by any number of VMs and threads. */
typedef struct rv_image {
    const rv_program *p;
    void **re;                  /* pcre2_code * per program regex */
    struct ls_set **lits;       /* per regex: a literal-set matcher or a start filter, or NULL (vm/litset.h) */
    uint32_t max_match;         /* largest ovector any regex needs */
    uint32_t *meta_slot;        /* per string: its slot when it names a metadata key (LDMETA), else RV_NONE */
    struct rv_value_s *kval;    /* every constant as a ready stack value */
    uint32_t nmeta_slot;
    /* the values of every dispatch, hashed (vm_dispatch_find): one open-
       addressing table per dispatch ('dtab'), at most three quarters
       full, in one allocation aligned to a cache line.  A 16-byte slot
       holds what a lookup compares and what a hit does -- a hit reads one
       line of the table and nothing else when the value fits in 8 bytes
       and its class starts with 'RULE r; DECIDE m' -- so that 20,000
       values take 512 KB.  Each slot has an entry at the same index
       ('dentry': the value's bytes and length, its class's rule list),
       read only for longer values and CHAIN. */
    struct rv_dslot {
        uint64_t head;          /* the value's first 8 bytes, zero-padded */
        uint16_t len;           /* its bytes; RV_DSLOT_LONG: 65535 or more (the entry's 'len') */
        uint16_t model;         /* the decision's model; RV_DSLOT_CODE: 'rule' is the pc to
                                   run; RV_DSLOT_EMPTY: an empty slot */
        uint32_t rule;          /* the decision's rule, or the class's first rule pc (its
                                   dispatch's end when it lists none) */
    } *dslot;
    struct rv_dentry {
        const char *s;          /* the value */
        const uint32_t *pcs;    /* the class's rule list, 'npcs' long */
        uint32_t npcs, len;
        uint32_t first;         /* the class's first rule pc */
    } *dentry;
    struct rv_dtab {            /* per dispatch: its slots are dslot[base .. base + mask] */
        uint32_t base, mask;
    } *dtab;
    void *dslot_mem;            /* the allocation 'dslot' is aligned in */
    rv_sv *slot_key;            /* per metadata slot: its key */
    /* per mtest, what its JMT (or JKT) reads, in one place: its target,
       whether a hit makes it hold (== and in) or fail (!= and not in);
       JMT: its key's slot and the strings that hit (the constant, or the
       strings of its list); JKT: the constant
       and, for <, <=, > and >=, which comparisons hold */
    struct rv_jmt {
        const struct rv_value_s *k;
        const struct rv_jstr {
            const char *s;
            uint32_t len;
        } *items;
        uint32_t nitems, slot, target;
        uint8_t want;
        uint8_t cmp;            /* bit c + 1 set when the comparison c (-1, 0, 1) holds; 0 for == and != */
    } *jmt;
    struct rv_jstr *jstr;       /* every JMT's 'items' */
    int rule_settings;          /* does any rule state a timeout, backoff or retry? */
    int request_budgets;        /* does any agent have a per-request budget? */
    int day_budgets;            /* does any agent have a per-day budget? */
    int64_t *out_limit;         /* per agent: its guardrails' tightest 'limit output', 0 if none */
    struct vm_plan **plans;     /* per function: its rule plan (vm/plan.h), or NULL */
    /* the routing dictionary of the plans' metadata keys (request.h), or
       NULL: a driver that parses requests for this image passes it to
       req_parse_dict() so that its plans read the requests' views; owned
       by the image, valid until vm_image_free() */
    struct rv_reqdict *dict;
    /* per agent: how its decisions may start straight at its route
       (vm_start, plain decisions: vm/decide.c) */
    struct vm_astart *astart;
    /* per model: its system prompt as sent when it needs no substitution
       ("" when it has none), so that a call need not build it; 's' NULL
       when it names {agent} or {model} */
    rv_sv *msys;
} rv_image;

/* Returns 0, or -1 with a message (a regex that will not compile).  'p' is
   borrowed and must outlive the image. */
int vm_image_init(rv_image *img, const rv_program *p, char *err, size_t errlen);
void vm_image_free(rv_image *img);

/* Values on the VM stack.  Strings and lists are views: into the program
   (constants), the request, or the VM's per-request memory. */
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

/* ---------------------------------------------------------------- environment */

/* Circuit-breaker state of a model, as the driver tracks it. */
typedef enum { RV_CIRCUIT_CLOSED, RV_CIRCUIT_HALF_OPEN, RV_CIRCUIT_OPEN } rv_circuit;

/* What the driver knows about a model at run time. */
typedef struct {
    int64_t latency_us;         /* observed latency (e.g. an EWMA); -1 when not measured */
    uint8_t circuit;            /* rv_circuit: an OPEN model is not called */
    uint8_t saturated;          /* its rate limits (the model's rpm and tpm in the
                                   program, as the driver counts its calls and tokens)
                                   are used up: not called, like an open circuit */
} rv_modelstate;

/* A spend ledger key: the agent (by name, stable across policy reloads)
   and the UTC day (days since 1970-01-01). */
typedef struct {
    const char *agent;          /* borrowed for the duration of the call */
    uint32_t agent_len;
    int64_t day;
} rv_spendkey;

/* The decision's inputs from the outside world.  Every member may be NULL;
   the defaults are stated.  Callbacks must not call back into the VM.  The
   VM calls them from the thread that called vm_start/vm_resume. */
typedef struct rv_env {
    void *ud;                   /* passed to every callback */
    /* The wall clock, microseconds since the epoch.  Default: 0 (no
       deadlines are enforced, per-day budgets count in day 0). */
    int64_t (*now_us)(void *ud);
    /* Reserve 'amount' picodollars against 'key' atomically unless the
       day's spend plus open reservations plus 'amount' would exceed
       'limit'.  Returns 0 and a ticket when reserved, 1 when the budget
       refuses, -1 on an error (the VM treats it as a refusal: fail
       closed).  Default: always reserved. */
    int (*reserve)(void *ud, const rv_spendkey *key, int64_t amount, int64_t limit, uint64_t *ticket);
    /* Replace reservation 'ticket' by the actual cost 'actual' (0 for a
       call that was not billed). */
    void (*settle)(void *ud, uint64_t ticket, int64_t actual);
    /* The day's settled spend plus open reservations for 'key' (reports
       only; decisions go through reserve).  Default: 0. */
    int64_t (*spent)(void *ud, const rv_spendkey *key);
    /* Run-time state of model 'model' (an index of the program).
       Default: not measured, circuit closed, not saturated. */
    void (*model_state)(void *ud, uint32_t model, rv_modelstate *out);
    /* 64 random bits, for backoff jitter.  Default: a fixed sequence. */
    uint64_t (*random)(void *ud);
} rv_env;

/* ---------------------------------------------------------------- calls */

typedef enum {
    RV_CALL,        /* call the model vm_call() describes, then vm_resume */
    RV_HOOK,        /* ask the hook vm_hook() describes, then vm_resume */
    RV_DONE,        /* answered: vm_result() */
    RV_DENIED,      /* a guardrail refused: vm_result()->denied_by, ->deny_reason */
    RV_FAILED       /* no answer: vm_result()->error, ->failure */
} rv_status;

typedef enum { RV_PURPOSE_ANSWER, RV_PURPOSE_JUDGE } rv_purpose;

/* Why a call failed: rv_failure, whose classes (RV_FAILURES) are listed
   in program.h because policies name them ('retry_on', 'fallback on').
   Whether the VM tries the same model again follows rv_failure_retry
   unless the rule, the model or the agent states a 'retry_on' list
   (within the attempts the policy allows and the request's deadline);
   the others go to the next candidate at once.  Documented in
   docs/language.md ("Failures"). */

/* The class of an HTTP error status (RV_FAIL_NONE for 1xx-3xx). */
rv_failure vm_failure_of_http(int status);
/* A failure by name: a class name above, a test's alias ("error" ...) or an
   HTTP status ("429", "503"); *http gets the status or 0.  RV_FAIL__COUNT
   when the name is unknown. */
rv_failure vm_failure_parse(const char *name, size_t len, int *http);

/* A message of a conversation the VM builds itself (a judge's). */
typedef struct { uint8_t role; rv_sv text; } rv_chatmsg;   /* role: rv_role */

/* Everything about the call the driver is to make (after RV_CALL). */
typedef struct {
    uint32_t model;             /* index into the program's models */
    uint32_t provider;          /* the model's provider */
    rv_purpose purpose;         /* an answer, or a judge's rating of one */
    uint32_t attempt;           /* 1-based attempt of this model for this purpose */
    uint32_t seq;               /* 0-based index of the call within the request */
    int64_t timeout_us;         /* this attempt's limit: the 'timeout' in force (the rule's,
                                   else the model's, else the agent's); 0 = none */
    int64_t deadline_us;        /* the request's absolute deadline (env clock); 0 = none */
    int64_t backoff_us;         /* wait this long before sending (retries: jittered
                                   exponential backoff, at least a Retry-After) */
    int may_stream;             /* the answer may reach the client as it arrives: no
                                   later step can reject it (vm_feed applies the output
                                   guardrails); 0 for a cascade step that may escalate
                                   and for judges -- buffer those */
    int64_t max_output;         /* output tokens to ask for: the least of the request's
                                   max_tokens, the guardrails' 'limit output', the
                                   model's output cap and its 'max_tokens'; 0 = no
                                   limit known */
    /* The conversation.  For an answer: the client's request 'req', with
       'system' (the model's template, {agent} and {model} substituted;
       empty if none) sent before the client's own system messages, and
       'texts' in place of the request's own: one per text slot of 'req'
       (req->nslot; vm/request.h), as the input guardrails left them --
       a provider splices them into the body (vm/forward.h) or translates
       from them.  For a judge: 'msgs' only, which the VM built (req and
       texts are NULL). */
    const rv_request *req;
    const rv_sv *texts;
    rv_sv system;
    const rv_chatmsg *msgs;
    uint32_t nmsgs;
    int64_t reserved;           /* picodollars reserved for this call (worst case) */
    /* Generation parameters the model states (rv_params, program.h): send
       params[k] when bit k of params_set is set, converted from program
       units (a NUM is millionths: 700000 is 0.7); leave the rest to the
       client's request, which the model's values override.  Its stop
       sequences replace the client's when nstop > 0 (views into the
       program). */
    uint32_t params_set;
    int64_t params[RV_PARAM__COUNT];
    rv_sv stop[RV_MAX_STOP];
    uint32_t nstop;
} rv_call;

/* The call settings in force for a call to 'model' at this point of the
   decision (docs/language.md, "Call settings"): the deciding rule's, else
   the model's, else the agent's, else the defaults.  'retry_on' is a
   failure-class mask (bit k: class k is retried). */
typedef struct {
    int64_t timeout_us, backoff_us;
    uint32_t retry, retry_on;
} rv_callsettings;

/* After RV_HOOK: the routing hook to ask.  The hook answers a model name;
   a failure or an unknown name takes the route's default. */
typedef struct {
    uint32_t hook;              /* index into the program's hooks */
    rv_sv url;
    int64_t timeout_us;
} rv_hookcall;

/* Tokens of a call by class, as the provider reports them; -1 = not
   reported (the VM estimates input and output; the others count as 0).
   'input' excludes cached tokens: cache reads and writes are their own
   classes, each billed once at its own price (the model's 'cached' and
   'cache_write' prices, else its input price).  Reasoning tokens are part
   of 'output', as every provider reports them: they are billed at the
   model's 'reasoning' price when it states one (and the rest of the
   output at the output price), else as output.  See vm_usage_cost(). */
typedef struct {
    int64_t input, output, cache_read, cache_write, reasoning;
} rv_usage;

/* A tool call in an answer.  Output guardrails screen its arguments. */
typedef struct { rv_sv id, name, arguments; } rv_toolcall;

/* What the driver reports after a CALL or HOOK.  Borrowed for the duration
   of vm_resume only: the VM copies what it keeps. */
typedef struct {
    int ok;
    /* a model's answer */
    rv_sv text, finish;
    int64_t confidence;         /* num (1e-6), or -1 when unknown */
    int64_t logprob;            /* mean token logprob, num; 0 when unknown */
    const rv_toolcall *tool_calls;
    uint32_t ntool_calls;
    rv_usage usage;
    int64_t latency_us, ttft_us; /* measured; -1 when unknown */
    /* a hook's answer: a model's name */
    rv_sv hook_model;
    /* a failure (ok == 0) */
    rv_failure failure;
    int http_status;            /* 0 when not an HTTP status */
    int64_t retry_after_us;     /* the provider's Retry-After; -1 when absent */
    const char *detail;         /* a message for the result and traces, or NULL */
} rv_outcome;

/* An outcome with everything unknown: start from this. */
rv_outcome vm_outcome_init(int ok);

/* ---------------------------------------------------------------- results */

/* How the route reached the model. */
typedef enum { RV_VIA_NONE, RV_VIA_MODEL, RV_VIA_CHOICE, RV_VIA_CASCADE, RV_VIA_HOOK, RV_VIA_FALLBACK } rv_via;

/* One call of the request, in order.  Calls not made (a budget or an open
   circuit refused them) are listed too, with 'made' 0. */
typedef struct {
    uint32_t model;
    uint8_t purpose;            /* rv_purpose */
    uint8_t made, ok;
    uint8_t failure;            /* rv_failure when !ok */
    uint16_t http_status;
    uint32_t attempt;
    rv_usage usage;             /* as billed: reported, else estimated */
    uint8_t estimated;          /* input or output was estimated */
    int64_t cost;               /* picodollars */
    int64_t latency_us, ttft_us;
    int64_t backoff_us;
} rv_attempt;

/* A guardrail action that did something. */
typedef struct {
    uint32_t guard, action;     /* guardrail and action indexes (program) */
    uint8_t kind, dir;          /* rv_gakind, rv_dir */
    uint8_t denied;             /* this action refused the request */
    uint32_t count;             /* redactions made */
} rv_guardact;

#define RV_MAX_ATTEMPTS 64      /* calls per request, whatever the policy says */
#define RV_MAX_CHAIN 64         /* agents on one request's path (delegations, agent fallbacks);
                                   routec rejects policies with longer chains */
/* A judge's call (cascades 'by judge'): it answers a number, at most
   RV_JUDGE_OUTPUT tokens; besides the question and the answer it reads
   at most RV_JUDGE_OVERHEAD tokens of grading instructions, labels and
   framing.  routec's static worst case counts judges with these. */
#define RV_JUDGE_OUTPUT   16
#define RV_JUDGE_OVERHEAD 320

typedef struct {
    rv_status status;           /* the last status vm_start/vm_resume returned */
    uint32_t first_agent;       /* the agent addressed */
    uint32_t agent;             /* the agent whose route decided (after delegation) */
    uint32_t rule;              /* index into the program's rules, RV_NONE if none */
    rv_via via;
    uint32_t via_index;         /* choice, cascade, hook or fallback target */
    uint32_t hook;              /* a hook on the path, RV_NONE */
    uint32_t split, arm;        /* the last split taken (program index) and its arm (0-based), RV_NONE */
    uint32_t model;             /* the model that answered (DONE) or was chosen */
    rv_sv answer;               /* DONE: the answer, output guardrails applied */
    const rv_toolcall *tool_calls;  /* DONE: the answer's tool calls, screened */
    uint32_t ntool_calls;
    uint32_t denied_by;         /* guardrail, RV_NONE */
    rv_sv deny_reason;
    uint32_t redacted;          /* redactions made (input and output) */
    /* what each guardrail action did: one record per action that redacted
       (its count summed over the request) and one for the refusal -- never
       cut short: room for every action of the program, and the refusal */
    const rv_guardact *guardacts;
    uint32_t nguardacts;
    const rv_attempt *attempts;
    uint32_t nattempts;         /* calls tried, including those not made */
    uint32_t ncalls;            /* calls made, failures included */
    int64_t cost;               /* picodollars, every billed call */
    rv_failure failure;         /* FAILED: the last failure's class */
    const char *error;          /* FAILED: why, for people */
    uint32_t error_pc;          /* FAILED in the route code: where, else RV_NONE */
    uint32_t error_loc;         /*   and its source location (program locs), else RV_NONE */
} rv_result;

/* ---------------------------------------------------------------- observer */

/* Called as the route code runs (explain's condition trace, test
   coverage).  Any member may be NULL. */
typedef struct {
    /* a routing condition at 'pc' (source location 'loc') was evaluated */
    void (*cond)(void *ud, uint32_t pc, uint32_t loc, int result);
    /* the rule at 'pc' was entered */
    void (*rule)(void *ud, uint32_t pc, uint32_t rule);
} rv_observer;

/* ---------------------------------------------------------------- the VM */

typedef struct rv_vm rv_vm;

/* Limits of one decision (0 = the default). */
/* A budget of whoever sends the request (the gateway's API key, a
   tenant), enforced on every call like an agent's budgets: 'budget_day'
   reserves each call's worst case against the ledger row named 'name'
   (rv_spendkey.agent, so choose names no agent can have, e.g. "key:...")
   and 'budget_request' bounds the request's estimated spend.  0 = none.
   vm_start copies the name into the request's memory. */
typedef struct {
    const char *name;
    uint32_t name_len;
    int64_t budget_request, budget_day;     /* picodollars */
} rv_caller;

typedef struct {
    int64_t deadline_us;        /* absolute deadline for the whole request (env clock) */
    const rv_caller *caller;    /* NULL: no caller budget; borrowed during vm_start */
} rv_startopts;

/* A VM for 'img'; the caller frees it with vm_free().  'env' and 'lang'
   may be NULL; both are borrowed and must outlive the VM. */
rv_vm *vm_new(const rv_image *img, const rv_env *env, bi_langdet *lang);
void vm_free(rv_vm *vm);
/* End the VM's request without freeing it, so that a pool can start the
   next one on it: a decision left at RV_CALL is abandoned as vm_free
   would (its reservation released), and the request's memory is given
   back (but the first block), and the observer is removed.  The
   request, the result and the texts are invalid afterwards. */
void vm_release(rv_vm *vm);
void vm_set_observer(rv_vm *vm, const rv_observer *obs, void *ud);
/* Decide route functions that have a rule plan (vm/plan.h) by it (on,
   the default) or always by running their code (off; then every
   decision also resets the VM's state in full, never only what the last
   one wrote: vm/decide.c, "Plain decisions"): the decisions are the same
   either way; tests compare the two.  A VM with an observer runs the
   code. */
void vm_use_plans(rv_vm *vm, int on);

/* Start deciding 'req' for 'agent' (an agent index).  'opts' may be NULL. */
rv_status vm_start(rv_vm *vm, uint32_t agent, const rv_request *req, const rv_startopts *opts);
rv_status vm_resume(rv_vm *vm, const rv_outcome *o);

/* Streaming the answer of a call with may_stream set: feed each piece as
   it arrives.  '*release' gets the text the client may see now -- output
   guardrails applied; text a redaction pattern could still match is held
   back until the match is decided.  Returns 0, or 1 when an output 'deny'
   matched: stop the stream and tell the client (vm_resume then gives
   RV_DENIED).  After the last piece, vm_feed_end() releases what was held
   back; then vm_resume with the outcome (its 'text' is ignored: the VM
   has the fed text). */
int vm_feed(rv_vm *vm, const char *chunk, size_t len, rv_sv *release);
int vm_feed_end(rv_vm *vm, rv_sv *release);

const rv_call *vm_call(const rv_vm *vm);        /* after RV_CALL, else NULL */
const rv_hookcall *vm_hook(const rv_vm *vm);    /* after RV_HOOK, else NULL */
const rv_result *vm_result(const rv_vm *vm);    /* any time after vm_start */
const rv_image *vm_image(const rv_vm *vm);
const rv_request *vm_request(const rv_vm *vm);
/* The texts the provider receives, one per text slot of the request
   (vm_request(vm)->nslot views, in slot order): the request's own, or as
   the input guardrails redacted them (vm/guard.c).  Valid until the VM
   starts its next request. */
const rv_sv *vm_texts(const rv_vm *vm);

/* The deciding agent's next fallback entry (0-based, within its list):
   the entries from it on have not been tried (explain's plan). */
uint32_t vm_next_fallback(const rv_vm *vm);
/* The call settings for a call to 'model' now (see rv_callsettings). */
rv_callsettings vm_call_settings(const rv_vm *vm, uint32_t model);

/* Run a test's EXPECT function on the decision just made. */
rv_value vm_run_expect(rv_vm *vm, uint32_t fn);

/* Does the program call builtin 'b' anywhere?  (A language detector
   costs ~10 ms to load: drivers create one only for programs that call
   lang().) */
int vm_uses_builtin(const rv_program *p, rv_builtin b);

/* Find an agent by name; RV_NONE if none.  With no name: the only agent,
   if the program has exactly one. */
uint32_t vm_agent(const rv_program *p, const char *name, size_t len);

/* Cost of a call to 'model' with the given usage (unreported classes count
   as 0), exact, saturating at INT64_MAX:
       input x price_in + cache_read x (cached, else price_in)
     + cache_write x (cache_write, else price_in)
     + (output - R) x price_out + R x reasoning
   where R is the reasoning tokens (at most the output) when the model
   prices reasoning, else 0. */
int64_t vm_usage_cost(const rv_program *p, uint32_t model, const rv_usage *u);
/* Estimated cost of a call to 'model' with 'in_tokens' and 'out_tokens'
   (input at the input price, output at the output price). */
int64_t vm_call_cost(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens);
/* The most such a call can cost, whatever classes its tokens turn out to
   be: input at the dearest of the input and cache prices, output at the
   dearer of the output and reasoning prices (budget reservations). */
int64_t vm_call_worst(const rv_program *p, uint32_t model, int64_t in_tokens, int64_t out_tokens);

/* Estimated input tokens of a call to 'model': the conversation plus the
   model's system template (computed once per request, on demand). */
int64_t vm_model_tokens(rv_vm *vm, uint32_t model);

/* Output tokens a call to 'model' may produce: the least of the request's
   max_tokens, the guardrails' 'limit output', the model's output cap and
   its 'max_tokens'; 0 when none is known. */
int64_t vm_output_limit(const rv_vm *vm, uint32_t model);

/* Output tokens assumed when comparing candidates' costs ('cheapest') and
   estimating a call before it is made: the request's max_tokens lowered
   to the guardrails' 'limit output', else that limit, else 1,000 -- the
   same for every candidate. */
int64_t vm_expected_output(const rv_vm *vm);

#endif
