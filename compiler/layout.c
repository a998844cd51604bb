/* The printer of routec fmt; see layout.h.

   One pass over the elements builds lines: each token either continues
   the current line or starts a new one, for one of four reasons (brk()):
   it starts a unit, it is a '}', it stood on a new line in the source
   inside a unit (a continuation, kept and indented four spaces per open
   bracket, at least one level), or none of these (same line).  A second
   pass aligns the one-line units (align()), a third writes the text.

   Blank lines: at most one in a row, none at the start or end of the
   file, after a '{', before a '}' or inside a unit; where the source had
   one between two units or comments, one is kept; and a declaration with
   a body is always set off from its neighbours by one.

   Alignment: a unit's one-line form is a row of cells (an item's name and
   value; a rule's condition, '-> target' and reason).  Rows of the same
   shape at the same indentation, not separated by another line of code
   (comments may come between, and blank lines too inside a block), form
   a group; within a group cell k is padded to the widest cell k of the
   rows in which it is not the last cell, and trailing comments line up
   after the longest row that has one.  A row with a cell wider than
   ALIGN_CELL_MAX (before its last) is too long to line up with its
   neighbours: it is written with single spaces and the others align among
   themselves across it (as rustfmt's alignment thresholds do), so one
   long rule does not push its neighbours' arrows far to the right; a row
   whose code is longer than ALIGN_CODE_MAX neither sets nor follows the
   column of the trailing comments.  What is too long depends only on the
   text of the cells, never on padding, so the layout stays a fixed
   point. */
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "mem.h"
#include "parse.h"
#include "parser.h"
#include "textbuf.h"

#define MAXCELL 6
#define ALIGN_CELL_MAX 48    /* the widest cell that sets a column */
#define ALIGN_CODE_MAX 96    /* the longest code that sets the comments' column */

enum { L_CODE, L_COMMENT, L_BLANK };
enum { B_SAME, B_UNIT, B_CLOSE, B_CONT };

typedef struct {
    uint32_t start, end;         /* the code, in 'text' */
    uint32_t cell[MAXCELL];      /* where cells 1.. start in 'text' */
    uint32_t pad[MAXCELL];       /* width cell k is padded to (0: none) */
    uint32_t cmt_col;            /* width the code is padded to before the trailing comment */
    uint32_t indent;
    uint32_t unit;               /* the unit whose only line this is, or LAY_NONE */
    uint32_t cmt;                /* the element of the comment (trailing, or the line's), or LAY_NONE */
    uint8_t kind, ncell;
} line;

typedef struct {
    uint32_t indent, first_line;
    int32_t depth;               /* '(' and '[' open in the unit */
    uint8_t multi;               /* takes more than one line */
} ustate;

typedef struct { uint32_t open_indent, saved_unit; } block;

/* A growing text. */
typedef struct {
    const char *src;
    const lay_elem *el;
    size_t n;
    const lay_unit *units;
    ustate *us;
    line *ln;
    size_t nln, capln;
    tb_buf text;                   /* the code of the lines */
    block *bs;
    size_t nbs, capbs;
    uint32_t *defer;             /* comments written before a '{': they go after it */
    size_t ndefer, capdefer;
    uint32_t cu;                 /* the innermost unit being written */
    uint32_t prev;               /* the previous token */
    uint32_t top;                /* the last top-level declaration begun */
    uint32_t next_cache;         /* the token after the comments being placed */
    int open;                    /* the last line is a code line being written */
    int block_start;             /* the innermost block has no line yet */
    int gap_first;               /* the next line at top level is the first after a declaration */
    int oom;
} lay;

/* ---------------------------------------------------------------- building lines */

static void put(lay *L, const char *s, size_t n)
{
    tb_put(&L->text, s, n);
    L->oom |= L->text.oom;
    if (L->nln)
        L->ln[L->nln - 1].end = (uint32_t)L->text.len;
}

