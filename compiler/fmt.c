/* routec fmt: read a source, mark its tokens from the parse, print it
   (compiler/layout.c) and check the result.  See fmt.h.

   The source is read twice.  The parser builds the tree, which says where
   each unit starts and splits (mark_*); the same flex scanner then lists
   the tokens with their positions, and the comments are what lies between
   them (the scanner skips only blanks, newlines and comments).  Nothing
   is formatted unless the parse had no error at all: error recovery skips
   text, and a formatter must not.

   The check: the formatted text is scanned again, and its tokens and
   comments must be those of the source, in order, with the same texts
   (a token count's inner blanks aside).  The parser sees tokens, never
   white space, so the same tokens are the same tree and the same
   program.

   The tree is walked with an explicit work list, not by recursion: route
   blocks nest inside rules' call settings without a bound of their own. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "layout.h"
#include "mem.h"
#include "parse.h"
#include "parser.h"
#define YYSTYPE RV_YYSTYPE
#define YYLTYPE src_span
#include "lexer.h"

typedef struct {
    const src_file *f;
    lay_elem *el;
    size_t n, cap;
    lay_unit *units;
    size_t nunit, capunit;
    int bad;               /* a node's position matched no token */
    int oom;
} fmt_state;

static void fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- elements */

static int add_elem(fmt_state *s, int kind, uint32_t off, uint32_t end, unsigned nl)
{
    if (MEM_GROW(s->el, s->n, s->cap)) {
        s->oom = 1;
        return -1;
    }
    lay_elem *e = &s->el[s->n++];
    e->off = off;
    e->end = end;
    e->unit = LAY_NONE;
    e->kind = (int16_t)kind;
    e->flags = 0;
    e->nl = (uint8_t)(nl > 2 ? 2 : nl);
    return 0;
}

/* The comments in text[a, b), which holds only blanks, newlines and
   comments.  '*nl' counts the newlines since the last element. */
static int add_gap(fmt_state *s, const char *text, uint32_t a, uint32_t b, unsigned *nl)
{
    for (uint32_t i = a; i < b; i++) {
        if (text[i] == '\n') {
            (*nl)++;
        } else if (text[i] == '#') {
            uint32_t e = i;
            while (e < b && text[e] != '\n')
                e++;
            uint32_t t = e;
            while (t > i && (text[t - 1] == ' ' || text[t - 1] == '\t' || text[t - 1] == '\r'))
                t--;
            if (add_elem(s, LAY_COMMENT, i, t, *nl))
                return -1;
            *nl = 0;
            i = e - 1;
        }
    }
    return 0;
}

static uint32_t offset_of(const src_file *f, uint32_t line, uint32_t col)
{
    if (line == 0 || line > f->nline || col == 0)
        return UINT32_MAX;
    return f->line_start[line - 1] + col - 1;
}

/* Scan text[0, len) (followed by two NULs, as the scanner wants) into
   tokens and comments.  'pc' is a fresh parse context.  0, or -1 when the
   scanner reported an error or ran out of memory. */
static int scan(fmt_state *s, parse_ctx *pc, char *text, size_t len)
{
    yyscan_t sc;
    if (rv_yylex_init_extra(pc, &sc)) {
        s->oom = 1;
        return -1;
    }
    size_t bom = parse_bom(text, len);   /* (white space: not written back) */
    YY_BUFFER_STATE b = len <= INT_MAX - 2 ? rv_yy_scan_buffer(text + bom, len - bom + 2, sc) : NULL;
    if (!b) {
        rv_yylex_destroy(sc);
        s->oom = 1;
        return -1;
    }
    unsigned errs = pc->diag->nerr, nl = 0;
    uint32_t last = (uint32_t)bom;
    src_span loc = { pc->file, 1, 1 + (uint32_t)bom, 1, 1 + (uint32_t)bom };
    RV_YYSTYPE v;
    int k;
    while ((k = rv_yylex(&v, &loc, sc)) != 0) {
        uint32_t off = offset_of(s->f, loc.line, loc.col);
        if (off == UINT32_MAX || off < last || off + (loc.end_col - loc.col) > len) {
            s->bad = 1;
            break;
        }
        if (add_gap(s, text, last, off, &nl) || add_elem(s, k, off, off + (loc.end_col - loc.col), nl))
            break;
        nl = 0;
        last = s->el[s->n - 1].end;
    }
    if (!s->oom && !s->bad && k == 0)
        add_gap(s, text, last, (uint32_t)len, &nl);
    rv_yy_delete_buffer(b, sc);
    rv_yylex_destroy(sc);
    if (pc->oom)
        s->oom = 1;
    return s->oom || s->bad || k != 0 || pc->diag->nerr != errs ? -1 : 0;
}

