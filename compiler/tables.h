/* The program's tables while code is generated: interned strings and
   constants, regexes, source locations, and the rows of declarations and
   rules.  See tables.c. */
#ifndef RV_TABLES_H
#define RV_TABLES_H

#include "compiler.h"

/* The program under construction ('p', owned by the caller) and what
   interning needs.  Zero-initialize with 'c' set, set 'p', and free the
   builder's own memory with tab_free().  On failure a function sets 'oom'
   and returns 0 (or NULL); the program is then to be thrown away.  When
   what failed is a limit of the .rbc format (a table past 2^32 rows, an
   index past an instruction's 24-bit operand), 'too_large' says which. */
typedef struct {
    rv_compiler *c;
    rv_program *p;
    size_t cap_str, cap_strlen, cap_pcloc, cap_blob, cap_const, cap_item, cap_regex, cap_gaction, cap_guard_ref,
           cap_target, cap_model_ref, cap_rule, cap_choice, cap_cascade, cap_arm, cap_split,
           cap_hook, cap_func, cap_given, cap_test, cap_code, cap_loc, cap_mtest,
           cap_dispatch, cap_dvalue, cap_dclass, cap_dpc;
    uint32_t *str_hash, str_hash_cap;       /* open addressing: index+1, 0 = empty */
    uint32_t *const_hash, const_hash_cap;
    uint32_t cur_loc;                       /* the location of what is added next */
    int oom;
    const char *too_large;                  /* with 'oom': a limit of the format, not memory */
} tab_builder;

/* Append a zeroed element of size 'elem' to the array '*arr' of '*n'
   elements (capacity '*cap'); returns it.  The array may move. */
void *tab_grow(tab_builder *tb, void **arr, uint32_t *n, size_t *cap, size_t elem);
/* A new row of program table 'arr' (count field 'n', capacity tb->capname). */
#define TAB_ROW(tb, arr, n, capname) \
    ((__typeof__(arr))tab_grow(tb, (void **)&(arr), &(n), &(tb)->capname, sizeof *(arr)))

uint32_t tab_intern(tab_builder *tb, const char *s, size_t n);   /* string index */
uint32_t tab_str(tab_builder *tb, const char *s);                /* NULL: RV_NONE */
uint32_t tab_scalar(tab_builder *tb, rv_type ty, int64_t i, uint32_t str);
/* The constant for a folded literal (see fold_expr()). */
uint32_t tab_const(tab_builder *tb, const ast *e);
uint32_t tab_regex(tab_builder *tb, const ast *re);
/* Make 'at' the current location (a new row only when it changed). */
void tab_loc(tab_builder *tb, src_span at);

/* Rows that hold no code: a strategy's candidates (returns the first
   model_refs index and sets '*count'), an agent's rules (numbered in
   source order, check.c's numbering), and the declarations' own rows. */
uint32_t tab_model_refs(tab_builder *tb, ast *cands, uint32_t *count);
void tab_rules(tab_builder *tb, ast *target, uint32_t agent);
void tab_model(tab_builder *tb, sym *s);
/* Rows of 'targets' for 'fallback on' items ('on': their class masks);
   the first row, and '*count'. */
uint32_t tab_onfail(tab_builder *tb, ast *items, const uint32_t *on, uint32_t *count);
void tab_provider(tab_builder *tb, sym *s);
void tab_guardrail(tab_builder *tb, sym *s);

void tab_free(tab_builder *tb);

#endif
