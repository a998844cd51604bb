/* rv_program: a compiled routing policy in memory.

   The compiler's code generator builds one, vm/rbc.c writes it to and reads
   it from a .rbc file, vm/verify.c proves it safe to run, vm/disasm.c prints
   it and the interpreter runs it.  Once loaded and verified a program is
   immutable and shared by every request.

   Every cross-reference is an index into one of the tables below; RV_NONE
   marks an absent optional reference.  Strings are stored once in the string
   table (length-counted, may not contain NUL) and referred to by index.

   Units (all integers; no floating point anywhere in a program):
     money     picodollars (1e-12 $)          $0.02        -> 20,000,000,000
     rate      picodollars per token          $0.15/Mtok   -> 150,000
               (numerically: micro-dollars per million tokens)
     duration  microseconds                   200ms        -> 200,000
     tokens    tokens                         8k tokens    -> 8,000
     num       millionths (fixed point 1e-6)  0.8          -> 800,000
     percent   millionths of a whole          90%          -> 900,000
   rate x tokens = money exactly; costs never round until displayed. */
#ifndef RV_PROGRAM_H
#define RV_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#define RV_NONE        UINT32_MAX
#define RV_COST_UNBOUNDED (-1)      /* an agent's worst case beyond the money range (rv_agent) */
#define RV_FORMAT_MAJOR 3
#define RV_FORMAT_MINOR 0

/* Value types, shared by the compiler's type checker, the constant pool and
   the VM's tagged values. */
#define RV_TYPES(X) \
    X(NIL, "nil") X(BOOL, "bool") X(INT, "int") X(NUM, "number") \
    X(MONEY, "money") X(RATE, "price") X(DURATION, "duration") \
    X(TOKENS, "tokens") X(PERCENT, "percent") X(STR, "string") \
    X(REGEX, "regex") X(LIST, "list") X(MODEL, "model") X(AGENT, "agent") \
    X(GUARDRAIL, "guardrail") X(PROVIDER, "provider") X(TEXT, "string or list")
typedef enum {
#define X(n, s) RV_T_##n,
    RV_TYPES(X)
#undef X
    RV_T__COUNT
} rv_type;
extern const char *const rv_type_names[RV_T__COUNT];

/* Request fields readable by LDREQ. */
#define RV_REQFIELDS(X) \
    X(INPUT, "input", STR)       /* text of the last user message */ \
    X(SYSTEM, "system", STR)     /* concatenated system prompts */ \
    X(USER, "user", STR)         /* the request's 'user' field */ \
    X(MESSAGES, "messages", LIST) /* texts of all messages */ \
    X(TOOLS, "tools", LIST)      /* names of offered tools */ \
    X(IMAGES, "images", INT)     /* number of image parts */ \
    X(TURNS, "turns", INT)       /* number of user messages */ \
    X(STREAM, "stream", BOOL)    /* client asked for streaming */ \
    X(MAXTOK, "max_tokens", TOKENS) /* client's output cap, 0 if none */
/* Candidate-model fields readable by LDCAND inside where clauses. */
#define RV_CANDFIELDS(X) \
    X(CONTEXT, "context", TOKENS) X(TIER, "tier", INT) \
    X(LATENCY, "latency", DURATION) X(PRICE_IN, "price_in", RATE) \
    X(PRICE_OUT, "price_out", RATE) X(MAX_OUTPUT, "max_output", TOKENS) \
    X(TAGS, "tags", LIST)
/* Response fields readable by LDRESP inside cascade checks. */
#define RV_RESPFIELDS(X) \
    X(TEXT, "text", STR) X(FINISH, "finish", STR) X(LOGPROB, "logprob", NUM) \
    X(TOOL_CALLS, "tool_calls", INT) X(OUT_TOKENS, "tokens", TOKENS)
/* Decision fields readable by LDDEC inside test expectations. */
#define RV_DECFIELDS(X) \
    X(MODEL, "model", MODEL) X(RULE, "rule", INT) X(REASON, "reason", STR) \
    X(AGENT, "agent", AGENT) X(PROVIDER, "provider", PROVIDER) \
    X(DENIED, "denied", BOOL) X(DENIED_BY, "guardrail", GUARDRAIL) \
    X(REDACTED, "redacted", INT) X(COST, "cost", MONEY) \
    X(ATTEMPTS, "attempts", INT)
/* Model capabilities (bit k of rv_model.caps). */
#define RV_CAPS(X) \
    X(TEXT, "text") X(VISION, "vision") X(TOOLS, "tools") X(JSON, "json") \
    X(STREAMING, "streaming") X(LOGPROBS, "logprobs") X(AUDIO, "audio") \
    X(REASONING, "reasoning")