/* ---------------------------------------------------------------- marks from the tree */

/* The first element at or after byte 'off'. */
static size_t first_at(const fmt_state *s, uint32_t off)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->el[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The token starting at (line, col), or LAY_NONE. */
static uint32_t elem_at(fmt_state *s, uint32_t line, uint32_t col)
{
    uint32_t off = offset_of(s->f, line, col);
    size_t i = first_at(s, off);
    if (i < s->n && s->el[i].off == off && s->el[i].kind != LAY_COMMENT)
        return (uint32_t)i;
    s->bad = 1;
    return LAY_NONE;
}

/* The first token at or after the end of span 'at'. */
static uint32_t token_after(fmt_state *s, src_span at)
{
    size_t i = first_at(s, offset_of(s->f, at.end_line, at.end_col));
    while (i < s->n && s->el[i].kind == LAY_COMMENT)
        i++;
    if (i < s->n)
        return (uint32_t)i;
    s->bad = 1;
    return LAY_NONE;
}

static uint32_t next_tok(const fmt_state *s, uint32_t i)
{
    if (i == LAY_NONE)
        return LAY_NONE;
    for (i++; i < s->n && s->el[i].kind == LAY_COMMENT; i++)
        ;
    return i < s->n ? i : LAY_NONE;
}

static uint32_t prev_tok(const fmt_state *s, uint32_t i)
{
    if (i == LAY_NONE)
        return LAY_NONE;
    while (i > 0 && s->el[--i].kind == LAY_COMMENT)
        ;
    return s->el[i].kind == LAY_COMMENT ? LAY_NONE : i;
}

static void flag(fmt_state *s, uint32_t i, int f)
{
    if (i == LAY_NONE)
        s->bad = 1;
    else
        s->el[i].flags |= (uint8_t)f;
}

/* A unit of 'shape' starting at token 'i'; returns 'i'. */
static uint32_t unit(fmt_state *s, uint32_t i, lay_shape shape, int top, int block)
{
    if (i == LAY_NONE || s->el[i].unit != LAY_NONE) {
        s->bad = 1;
        return LAY_NONE;
    }
    if (MEM_GROW(s->units, s->nunit, s->capunit)) {
        s->oom = 1;
        return LAY_NONE;
    }
    lay_unit *u = &s->units[s->nunit];
    u->shape = (uint8_t)shape;
    u->top = (uint8_t)top;
    u->block = (uint8_t)block;
    s->el[i].unit = (uint32_t)s->nunit++;
    return i;
}

/* The work list: a node and what it is where it stands. */
typedef enum { W_DECL, W_ITEM, W_GACT, W_TITEM, W_REQ, W_RULE, W_NODE } wkind;
typedef struct { const ast *n; wkind k; } work;
typedef struct { work *v; size_t n, cap; int oom; } worklist;

static void push(worklist *w, const ast *n, wkind k)
{
    if (!n)
        return;
    if (MEM_GROW(w->v, w->n, w->cap)) {
        w->oom = 1;
        return;
    }
    w->v[w->n].n = n;
    w->v[w->n++].k = k;
}

static void push_list(worklist *w, const ast *n, wkind k)
{
    for (; n; n = n->next)
        push(w, n, k);
}

static uint32_t at(fmt_state *s, const ast *n)
{
    return elem_at(s, n->at.line, n->at.col);
}

/* decl -> import STRING | const NAME = expr | KIND NAME ... { ... } */
static void mark_decl(fmt_state *s, worklist *w, const ast *d)
{
    int body = d->kind >= D_PROVIDER && d->kind <= D_TEST;
    lay_shape sh = d->kind == D_IMPORT ? LAY_SH_IMPORT : d->kind == D_CONST ? LAY_SH_CONST : LAY_SH_NONE;
    uint32_t i = unit(s, at(s, d), sh, 1, body);
    if (d->kind == D_IMPORT)
        return;
    if (d->kind == D_CONST) {
        while (i != LAY_NONE && s->el[i].kind != '=')
            i = next_tok(s, i);
        flag(s, i, LAY_CELL);
        push(w, d->u.decl->from, W_NODE);
        return;
    }
    wkind k = d->kind == D_GUARDRAIL ? W_GACT : d->kind == D_TEST ? W_TITEM : W_ITEM;
    push_list(w, d->u.decl->items, k);
}

/* item -> name value...: the value is the second cell */
static void mark_item(fmt_state *s, worklist *w, const ast *n)
{
    uint32_t i = unit(s, at(s, n), LAY_SH_ITEM, 0, 0);
    flag(s, next_tok(s, i), LAY_CELL);
    push_list(w, n->u.item->value, W_NODE);
    push_list(w, n->u.item->value2, W_NODE);
}

/* deny|redact DIR matches EXPR ["text" | with "text"] | limit DIR EXPR:
   cells: the action, the direction, the rest, the text */
static void mark_gaction(fmt_state *s, worklist *w, const ast *n)
{
    uint32_t i = unit(s, at(s, n), LAY_SH_GACT, 0, 0);
    uint32_t dir = next_tok(s, i);
    flag(s, dir, LAY_CELL);
    flag(s, next_tok(s, dir), LAY_CELL);
    if (n->u.ga.text) {
        uint32_t t = at(s, n->u.ga.text);
        flag(s, n->u.ga.kind == RV_GA_REDACT ? prev_tok(s, t) : t, LAY_CELL);
    }
    push(w, n->u.ga.value, W_NODE);
}

/* test items: request NAME { ... } | expect EXPR | given ... (a given's
   node starts after the keyword) */
static void mark_titem(fmt_state *s, worklist *w, const ast *n)
{
    if (n->kind == N_GIVEN) {
        unit(s, prev_tok(s, at(s, n)), LAY_SH_NONE, 0, 0);
        push(w, n->u.given->what, W_NODE);
        push(w, n->u.given->confidence, W_NODE);
        return;
    }
    unit(s, at(s, n), LAY_SH_NONE, 0, 0);
    if (n->u.item->value2)
        push_list(w, n->u.item->value2, W_REQ);   /* a request's items */
    else
        push(w, n->u.item->value, W_NODE);
}

/* request items: NAME EXPR (cells: name, value) | NAME . FIELD = EXPR
   (cells: the path, '= value') */
static void mark_reqitem(fmt_state *s, worklist *w, const ast *n)
{
    int path = n->u.item->path != NULL;
    uint32_t i = unit(s, at(s, n), path ? LAY_SH_REQPATH : LAY_SH_REQ, 0, 0);
    i = next_tok(s, i);
    if (path)
        i = next_tok(s, next_tok(s, i));
    flag(s, i, LAY_CELL);
    push(w, n->u.item->value, W_NODE);
}

/* rule -> when COND -> TARGET ["reason"] [{ items }] | otherwise -> ...:
   cells: 'when COND', '-> TARGET', the reason */
static void mark_rule(fmt_state *s, worklist *w, const ast *n)
{
    const ast_rule *r = n->u.rule;
    uint32_t i = unit(s, at(s, n), LAY_SH_RULE, 0, 0);
    flag(s, r->cond ? token_after(s, r->cond->at) : next_tok(s, i), LAY_CELL);
    if (r->reason)
        flag(s, at(s, r->reason), LAY_CELL);
    push(w, r->cond, W_NODE);
    push(w, r->target, W_NODE);
    push_list(w, r->opts, W_ITEM);
}

/* Expressions, targets and the pieces of items that are not units. */
static void mark_node(fmt_state *s, worklist *w, const ast *n)
{
    switch (n->kind) {
    case E_CALL:
        flag(s, next_tok(s, elem_at(s, n->u.call.fn_at.line, n->u.call.fn_at.col)), LAY_CALL);
        push_list(w, n->u.call.args, W_NODE);
        break;
    case E_NEG:
        /* the '-' is the token before the operand (whose span holds its parentheses) */
        flag(s, prev_tok(s, at(s, n->u.operand)), LAY_NEG);
        push(w, n->u.operand, W_NODE);
        break;
    case E_NOT: push(w, n->u.operand, W_NODE); break;
    case E_BINARY: push(w, n->u.bin.l, W_NODE); push(w, n->u.bin.r, W_NODE); break;
    case E_LIST: push_list(w, n->u.items, W_NODE); break;
    case E_MEMBER: if (!n->bare) push(w, n->u.member.obj, W_NODE); break;
    case T_CHEAPEST: case T_FASTEST: push(w, n->u.t->cond, W_NODE); break;
    case T_CASCADE: push(w, n->u.t->cond, W_NODE); push(w, n->u.t->check, W_NODE); break;
    case T_SPLIT: push_list(w, n->u.t->arms, W_NODE); push(w, n->u.t->cond, W_NODE); break;
    case T_HOOK: push(w, n->u.t->cond, W_NODE); push(w, n->u.t->dflt, W_NODE); break;
    case T_ROUTE: push_list(w, n->u.t->rules, W_RULE); break;
    case N_ARM: push(w, n->u.arm.share, W_NODE); push(w, n->u.arm.target, W_NODE); break;
    case N_BUDGET: push(w, n->u.budget.amount, W_NODE); break;
    case N_ITEM:   /* a price class after 'in' */
        push_list(w, n->u.item->value, W_NODE);
        push_list(w, n->u.item->value2, W_NODE);
        break;
    default: break;
    }
}

static int mark(fmt_state *s, const ast *decls)
{
    worklist w = { 0 };
    push_list(&w, decls, W_DECL);
    while (w.n && !w.oom && !s->oom) {
        work x = w.v[--w.n];
        switch (x.k) {
        case W_DECL: mark_decl(s, &w, x.n); break;
        case W_ITEM: mark_item(s, &w, x.n); break;
        case W_GACT: mark_gaction(s, &w, x.n); break;
        case W_TITEM: mark_titem(s, &w, x.n); break;
        case W_REQ: mark_reqitem(s, &w, x.n); break;
        case W_RULE: mark_rule(s, &w, x.n); break;
        case W_NODE: mark_node(s, &w, x.n); break;
        }
    }
    if (w.oom)
        s->oom = 1;
    free(w.v);
    return s->oom || s->bad ? -1 : 0;
}

/* ---------------------------------------------------------------- the check */

/* A text read by the front end: its file, diagnostics and arena.  Set
   up in place (the diagnostics point at 'set'); free with text_close(). */
typedef struct {
    src_set set;
    diag_ctx d;
    arena a;
    arena_strset names;
    int file;            /* index in 'set', or -1 (out of memory, or too large) */
} text_in;

static void text_open(text_in *t, const char *name, const char *text, size_t len)
{
    memset(t, 0, sizeof *t);
    diag_init(&t->d, &t->set);
    t->file = src_add(&t->set, name, name, text, len);
}

static parse_ctx text_ctx(text_in *t)
{
    parse_ctx pc = { .arena = &t->a, .diag = &t->d, .file = (uint32_t)t->file, .names = &t->names };
    return pc;
}

static void text_close(text_in *t)
{
    arena_strset_free(&t->names);
    arena_free(&t->a);
    diag_free(&t->d);
    src_free(&t->set);
}

/* Do tokens a (of text ta) and b (of tb) read the same? */
static int same_token(const lay_elem *a, const char *ta, const lay_elem *b, const char *tb)
{
    if (a->kind != b->kind)
        return 0;
    const char *p = ta + a->off, *pe = ta + a->end, *q = tb + b->off, *qe = tb + b->end;
    if (a->kind != TOKLIT)
        return pe - p == qe - q && !memcmp(p, q, (size_t)(pe - p));
    for (;; p++, q++) {   /* a token count: its blanks aside */
        while (p < pe && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        while (q < qe && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (p == pe || q == qe)
            return p == pe && q == qe;
        if (*p != *q)
            return 0;
    }
}

/* Scan the formatted text and compare it with the source's elements.
   Returns 0 when it reads the same. */
static int check_output(const fmt_state *s, const char *src, const char *out, size_t outlen,
                        char *err, size_t errlen)
{
    text_in in;
    text_open(&in, "<formatted>", out, outlen);
    fmt_state t = { 0 };
    int r = -1;
    if (in.file >= 0) {
        t.f = &in.set.files[in.file];
        parse_ctx pc = text_ctx(&in);
        if (scan(&t, &pc, in.set.files[in.file].text, outlen) == 0) {
            /* tokens with tokens, comments with comments: a comment
               written before a '{' is printed after it */
            size_t i = 0, j = 0, ci = 0, cj = 0;
            int ok = 1;
            while (ok) {
                while (i < s->n && s->el[i].kind == LAY_COMMENT)
                    i++;
                while (j < t.n && t.el[j].kind == LAY_COMMENT)
                    j++;
                if (i == s->n || j == t.n)
                    break;
                ok = same_token(&s->el[i++], src, &t.el[j++], out);
            }
            while (ok) {
                while (ci < s->n && s->el[ci].kind != LAY_COMMENT)
                    ci++;
                while (cj < t.n && t.el[cj].kind != LAY_COMMENT)
                    cj++;
                if (ci == s->n || cj == t.n)
                    break;
                const lay_elem *x = &s->el[ci++], *y = &t.el[cj++];
                ok = x->end - x->off == y->end - y->off && !memcmp(src + x->off, out + y->off, x->end - x->off);
            }
            if (ok && i == s->n && j == t.n && ci == s->n && cj == t.n)
                r = 0;
            else
                fail(err, errlen, "the formatted text would read differently (%s near byte %u of the source); "
                     "nothing is written (a defect of routec fmt)", ok && i == s->n && j == t.n ? "a comment" : "a token",
                     (unsigned)(ok && i == s->n && j == t.n ? (ci ? s->el[ci - 1].off : 0) : (i ? s->el[i - 1].off : 0)));
        } else if (t.oom) {
            fail(err, errlen, "out of memory");
        } else {
            fail(err, errlen, "the formatted text does not scan; nothing is written (a defect of routec fmt)");
        }
    } else {
        fail(err, errlen, "out of memory");
    }
    free(t.el);
    free(t.units);
    text_close(&in);
    return r;
}

/* ---------------------------------------------------------------- entry */

int fmt_source(const char *name, const char *text, size_t len, FILE *errs,
               char **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    text_in in;
    text_open(&in, name, text, len);
    fmt_state s = { 0 };
    int r = -1;
    if (in.file < 0) {
        fail(err, errlen, len > UINT32_MAX - 1 ? "the source is too large" : "out of memory");
        goto done;
    }
    src_file *f = &in.set.files[in.file];
    s.f = f;
    parse_ctx pc = text_ctx(&in);
    if (parse_check_utf8(&pc, f->text, f->len) == 0 && parse_source(&pc, f->text, f->len) == 0 && !pc.oom) {
        parse_ctx pc2 = text_ctx(&in);
        if (scan(&s, &pc2, f->text, f->len) == 0 && mark(&s, pc.head) == 0) {
            arena_free(&in.a);   /* the tree is no longer needed */
            char *o;
            size_t on;
            if (lay_print(f->text, s.el, s.n, s.units, s.nunit, &o, &on)) {
                fail(err, errlen, "out of memory");
            } else if (check_output(&s, f->text, o, on, err, errlen)) {
                free(o);
            } else {
                *out = o;
                *outlen = on;
                r = 0;
            }
        } else if (s.oom || pc2.oom) {
            fail(err, errlen, "out of memory");
        } else {
            fail(err, errlen, "the tokens and the tree disagree; nothing is written (a defect of routec fmt)");
        }
    } else if (pc.oom || in.d.oom) {
        fail(err, errlen, "out of memory");
    } else {
        diag_sort(&in.d);
        diag_print(&in.d, DIAG_TEXT, errs);
        r = 1;
    }
done:
    free(s.el);
    free(s.units);
    text_close(&in);
    return r;
}
