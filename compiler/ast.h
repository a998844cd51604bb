/* The abstract syntax tree of .route files.

   One node type for everything, tagged by 'kind'; sibling lists are linked
   through 'next'.  The parser builds nodes in the compilation's arena; the
   resolver fills 'sym', the checker fills 'type' and 'elem'.  Literal
   values are already in program units (see vm/program.h). */
#ifndef RV_AST_H
#define RV_AST_H

#include <stdint.h>

#include "arena.h"
#include "program.h"
#include "source.h"

typedef enum {
    /* expressions */
    E_INT, E_NUM, E_MONEY, E_RATE, E_DURATION, E_TOKENS, E_PERCENT,
    E_BOOL, E_STR, E_REGEX, E_NAME, E_MEMBER, E_CALL, E_LIST,
    E_NOT, E_NEG, E_BINARY,
    /* routing targets */
    T_REF, T_CHEAPEST, T_FASTEST, T_CASCADE, T_SPLIT, T_HOOK, T_ROUTE,
    /* pieces */
    N_RULE, N_ARM, N_ITEM, N_BUDGET, N_GACTION, N_GIVEN, N_REQITEM,
    /* declarations */
    D_IMPORT, D_CONST, D_PROVIDER, D_MODEL, D_GUARDRAIL, D_AGENT, D_TEST,
    AST__COUNT
} ast_kind;

/* Binary operators; precedence lives in grammar/parser.y's table. */
typedef enum {
    AST_OR, AST_AND, AST_EQ, AST_NE, AST_LT, AST_LE, AST_GT, AST_GE,
    AST_IN, AST_NOTIN, AST_MATCHES, AST_ADD, AST_SUB, AST_MUL, AST_DIV
} ast_binop;
extern const char *const ast_binop_names[];

/* Expressions and routing targets nest at most this deep: each operator,
   call, list, field access, parenthesis and nested target is one level (a
   chain of 'and' is one level per 'and').  The parser stops deeper input
   with "nesting too deep", so the passes over the tree, which recurse,
   need a bounded stack.  Constants defined in terms of constants are held
   to the same depth; imports to AST_MAX_IMPORTS. */
#define AST_MAX_DEPTH   1000
#define AST_MAX_IMPORTS 128

typedef struct sym sym;   /* compiler/resolve.h */
struct call_settings;     /* compiler/compiler.h */

typedef struct ast ast;

/* Every node is 72 bytes: a 1M-line policy has a few million of them.
   The rarer kinds keep their fields out of line, and the position of a
   name inside a node (a call's function, a field access's field, a
   budget's period) is kept as a line and column: it ends strlen(name)
   bytes later (ast_name_span()). */
/* T_CHEAPEST/T_FASTEST: cands (E_NAME list), cond (where or NULL)
   T_CASCADE: cands, cond (threshold), by, judge (E_NAME), check
   T_SPLIT: arms (N_ARM list), cond (key)
   T_HOOK: url (E_STR), cond (timeout), dflt
   T_ROUTE: rules */
typedef struct {
    ast *cands, *cond, *judge, *check, *arms, *url, *dflt, *rules;
    rv_bykind by;
} ast_target;
/* N_ITEM: a 'name value' item of a block ('price in X, out Y, ...': value
   X, value2 the N_ITEM list of the other classes; 'fallback on C -> T':
   path "on", value the classes, value2 T; a name other than 'price' in
   the price form has path "in", and one other than 'budget' in the
   budget form ('X per day', value the N_BUDGET list) path "per", so the
   checker can name the mistake); N_REQITEM: a request item of a test
   ('path' is set for meta.x = v) */
typedef struct { char *name; src_span name_at; ast *value, *value2; char *path; } ast_item;
typedef struct {
    char *name; src_span name_at;
    ast *items;      /* provider/model/agent: N_ITEM...; guardrail: N_GACTION; test: items */
    ast *from;       /* D_MODEL: provider name (E_NAME); D_CONST: value */
    ast *agent, *request, *givens, *expects;   /* D_TEST */
    int file_level;  /* declared in a file given on the command line */
} ast_decl;
/* N_RULE: cond NULL = otherwise; opts: the N_ITEM call settings as
   written, calls: as the checker merged them with the enclosing rule's
   (shared with it when the rule states none) */
typedef struct { ast *cond, *target, *reason, *opts; const struct call_settings *calls; } ast_rule;
/* N_GIVEN: model answers text [confidence c] | model fails what |
   hook answers model */
typedef struct { rv_givenkind kind; ast *who, *what, *confidence; } ast_given;
/* where a name inside a node starts */
typedef struct { uint32_t line, col; } ast_pos;
struct ast {
    ast_kind kind : 6;
    /* set by later passes */
    rv_type type : 6, elem : 6;   /* elem: element type of lists */
    unsigned fold_state : 3;      /* fold.c: 0 not folded yet, 1 the node itself is constant,
                                     2 depends on the request, 3 an error in constant arithmetic
                                     (reported), 4 constant (the value in fold.c's memo) */
    unsigned depth : 10;          /* expressions and targets: nesting depth, at most AST_MAX_DEPTH */
    unsigned bare : 1;            /* E_MEMBER: the object is a bare name (u.member.base) */
    src_span at;
    ast *next;
    sym *sym;               /* E_NAME / E_MEMBER / T_REF / names in lists */
    int field;              /* E_NAME/E_MEMBER resolved to a request/candidate/... field */
    uint32_t ext;           /* pass-specific scratch (e.g. code generator indexes) */
    union {
        int64_t i;                                   /* numeric literals, E_BOOL */
        struct { char *s; uint32_t len; } str;       /* E_STR, D_IMPORT path, D_TEST name */
        struct { char *pat; uint32_t flags; } re;    /* E_REGEX */
        char *name;                                  /* E_NAME, T_REF */
        /* E_MEMBER: OBJ.name, or BASE.name when the object is a bare name
           ('bare' set): 'meta.task' is one node */
        struct { union { ast *obj; char *base; }; char *name; ast_pos name_at; } member;
        struct { char *fn; ast *args; ast_pos fn_at; } call;  /* E_CALL */
        ast *items;                                  /* E_LIST */
        ast *operand;                                /* E_NOT, E_NEG */
        struct { ast_binop op; ast *l, *r; } bin;    /* E_BINARY */
        ast_target *t;
        ast_rule *rule;                              /* N_RULE */
        struct { ast *share, *target; } arm;         /* N_ARM */
        ast_item *item;                              /* N_ITEM, N_REQITEM */
        struct { ast *amount; char *per; ast_pos per_at; } budget;  /* N_BUDGET: AMOUNT per PER */
        struct { rv_gakind kind; rv_dir dir; ast *value, *text; } ga; /* N_GACTION */
        ast_given *given;                            /* N_GIVEN */
        ast_decl *decl;
    } u;
};
_Static_assert(AST__COUNT <= 64 && RV_T__COUNT < 64 && AST_MAX_DEPTH < 1024, "the node header's bit fields");
_Static_assert(sizeof(ast) <= 72, "AST nodes stay small");

ast *ast_new(arena *a, ast_kind kind, src_span at);
/* Append 'tail' (a list) to list 'head'; returns the head. */
ast *ast_append(ast *head, ast *tail);
unsigned ast_count(const ast *list);
/* The span of 'name', which starts at 'p' in 'e''s file. */
src_span ast_name_span(const ast *e, ast_pos p, const char *name);
/* Where span 'at' starts. */
ast_pos ast_pos_of(src_span at);

#endif