static line *new_line(lay *L, int kind, uint32_t indent)
{
    L->open = 0;
    if (L->oom || MEM_GROW(L->ln, L->nln, L->capln)) {
        L->oom = 1;
        return NULL;
    }
    line *l = &L->ln[L->nln++];
    memset(l, 0, sizeof *l);
    l->kind = (uint8_t)kind;
    l->indent = indent;
    l->unit = l->cmt = LAY_NONE;
    l->start = l->end = (uint32_t)L->text.len;
    l->ncell = kind == L_CODE;
    L->open = kind == L_CODE;
    return l;
}

static void blank(lay *L)
{
    if (L->nln && L->ln[L->nln - 1].kind != L_BLANK)
        new_line(L, L_BLANK, 0);
}

static void comment_line(lay *L, uint32_t indent, uint32_t e)
{
    line *l = new_line(L, L_COMMENT, indent);
    if (l)
        l->cmt = e;
    L->block_start = 0;
}

static uint32_t inner_indent(const lay *L)
{
    return L->nbs ? L->bs[L->nbs - 1].open_indent + 2 : 0;
}

static void flush_deferred(lay *L)
{
    for (size_t k = 0; k < L->ndefer; k++)
        comment_line(L, inner_indent(L), L->defer[k]);
    L->ndefer = 0;
}

/* ---------------------------------------------------------------- decisions */

static int is_closer(int k) { return k == ')' || k == ']'; }

/* Why token 'i' starts a line, if it does. */
static int brk(const lay *L, uint32_t i)
{
    const lay_elem *e = &L->el[i];
    if (L->prev == LAY_NONE || e->unit != LAY_NONE)
        return B_UNIT;
    if (e->kind == '}')
        return L->el[L->prev].kind == '{' && L->prev + 1 == i && !L->ndefer ? B_SAME : B_CLOSE;
    if (e->kind == '{')
        return B_SAME;
    return i - L->prev > 1 || e->nl ? B_CONT : B_SAME;   /* (a comment between them ends its line) */
}

/* The indentation of a continuation line that starts with token 'i':
   four spaces past its unit's per bracket open (a closing bracket counts
   as closed), at least four unless it closes a bracket. */
static uint32_t cont_indent(const lay *L, uint32_t i)
{
    if (L->cu == LAY_NONE)
        return inner_indent(L) + 4;
    int32_t d = L->us[L->cu].depth;
    if (is_closer(L->el[i].kind))
        d = d > 0 ? d - 1 : 0;
    else if (d < 1)
        d = 1;
    return L->us[L->cu].indent + 4 * (uint32_t)d;
}

static int is_number(int k) { return k == INTLIT || k == NUMLIT; }

/* One space between tokens 'a' and 'b' on a line, or none. */
static int space_between(const lay *L, uint32_t a, uint32_t b)
{
    int ka = L->el[a].kind, kb = L->el[b].kind;
    if (kb == ')' || kb == ']' || kb == ',')
        return 0;
    if (kb == '.')
        return is_number(ka);   /* '5 .x' stays apart: '5.x' would read as another number one day */
    if (ka == '(' || ka == '[' || ka == '.')
        return 0;
    if ((L->el[a].flags & LAY_NEG) || (L->el[b].flags & LAY_CALL))
        return 0;
    if (ka == '{' && kb == '}')
        return 0;
    return 1;
}

/* Blank line before a line that starts a unit or holds a comment before
   one, at top level or in a block ('nl': newlines before it in the
   source; 'next': the unit's first token, or LAY_NONE at the end). */
static void unit_gap(lay *L, unsigned nl, uint32_t next)
{
    int want = nl >= 2 && !L->block_start;
    if (!L->nbs && L->gap_first) {
        uint32_t u = next == LAY_NONE ? LAY_NONE : L->el[next].unit;
        if ((L->top != LAY_NONE && L->units[L->top].block) || (u != LAY_NONE && L->units[u].block))
            want = 1;
        L->gap_first = 0;
    }
    if (want)
        blank(L);
}

