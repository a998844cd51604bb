/* The printer of routec fmt: from a source's tokens and comments, marked
   with what the parse knows about them, to the formatted text.

   compiler/fmt.c reads the source twice -- the parser for the tree, the
   same scanner for the tokens -- and marks the tokens: where each unit
   starts (a declaration, an item, a guardrail action, a test line, a
   rule), where its one-line form splits into aligned cells, which '(' is a
   call's and which '-' is unary.  This file only decides white space:
   line breaks, indentation, blank lines, alignment.  It never reorders,
   adds or drops a token or a comment; a trailing comment written before a
   '{' moves after it, since '{' always ends its line. */
#ifndef RV_LAYOUT_H
#define RV_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAY_NONE UINT32_MAX
#define LAY_COMMENT (-1)         /* lay_elem.kind of a comment */

enum {
    LAY_CALL = 1,      /* a call's '(': no space before it */
    LAY_NEG = 2,       /* a unary '-': no space after it */
    LAY_CELL = 4       /* starts a cell of its unit's one-line form */
};

/* A token or a comment, in source order.  'kind' is the scanner's token
   kind (a character or a code of build/gen/parser.h) or LAY_COMMENT. */
typedef struct {
    uint32_t off, end;   /* bytes of the source; a comment without its trailing blanks */
    uint32_t unit;       /* the unit this token starts, or LAY_NONE */
    int16_t kind;
    uint8_t flags;       /* LAY_* */
    uint8_t nl;          /* newlines since the previous element ended, at most 2 */
} lay_elem;

/* How a unit's one-line form aligns with its neighbours: lines of the
   same shape at the same indentation align cell by cell. */
typedef enum {
    LAY_SH_NONE, LAY_SH_IMPORT, LAY_SH_CONST, LAY_SH_ITEM, LAY_SH_GACT, LAY_SH_RULE,
    LAY_SH_REQ, LAY_SH_REQPATH
} lay_shape;

typedef struct {
    uint8_t shape;       /* lay_shape */
    uint8_t top;         /* a top-level declaration */
    uint8_t block;       /* ... with a body in braces */
} lay_unit;

/* Print the elements 'el' (n of them, of 'src') with their units.  All
   are borrowed.  Returns 0 with *out malloc'd (NUL-terminated, *outlen
   bytes; the caller frees it), or -1 when out of memory. */
int lay_print(const char *src, const lay_elem *el, size_t n, const lay_unit *units, size_t nunit,
              char **out, size_t *outlen);

#endif
