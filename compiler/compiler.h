/* rv_compiler: the state of one compilation, and the passes over it.

       import_file   read the root files and their imports, parse   (import.c)
       res_declare   enter every declaration into the symbol table  (resolve.c)
       chk_program   items, names, types, units, constants          (check.c,
                     typing.c, fold.c, testreq.c)
       lint_program  routes: reachability, shadowing, decisions,
                     cycles, where-satisfiability, tiers, budgets   (lint.c,
                     imply.c, cost.c)
       cg_program    code generation into an rv_program             (codegen.c,
                     tables.c)

   Each pass reports into 'diag' and keeps going, so one run shows every
   problem it can; a pass later in the list runs only on programs the
   earlier ones accepted where it needs their results.  Compilations are
   independent: each thread may run its own (tests/unit/threads_test.c
   checks it under ThreadSanitizer). */
#ifndef RV_COMPILER_H
#define RV_COMPILER_H

#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "program.h"
#include "source.h"

typedef enum { SYM_PROVIDER, SYM_MODEL, SYM_GUARDRAIL, SYM_AGENT, SYM_CONST, SYM__COUNT } sym_kind;
extern const char *const sym_kind_names[SYM__COUNT];

/* Call settings a model, a rule or an agent states (program units; see
   rv_model in program.h). */
typedef struct call_settings {
    int64_t timeout, backoff;   /* 0 = not stated */
    uint32_t retry;             /* RV_NONE = not stated */
    uint32_t retry_on;          /* failure-class mask, 0 = not stated */
} call_settings;

/* What the checker learned about a model (program units). */
typedef struct {
    const char *id, *system;
    int64_t price_in, price_out, context, max_output, latency;
    int64_t price_cached, price_cache_write, price_reasoning;   /* -1 = not stated */
    uint32_t tier, caps;
    int priced;
    call_settings calls;
    int64_t rpm, tpm, max_tokens;   /* 0 = not stated */
    uint32_t params_set;
    int64_t params[RV_PARAM__COUNT];
    ast *stop;                  /* folded list of strings, or NULL */
    ast *tags;                  /* list of strings (E_LIST of E_STR), or NULL */
    ast *onfail;                /* 'fallback on' items (N_ITEM, path "on"); value2->sym the model */
    uint32_t *onfail_on;        /* their class masks (arena), one per item */
    int visiting;               /* cost.c: on the path of stand-ins being costed */
    int memo_ok;                /* cost.c: the last cost with stand-ins, and its inputs */
    int64_t memo_in, memo_out, memo_extra, memo_val;
    const sym *memo_agent;
    const char *memo_why;
    uint8_t chain_state;        /* lint.c: 0 new, 1 on the path, 2 done */
    uint32_t chain;             /* lint.c: the longest chain of stand-ins from here */
} model_info;

typedef struct {
    rv_provkind kind;
    const char *endpoint, *region, *key_env;
} provider_info;

typedef struct {
    ast *route;                 /* the route target */
    ast *guards, *fallback;     /* E_NAME lists (resolved) */
    int64_t budget_request, budget_day, backoff, timeout;
    uint32_t retry, nrules;
    uint32_t retry_on;          /* failure-class mask, 0 = not stated */
    ast *onfail;                /* 'fallback on' items, as for models */
    uint32_t *onfail_on;
    int64_t in_limit, out_limit;  /* from guardrails; 0 = none */
    int64_t worst;              /* worst-case cost, -1 when unbounded */
    const char *worst_why;      /* the model that makes it so */
    int visiting, done;         /* cycle detection */
    uint32_t chain;             /* the most agents a request to it passes through (lint.c) */
    sym *next_in_chain;         /* the agent after it on such a path, or NULL */
} agent_info;

struct sym {
    sym_kind kind;
    const char *name;
    ast *decl;
    sym *hnext;                 /* hash chain */
    uint32_t index;             /* index in its program table */
    int used;
    int state;                  /* constants: 0 new, 1 folding, 2 done, 3 bad, 4 reads the request */
    ast *value;                 /* constants: the folded literal (state 2), or the typed
                                   expression of one that reads the request (state 4) */
    union {
        model_info model;
        provider_info provider;
        agent_info agent;
        struct { int64_t in_limit, out_limit; } guard;
    } u;
};