/* Why a model call failed, by class.  The third column says whether the
   VM retries the class by default (a 'retry_on' list replaces that
   choice for a model, a rule or an agent).  The numbering is part of the
   .rbc format: failure-class masks ('retry_on', 'fallback on') have bit k
   for class k.  Documented in docs/language.md ("Failures"). */
#define RV_FAILURES(X) \
    X(NONE,        "none",           0) \
    X(TIMEOUT,     "timeout",        1) /* connect, first byte, idle gap, attempt */ \
    X(RESET,       "reset",          1) /* connection reset or closed early */ \
    X(REFUSED,     "refused",        1) /* connection refused, DNS or TLS failure */ \
    X(OVERLOADED,  "overloaded",     1) /* the provider says it is overloaded */ \
    X(MALFORMED,   "malformed",      1) /* an answer that cannot be read */ \
    X(RATE,        "rate_limited",   1) /* HTTP 429 */ \
    X(SERVER,      "server_error",   1) /* HTTP 5xx, 408 */ \
    X(CLIENT,      "client_error",   0) /* HTTP 400, 404, 413, 422, other 4xx */ \
    X(AUTH,        "auth",           0) /* HTTP 401, 403 */ \
    X(CONTEXT,     "context_length", 0) /* the conversation is too long for the model */ \
    X(FILTERED,    "content_filter", 0) /* the provider refused the content */ \
    X(ERROR,       "error",          0) /* any other error the provider reports */ \
    X(BUDGET,      "budget",         0) /* not called: a budget refused the cost */ \
    X(UNAVAILABLE, "unavailable",    0) /* not called: circuit open or rate limit used up */ \
    X(DEADLINE,    "deadline",       0) /* not called: the request's deadline has passed */ \
    X(STREAMED,    "stream_broken",  0) /* failed after part of the answer reached the client */

typedef enum {
#define X(n, s, r) RV_FAIL_##n,
    RV_FAILURES(X)
#undef X
    RV_FAIL__COUNT
} rv_failure;

/* Failure-class masks.  A 'retry_on' mask has RV_RETRY_STATED (bit 0, the
   class 'none', which never retries) set when the policy states it, and
   only classes of calls that were made (timeout .. error): a call that
   was not made, or whose answer already reached the client, is never
   tried again.  A 'fallback on' mask names classes timeout .. unavailable
   (after a passed deadline or a broken stream nothing follows). */
#define RV_RETRY_STATED      1u
#define RV_CLASSES(lo, hi)   ((2u << RV_FAIL_##hi) - (1u << RV_FAIL_##lo))
#define RV_RETRY_CLASSES     RV_CLASSES(TIMEOUT, ERROR)
#define RV_FALLBACK_CLASSES  RV_CLASSES(TIMEOUT, UNAVAILABLE)

/* Generation parameters a model's calls carry (rv_model.params, the call
   descriptor): name, type, least and greatest value (program units).
   Drivers pass the ones a model states to its provider. */
#define RV_PARAMS(X) \
    X(TEMPERATURE,  "temperature",       NUM, 0, 2000000) \
    X(TOP_P,        "top_p",             NUM, 0, 1000000) \
    X(TOP_K,        "top_k",             INT, 1, 1000000) \
    X(SEED,         "seed",              INT, 0, INT64_MAX) \
    X(PRESENCE,     "presence_penalty",  NUM, -2000000, 2000000) \
    X(FREQUENCY,    "frequency_penalty", NUM, -2000000, 2000000)
#define RV_MAX_STOP 4           /* stop sequences per model */

/* Provider wire formats. */
#define RV_PROVKINDS(X) X(OPENAI, "openai") X(ANTHROPIC, "anthropic") X(BEDROCK, "bedrock")

#define X(n, s, t) RV_REQ_##n,
typedef enum { RV_REQFIELDS(X) RV_REQ__COUNT } rv_reqfield;
#undef X
#define X(n, s, t) RV_CAND_##n,
typedef enum { RV_CANDFIELDS(X) RV_CAND__COUNT } rv_candfield;
#undef X
#define X(n, s, t) RV_RESP_##n,
typedef enum { RV_RESPFIELDS(X) RV_RESP__COUNT } rv_respfield;
#undef X
#define X(n, s, t) RV_DEC_##n,
typedef enum { RV_DECFIELDS(X) RV_DEC__COUNT } rv_decfield;
#undef X
#define X(n, s) RV_CAP_##n,
typedef enum { RV_CAPS(X) RV_CAP__COUNT } rv_cap;
#undef X
#define X(n, s) RV_PROV_##n,
typedef enum { RV_PROVKINDS(X) RV_PROV__COUNT } rv_provkind;
#undef X
#define X(n, s, t, lo, hi) RV_PARAM_##n,
typedef enum { RV_PARAMS(X) RV_PARAM__COUNT } rv_param;
#undef X