/* The token after the comment 'i', or LAY_NONE at the end (comments
   come in runs: each run's next token is looked for once). */
static uint32_t next_token(lay *L, uint32_t i)
{
    if (L->next_cache == LAY_NONE || L->next_cache <= i) {
        uint32_t j = i + 1;
        while (j < L->n && L->el[j].kind == LAY_COMMENT)
            j++;
        L->next_cache = j;   /* (n at the end) */
    }
    return L->next_cache < L->n ? L->next_cache : LAY_NONE;
}

static void place_comment(lay *L, uint32_t i)
{
    const lay_elem *e = &L->el[i];
    if (!e->nl && L->open && L->ln[L->nln - 1].cmt == LAY_NONE && !L->ndefer) {
        L->ln[L->nln - 1].cmt = i;   /* at the end of the line it follows */
        return;
    }
    uint32_t j = next_token(L, i);
    int b = j == LAY_NONE ? B_UNIT : brk(L, j);
    if (b == B_SAME) {
        /* before a '{': written after it, first in the block */
        if (MEM_GROW(L->defer, L->ndefer, L->capdefer)) {
            L->oom = 1;
            return;
        }
        L->defer[L->ndefer++] = i;
        return;
    }
    if (b == B_CONT) {
        comment_line(L, cont_indent(L, j), i);
        if (L->cu != LAY_NONE)
            L->us[L->cu].multi = 1;
        return;
    }
    if (b == B_UNIT)
        unit_gap(L, e->nl, j);
    else if (e->nl >= 2 && !L->block_start && !L->ndefer)
        blank(L);
    flush_deferred(L);
    comment_line(L, inner_indent(L), i);
}

/* After a '}': back in the unit that opened the block, which takes more
   than one line unless the block was '{}'. */
static void pop_block(lay *L, int multi)
{
    if (!L->nbs)
        return;
    L->cu = L->bs[--L->nbs].saved_unit;
    if (L->cu != LAY_NONE && multi)
        L->us[L->cu].multi = 1;
    L->block_start = 0;
}

/* The text of token 'i'; a token count's inner blanks are one space. */
static void put_token(lay *L, uint32_t i)
{
    const lay_elem *e = &L->el[i];
    const char *s = L->src + e->off;
    size_t n = e->end - e->off;
    if (e->kind == TOKLIT && n > 6) {
        size_t k = n - 6;                 /* "tokens" ends it */
        while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r'))
            k--;
        put(L, s, k);
        put(L, " tokens", 7);
        return;
    }
    put(L, s, n);
}

static void place_token(lay *L, uint32_t i)
{
    const lay_elem *e = &L->el[i];
    int b = brk(L, i);
    if (b == B_UNIT) {
        unit_gap(L, e->nl, i);
        flush_deferred(L);
        uint32_t indent = inner_indent(L);
        line *l = new_line(L, L_CODE, indent);
        if (!l)
            return;
        L->block_start = 0;
        L->cu = e->unit;
        if (e->unit != LAY_NONE) {
            ustate *u = &L->us[e->unit];
            u->indent = indent;
            u->first_line = (uint32_t)(L->nln - 1);
            u->depth = 0;
            l->unit = e->unit;
            if (!L->nbs) {
                L->top = e->unit;
                L->gap_first = 1;
            }
        }
    } else if (b == B_CLOSE) {
        flush_deferred(L);
        uint32_t indent = L->nbs ? L->bs[L->nbs - 1].open_indent : 0;
        if (!new_line(L, L_CODE, indent))
            return;
    } else if (b == B_CONT) {
        uint32_t indent = cont_indent(L, i);
        if (!new_line(L, L_CODE, indent))
            return;
        if (L->cu != LAY_NONE)
            L->us[L->cu].multi = 1;
    } else {
        line *l = &L->ln[L->nln - 1];
        if ((e->flags & LAY_CELL) && L->cu != LAY_NONE && L->us[L->cu].first_line == L->nln - 1 &&
            l->ncell < MAXCELL)
            l->cell[l->ncell++ - 1] = (uint32_t)L->text.len;   /* the space is the cell's padding */
        else if (space_between(L, L->prev, i))
            put(L, " ", 1);
    }
    put_token(L, i);
    if (L->oom)
        return;
    L->open = 1;
    L->prev = i;
    if (L->cu != LAY_NONE && (e->kind == '(' || e->kind == '['))
        L->us[L->cu].depth++;
    else if (L->cu != LAY_NONE && is_closer(e->kind))
        L->us[L->cu].depth--;
    if (e->kind == '{') {
        if (MEM_GROW(L->bs, L->nbs, L->capbs)) {
            L->oom = 1;
            return;
        }
        L->bs[L->nbs].open_indent = L->ln[L->nln - 1].indent;
        L->bs[L->nbs++].saved_unit = L->cu;
        L->cu = LAY_NONE;
        L->block_start = 1;
    } else if (e->kind == '}') {
        pop_block(L, b == B_CLOSE);
    }
}