typedef struct {
    arena arena;
    src_set src;
    diag_ctx diag;
    const char **incdirs;
    unsigned nincdir;
    const char *stdlib;         /* stdlib directory (found by comp_new) */
    ast *decls, *decls_tail;    /* all files, dependencies first */
    unsigned nroot;             /* how many files were named by the user */
    /* symbol table */
    sym **buckets;
    uint32_t nbucket, nsym;
    sym **order;                /* declaration order, for deterministic tables */
    uint32_t norder, order_cap;
    /* per-kind counts, for program table sizes */
    uint32_t count[SYM__COUNT];
    /* metadata keys numbered as the checker meets them (E_MEMBER 'M' nodes
       carry the number in 'field'), so the linter compares numbers */
    const char **meta_keys;
    uint32_t *meta_hash, nmeta_key, cap_meta_key;
    int verbose;
    int strip;                  /* leave the source texts out of the program */
    int strip_tests;            /* leave the tests out of the program (their functions, requests, givens) */
    int no_dispatch;            /* rule blocks stay linear (differential tests) */
    const char *cg_too_large;   /* codegen.c: the format's limit a program outgrew, or NULL */
    int release_text;           /* import.c: release each file's text once parsed (source.h) */
    int std_only;               /* imports outside the stdlib are refused (fuzzing, untrusted text) */
    int parse_recovered;        /* a syntax error made the parser skip text */
    int oom;
    arena_strset names;         /* the parser's names (parse_name()) */
    struct fold_memo { ast *node, *value; } *fold_memo;   /* fold.c: folded values, by node */
    uint32_t fold_n, fold_cap;
    uint32_t import_depth;      /* import.c: files being loaded, at most AST_MAX_IMPORTS */
    uint32_t typ_depth;         /* typing.c: typ_expr() frames, at most TYP_MAX_DEPTH */
    uint32_t typ_too_deep;      /* typing.c: times that limit was met (reported once) */
    struct ovr *overrides;      /* constants given other values (override.h) */
    char unreadable[512];       /* import.c: why a root file cannot be read (import_file's -2) */
    /* import.c's file states */
    struct loaded_file *loaded;
    uint32_t nloaded, loaded_cap;
} rv_compiler;

/* compiler.c */
rv_compiler *comp_new(const char *argv0);
void comp_free(rv_compiler *c);
/* Free the tree, the symbols and everything else the passes built,
   keeping what printing the diagnostics needs (c->diag, c->src): after
   this only diag_*() may be used on 'c', and comp_free(). */
void comp_drop_tree(rv_compiler *c);
/* Run every checking pass; returns 0 when there are no errors. */
int comp_check(rv_compiler *c);

/* import.c: parse 'path' and everything it imports.  Returns 0 when every
   file was read and parsed, -2 when the root file itself cannot be read
   (why in c->unreadable), -1 otherwise (reported in c->diag). */
int import_file(rv_compiler *c, const char *path);
/* Compile in-memory text as if read from 'name' (fuzzing, tests); the
   text is copied.  Its imports are looked up from the current directory. */
int import_text(rv_compiler *c, const char *name, const char *text, size_t len);
/* Compile in-memory text that stands for the file at 'path' (an editor's
   unsaved buffer), shown as 'name': its relative imports are looked up
   next to 'path', and a file that imports 'path' back closes a cycle.
   'path' NULL: as import_text().  The text is copied; at most 64 MiB.
   Returns as import_file(), never -2. */
int import_buffer(rv_compiler *c, const char *name, const char *path, const char *text, size_t len);
/* The import that loaded 'file' (a span in the importing file), or NULL
   for a root file.  Borrowed from 'c'; valid until comp_drop_tree(). */
const src_span *import_origin(const rv_compiler *c, uint32_t file);
/* Free import.c's file states (comp_free() calls it). */
void import_free(rv_compiler *c);

/* codegen.c */
/* Generate the program (only after comp_check succeeded). */
rv_program *cg_program(rv_compiler *c);
/* The same, passed through the file format: exactly what a .rbc of this
   policy loads as, verified.  NULL with a message in 'err'. */
rv_program *cg_program_loaded(rv_compiler *c, char *err, size_t errlen);
/* The .rbc bytes of the policy, signed with the PEM private key at 'sign'
   (NULL: unsigned), and loaded and verified as routevm would before they
   are returned: what builds, verifies.  0 with '*buf' owned by the caller
   (free()); otherwise a message in 'err' and -1 when the program could not
   be made, -2 when it could not be written (the signing key).  The tree
   is freed once the program is generated (comp_drop_tree()): afterwards
   'c' serves only diag_*() and comp_free(). */
int cg_build(rv_compiler *c, const char *sign, uint8_t **buf, size_t *len, char *err, size_t errlen);

/* resolve.c */
int res_declare(rv_compiler *c);
sym *res_lookup(const rv_compiler *c, const char *name);
/* Suggest the closest declared name of one of the kinds in 'mask'
   (bit k = sym_kind k), or NULL. */
const char *res_suggest(rv_compiler *c, const char *name, unsigned mask);

/* check.c */
int chk_program(rv_compiler *c);
/* lint.c */
void lint_program(rv_compiler *c);
/* Only the check that every route block decides, for a program with
   errors (lint_program needs an error-free one). */
void lint_undecided(rv_compiler *c);
/* cost.c: worst-case cost of a request to 'agent' (money), -1 if unbounded.
   The agents it delegates to are computed first (recursively); lint.c
   calls it on the agents in an order that has them done already, so the
   recursion never goes deeper than one agent. */
int64_t cost_agent(rv_compiler *c, sym *agent, const char **why);

#endif