typedef struct { const char *name; rv_type type; } rv_fieldinfo;
extern const rv_fieldinfo rv_reqfields[RV_REQ__COUNT];
extern const rv_fieldinfo rv_candfields[RV_CAND__COUNT];
extern const rv_fieldinfo rv_respfields[RV_RESP__COUNT];
extern const rv_fieldinfo rv_decfields[RV_DEC__COUNT];
extern const char *const rv_cap_names[RV_CAP__COUNT];
extern const char *const rv_provkind_names[RV_PROV__COUNT];
extern const char *const rv_failure_names[RV_FAIL__COUNT];
extern const uint8_t rv_failure_retry[RV_FAIL__COUNT];
typedef struct { const char *name; rv_type type; int64_t lo, hi; } rv_paraminfo;
extern const rv_paraminfo rv_params[RV_PARAM__COUNT];

/* Builtins, from vm/builtins.def. */
typedef enum {
#define BI(name, ar, a0, a1, ret, doc) RV_BI_##name,
#include "builtins.def"
#undef BI
    RV_BI__COUNT
} rv_builtin;
typedef struct { const char *name; int arity; rv_type arg[2], ret; const char *doc; } rv_biinfo;
extern const rv_biinfo rv_builtins[RV_BI__COUNT];

/* ---------------------------------------------------------------- tables */

/* A constant.  LIST constants own items [first, first+count) of 'items',
   which are constant indexes of scalar constants (lists do not nest). */
typedef struct {
    uint8_t  type;      /* rv_type */
    int64_t  i;         /* BOOL, INT, NUM, MONEY, RATE, DURATION, TOKENS, PERCENT;
                           MODEL/AGENT/GUARDRAIL/PROVIDER: table index */
    uint32_t str;       /* STR: string index; REGEX: regex index */
    uint32_t first, count; /* LIST */
} rv_const;

#define RV_RE_CASELESS  1u
#define RV_RE_MULTILINE 2u
#define RV_RE_DOTALL    4u
#define RV_RE_EXTENDED  8u
#define RV_RE__ALL      15u
typedef struct { uint32_t pattern, flags, loc; } rv_regex;

typedef struct {
    uint32_t name, kind;        /* kind: rv_provkind */
    uint32_t endpoint, region, key_env;   /* strings, RV_NONE if absent */
    uint32_t loc;
} rv_provider;

/* A model.  Prices are per token class: 'price_in' for input tokens,
   'price_out' for output; cache reads, cache writes and reasoning tokens
   have their own price when the policy states one (-1 when it does not:
   cache tokens are then billed at 'price_in', reasoning tokens as output;
   see vm_usage_cost()).  The call settings (timeout, backoff, retry,
   retry_on) override the agent's for calls to this model, and are
   overridden by a rule's. */
typedef struct {
    uint32_t name, provider, id, system;  /* system: prompt template or RV_NONE */
    int64_t  price_in, price_out;         /* rate */
    int64_t  price_cached, price_cache_write, price_reasoning;   /* rate, -1 = not stated */
    int64_t  context, max_output;         /* tokens; max_output 0 = unknown */
    int64_t  latency;                     /* declared, duration */
    uint32_t tier, caps;
    int64_t  timeout, backoff;            /* duration; 0 = not stated */
    uint32_t retry;                       /* extra attempts; RV_NONE = not stated */
    uint32_t retry_on;                    /* failure-class mask; 0 = not stated */
    uint32_t onfail_first, onfail_count;  /* 'fallback on' entries, into 'targets' */
    int64_t  rpm, tpm;                    /* rate limits per minute (requests, tokens); 0 = none */
    int64_t  max_tokens;                  /* the most output to ask for; 0 = not stated */
    uint32_t params_set;                  /* bit k: params[k] is stated */
    int64_t  params[RV_PARAM__COUNT];     /* rv_param, in the units of rv_params[k].type */
    uint32_t stop;                        /* constant: a list of 1..RV_MAX_STOP strings, or RV_NONE */
    uint32_t tags;                        /* constant: a list of strings (the policy's labels), or RV_NONE */
    uint32_t loc;
} rv_model;

