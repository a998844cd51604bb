/* Implication between rule conditions (the shadowed-rule check).  See
   imply.c. */
#ifndef RV_IMPLY_H
#define RV_IMPLY_H

#include "compiler.h"

/* Structural hash and equality of checked expressions: names by what they
   resolved to, literals by value. */
uint32_t imply_hash(const ast *e);
int imply_equal(const ast *a, const ast *b);

#define IMPLY_MAXATOMS 8

/* One conjunct of a condition, with the hashes the index files it by. */
typedef struct {
    ast *e;
    uint32_t full;     /* hash of the whole atom */
    uint32_t subject;  /* hash of its left side, 0 for atoms only equality can imply */
} imply_atom;

/* A rule's condition as a conjunction of at most IMPLY_MAXATOMS atoms.
   'many': it had more (it is not searched for shadows); 'loose': it is
   compared with every later rule instead of being filed by key (too many
   atoms, or an 'or' among them). */
typedef struct { imply_atom *v; uint32_t n; int many, loose; } imply_conj;

/* The conjuncts of 'cond' (atoms in the compilation's arena); -1 when
   memory runs out. */
int imply_conj_of(rv_compiler *c, ast *cond, imply_conj *cj);

/* Two atoms of 'cj' that can never hold together ('images > 0' and
   'images < 0', 'x == "a"' and 'x == "b"', 'x == k' and 'x not in
   [k, ...]', 'c' and 'not c'): 1 and the two in clash[0..1], else 0. */
int imply_contradiction(rv_compiler *c, const imply_conj *cj, ast *clash[2]);

/* Is 'b' true exactly when 'a' is false, for every request -- missing
   values included ('x <= k' and 'x > k' only when x cannot be missing)? */
int imply_complement(rv_compiler *c, ast *a, ast *b);

/* The earlier rules of one block, filed by their atoms' keys.  Zero-
   initialize; free with imply_free(). */
typedef struct { uint32_t key, next; ast *rule; imply_conj cj; } imply_entry;
typedef struct {
    imply_entry *v;
    uint32_t n, cap;
    uint32_t *bucket, nbucket;     /* entry index + 1 */
    uint32_t *loose, nloose, cap_loose;
    uint32_t *seen, nseen, cap_seen;  /* set of every atom key filed so far (0 = empty slot) */
} imply_index;

/* File 'rule' (its number in rule->ext) with condition 'cj'; the index
   keeps 'cj' (its atoms stay in the arena).  -1 when memory runs out. */
int imply_add(imply_index *ix, ast *rule, imply_conj cj);
/* The earliest filed rule that 'later' implies, or NULL. */
ast *imply_find_shadow(rv_compiler *c, imply_index *ix, const imply_conj *later);
void imply_free(imply_index *ix);

#endif