/* ---------------------------------------------------------------- alignment */

/* Display width: code points (UTF-8 continuation bytes take no column). */
static uint32_t width(const char *s, size_t n)
{
    uint32_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

static void cell_span(const line *l, unsigned k, uint32_t *a, uint32_t *b)
{
    *a = k == 0 ? l->start : l->cell[k - 1];
    *b = k + 1 < l->ncell ? l->cell[k] : l->end;
}

static int eligible(const lay *L, const line *l)
{
    return l->kind == L_CODE && l->unit != LAY_NONE && !L->us[l->unit].multi &&
           L->units[l->unit].shape != LAY_SH_NONE;
}

/* The width of line l's code as written, cells padded if 'al'. */
static uint32_t code_width(const lay *L, const line *l, int al)
{
    uint32_t w = 0;
    for (unsigned k = 0; k < l->ncell; k++) {
        uint32_t a, b;
        cell_span(l, k, &a, &b);
        uint32_t cw = width(L->text.s + a, b - a);
        w += k + 1 < l->ncell ? 1 + (al && l->pad[k] > cw ? l->pad[k] : cw) : cw;
    }
    return w;
}

/* A row with a cell before its last wider than ALIGN_CELL_MAX takes no
   part in its group's alignment: its cells are written with one space. */
static int too_wide(const lay *L, const line *l)
{
    for (unsigned k = 0; k + 1 < l->ncell; k++) {
        uint32_t a, b;
        cell_span(l, k, &a, &b);
        if (width(L->text.s + a, b - a) > ALIGN_CELL_MAX)
            return 1;
    }
    return 0;
}

/* Pad cell k of the rows (in 'g', n of them) to the widest cell k of the
   rows in which it is not the last cell; then line up their trailing
   comments after the longest code among the rows that have one, leaving
   out code longer than ALIGN_CODE_MAX (whose comment follows two
   spaces). */
static void align_group(lay *L, const uint32_t *g, size_t n)
{
    for (unsigned k = 0; k + 1 < MAXCELL; k++) {
        uint32_t w = 0;
        for (size_t i = 0; i < n; i++) {
            const line *l = &L->ln[g[i]];
            if (l->ncell <= k + 1)
                continue;
            uint32_t a, b;
            cell_span(l, k, &a, &b);
            uint32_t cw = width(L->text.s + a, b - a);
            if (cw > w)
                w = cw;
        }
        for (size_t i = 0; i < n; i++)
            if (L->ln[g[i]].ncell > k + 1)
                L->ln[g[i]].pad[k] = w;
    }
    uint32_t col = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t w = L->ln[g[i]].cmt != LAY_NONE ? code_width(L, &L->ln[g[i]], 1) : 0;
        if (w > col && w <= ALIGN_CODE_MAX)
            col = w;
    }
    for (size_t i = 0; i < n; i++)
        if (code_width(L, &L->ln[g[i]], 1) <= ALIGN_CODE_MAX)
            L->ln[g[i]].cmt_col = col;
}