typedef enum { RV_GA_DENY, RV_GA_REDACT, RV_GA_LIMIT, RV_GA__COUNT } rv_gakind;
typedef enum { RV_DIR_INPUT, RV_DIR_OUTPUT, RV_DIR__COUNT } rv_dir;
typedef struct {
    uint32_t kind, dir;         /* rv_gakind, rv_dir */
    uint32_t regex;             /* DENY/REDACT */
    uint32_t text;              /* DENY: reason; REDACT: replacement */
    int64_t  limit;             /* LIMIT: tokens */
    uint32_t loc;
} rv_gaction;
typedef struct { uint32_t name, first, count, loc; } rv_guardrail;  /* actions */

/* A reference to a model or an agent (fallback lists).  'on' is a
   failure-class mask (RV_FALLBACK_CLASSES) for a 'fallback on' entry,
   0 for an entry of a plain fallback list. */
typedef struct { uint32_t is_agent, index, on; } rv_target;

typedef struct {
    uint32_t name;
    uint32_t guard_first, guard_count;      /* into 'guard_refs' (guardrail indexes) */
    int64_t  budget_request, budget_day;    /* money; 0 = none */
    uint32_t func;                          /* route function */
    uint32_t fallback_first, fallback_count;/* into 'targets' */
    uint32_t retry;
    int64_t  backoff, timeout;              /* duration; 0 = default */
    uint32_t retry_on;                      /* failure-class mask; 0 = not stated */
    uint32_t onfail_first, onfail_count;    /* 'fallback on' entries, into 'targets' */
    uint32_t rule_first, rule_count;        /* into 'rules' */
    int64_t  worst_cost;                    /* money, computed by the compiler; RV_COST_UNBOUNDED
                                               when it exceeds what money can hold */
    uint32_t loc;
} rv_agent;

/* A rule.  Its call settings apply to the calls its target makes (a
   nested rule has its enclosing rule's unless it states its own); they
   override the model's and the agent's. */
typedef struct {
    uint32_t agent, number;     /* number: 1-based, in source order in the agent */
    uint32_t reason;            /* string or RV_NONE */
    uint32_t otherwise;         /* 1 for the 'otherwise' arm */
    int64_t  timeout, backoff;  /* duration; 0 = not stated */
    uint32_t retry;             /* RV_NONE = not stated */
    uint32_t retry_on;          /* failure-class mask; 0 = not stated */
    uint32_t loc;
} rv_rule;

typedef enum { RV_CHOOSE_CHEAPEST, RV_CHOOSE_FASTEST } rv_choosekind;
typedef struct {
    uint32_t kind;              /* rv_choosekind */
    uint32_t first, count;      /* into 'model_refs' */
    uint32_t where;             /* function index or RV_NONE */
    uint32_t loc;
} rv_choice;

typedef enum { RV_BY_LOGPROBS, RV_BY_JUDGE, RV_BY_CHECK } rv_bykind;
typedef struct {
    uint32_t first, count;      /* into 'model_refs' */
    int64_t  threshold;         /* num */
    uint32_t by, judge, check;  /* rv_bykind; judge model or RV_NONE; check function or RV_NONE */
    uint32_t loc;
} rv_cascade;

typedef struct { int64_t share; uint32_t target; } rv_arm; /* percent; pc */
typedef struct { uint32_t first, count, loc; } rv_split;   /* into 'arms' */

typedef struct {
    uint32_t url;
    int64_t  timeout;           /* duration */
    uint32_t loc;               /* the default target's code follows the HOOK */
} rv_hook;

typedef enum { RV_FN_ROUTE, RV_FN_WHERE, RV_FN_CHECK, RV_FN_EXPECT, RV_FN__COUNT } rv_fnkind;
typedef struct { uint32_t kind, start, end; } rv_func;  /* code [start, end) */

/* A test fused with its conditional jump: 'meta[key] op const' (JMT) or
   'pop() op const' (JKT, key RV_NONE); when it does not hold, a jump to
   'target' (like split arms, the target lives in the table; each such
   instruction has its own entry).  JMT takes EQ..NOTIN, JKT EQ, NE and the
   orderings. */
typedef enum { RV_MT_EQ, RV_MT_NE, RV_MT_IN, RV_MT_NOTIN, RV_MT_LT, RV_MT_LE, RV_MT_GT, RV_MT_GE,
               RV_MT__COUNT } rv_mtop;
typedef struct { uint32_t key, konst, op, target; } rv_mtest;