static int align(lay *L)
{
    uint32_t *g = mem_malloc((L->nln + 1) * sizeof *g);
    if (!g)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i <= L->nln; i++) {
        const line *l = i < L->nln ? &L->ln[i] : NULL;
        const line *first = n ? &L->ln[g[0]] : NULL;
        /* comments do not split a group, nor blank lines inside a block;
           at top level a blank line starts a new paragraph */
        if (l && l->kind == L_BLANK && first && L->units[first->unit].top) {
            align_group(L, g, n);
            n = 0;
            continue;
        }
        if (l && l->kind != L_CODE)
            continue;
        int fits = l && eligible(L, l) &&
                   (!first || (L->units[first->unit].shape == L->units[l->unit].shape &&
                               first->indent == l->indent));
        if (!fits && n) {
            align_group(L, g, n);
            n = 0;
        }
        if (l && eligible(L, l) && !too_wide(L, l))
            g[n++] = (uint32_t)i;
    }
    free(g);
    return 0;
}

/* ---------------------------------------------------------------- writing */

static void ospaces(tb_buf *o, uint32_t k)
{
    static const char sp[] = "                                ";
    while (k) {
        uint32_t m = k < sizeof sp - 1 ? k : (uint32_t)(sizeof sp - 1);
        tb_put(o, sp, m);
        k -= m;
    }
}

static void write_line(const lay *L, const line *l, tb_buf *o)
{
    if (l->kind == L_BLANK) {
        tb_put(o, "\n", 1);
        return;
    }
    ospaces(o, l->indent);
    if (l->kind == L_CODE) {
        int al = eligible(L, l);
        for (unsigned k = 0; k < l->ncell; k++) {
            uint32_t a, b;
            cell_span(l, k, &a, &b);
            tb_put(o, L->text.s + a, b - a);
            if (k + 1 == l->ncell)
                break;
            uint32_t w = width(L->text.s + a, b - a);
            ospaces(o, 1 + (al && l->pad[k] > w ? l->pad[k] - w : 0));
        }
        if (l->cmt != LAY_NONE) {
            uint32_t w = code_width(L, l, al);
            ospaces(o, 2 + (al && l->cmt_col > w ? l->cmt_col - w : 0));
        }
    }
    if (l->cmt != LAY_NONE) {
        const lay_elem *c = &L->el[l->cmt];
        tb_put(o, L->src + c->off, c->end - c->off);
    }
    tb_put(o, "\n", 1);
}

int lay_print(const char *src, const lay_elem *el, size_t n, const lay_unit *units, size_t nunit,
              char **out, size_t *outlen)
{
    lay L = { .src = src, .el = el, .n = n, .units = units, .cu = LAY_NONE, .prev = LAY_NONE,
              .top = LAY_NONE, .next_cache = LAY_NONE };
    *out = NULL;
    *outlen = 0;
    L.us = mem_calloc(nunit + 1, sizeof *L.us);
    if (!L.us)
        return -1;
    for (uint32_t i = 0; i < n && !L.oom; i++) {
        if (el[i].kind == LAY_COMMENT)
            place_comment(&L, i);
        else
            place_token(&L, i);
    }
    tb_buf o = { 0 };
    if (!L.oom && align(&L) == 0) {
        for (size_t i = 0; i < L.nln; i++)
            write_line(&L, &L.ln[i], &o);
        tb_put(&o, "", 0);
    } else {
        o.oom = 1;
    }
    free(L.us);
    free(L.ln);
    free(L.text.s);
    free(L.bs);
    free(L.defer);
    if (o.oom || (!o.s && n)) {
        free(o.s);
        return -1;
    }
    if (!o.s) {   /* nothing at all: an empty text */
        o.s = mem_malloc(1);
        if (!o.s)
            return -1;
        o.s[0] = 0;
    }
    *out = o.s;
    *outlen = o.len;
    return 0;
}