/* A dispatch on a metadata key (DISPATCH, format 2.1).  The value of
   meta[key] picks a class: the class of the 'dvalues' row with that value
   (exact bytes), else class 0 -- a missing key or any other value.  Each
   class lists, ascending, the pcs of the rules that can match a request
   of that class ('dpcs'); a rule left out tests 'key' against values of
   other classes, so it could not match.  DISPATCH jumps to the class's
   first rule; a rule that does not match ends in CHAIN, which jumps to the
   class's next rule after it, and after the last one to 'end'.  Rules run
   in source order either way: first-match semantics are kept exactly. */
typedef struct {
    uint32_t key;               /* string: the metadata key */
    uint32_t vfirst, vcount;    /* into 'dvalues' */
    uint32_t cfirst, ccount;    /* into 'dclasses'; class 0 first */
    uint32_t end;               /* pc after the dispatched rules */
} rv_dispatch;
typedef struct { uint32_t value, cls; } rv_dvalue;     /* value: a string */
typedef struct { uint32_t first, count; } rv_dclass;   /* into 'dpcs' */

typedef enum { RV_GIVEN_ANSWER, RV_GIVEN_FAIL, RV_GIVEN_HOOK, RV_GIVEN__COUNT } rv_givenkind;
typedef struct {
    uint32_t kind;              /* rv_givenkind */
    uint32_t model;             /* ANSWER/FAIL: model; HOOK: answered model */
    uint32_t hook;              /* HOOK: hook index, RV_NONE for any */
    uint32_t text;              /* ANSWER: text; FAIL: failure name ("timeout", "429", ...) */
    int64_t  confidence;        /* ANSWER: num, -1 if unstated */
} rv_given;
typedef struct {
    uint32_t name, agent;
    uint32_t request;           /* string: the request as OpenAI chat JSON */
    uint32_t given_first, given_count;
    uint32_t expect, expect_count;  /* EXPECT functions [expect, expect+count), one per 'expect' */
    uint32_t loc;
} rv_test;

typedef struct { uint32_t file, line, col, len; } rv_loc;  /* file: index into 'files' */
typedef struct { uint32_t name, text; } rv_file;           /* strings */

typedef struct rv_program {
    /* string table: one blob, NUL after each string for convenience */
    char     *blob;
    uint32_t *str_off, *str_len;
    uint32_t  nstr, blob_len;

    rv_const    *consts;    uint32_t nconst;
    uint32_t    *items;     uint32_t nitem;      /* list constant items */
    rv_regex    *regexes;   uint32_t nregex;
    rv_provider *providers; uint32_t nprovider;
    rv_model    *models;    uint32_t nmodel;
    rv_gaction  *gactions;  uint32_t ngaction;
    rv_guardrail *guards;   uint32_t nguard;
    uint32_t    *guard_refs; uint32_t nguard_ref;
    rv_target   *targets;   uint32_t ntarget;
    uint32_t    *model_refs; uint32_t nmodel_ref;
    rv_agent    *agents;    uint32_t nagent;
    rv_rule     *rules;     uint32_t nrule;
    rv_choice   *choices;   uint32_t nchoice;
    rv_cascade  *cascades;  uint32_t ncascade;
    rv_arm      *arms;      uint32_t narm;
    rv_split    *splits;    uint32_t nsplit;
    rv_hook     *hooks;     uint32_t nhook;
    rv_func     *funcs;     uint32_t nfunc;
    rv_mtest    *mtests;    uint32_t nmtest;
    rv_dispatch *dispatches; uint32_t ndispatch;
    rv_dvalue   *dvalues;   uint32_t ndvalue;
    rv_dclass   *dclasses;  uint32_t ndclass;
    uint32_t    *dpcs;      uint32_t ndpc;
    rv_given    *givens;    uint32_t ngiven;
    rv_test     *tests;     uint32_t ntest;
    uint32_t    *code;      uint32_t ncode;
    uint32_t    *pc_loc;    /* ncode entries: index into 'locs' */
    rv_loc      *locs;      uint32_t nloc;
    rv_file     *files;     uint32_t nfile;

    /* Filled by the verifier: the largest stack any function needs. */
    uint32_t max_stack;
    /* Filled by the loader: SHA-256 of the file, and whether a signature
       was present and checked. */
    uint8_t  digest[32];
    int      signed_ok;
} rv_program;

/* Borrowed pointer to string 'i' (NUL-terminated); "" for RV_NONE. */
static inline const char *rv_str(const rv_program *p, uint32_t i)
{
    return i == RV_NONE ? "" : p->blob + p->str_off[i];
}

rv_program *rv_program_new(void);   /* empty, all tables NULL */
void rv_program_free(rv_program *p);   /* accepts NULL */

#endif
