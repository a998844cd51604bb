/* AST constructors and list helpers; see ast.h. */
#include <string.h>

#include "ast.h"

const char *const ast_binop_names[] = {
    "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches",
    "+", "-", "*", "/"
};

ast *ast_new(arena *a, ast_kind kind, src_span at)
{
    ast *n = arena_alloc(a, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->at = at;
    n->ext = RV_NONE;
    if (kind >= T_CHEAPEST && kind <= T_ROUTE) {
        if (!(n->u.t = arena_alloc(a, sizeof *n->u.t)))
            return NULL;
    } else if (kind == N_ITEM || kind == N_REQITEM) {
        if (!(n->u.item = arena_alloc(a, sizeof *n->u.item)))
            return NULL;
    } else if (kind >= D_CONST && kind <= D_TEST) {
        if (!(n->u.decl = arena_alloc(a, sizeof *n->u.decl)))
            return NULL;
    } else if (kind == N_RULE) {
        if (!(n->u.rule = arena_alloc(a, sizeof *n->u.rule)))
            return NULL;
    } else if (kind == N_GIVEN) {
        if (!(n->u.given = arena_alloc(a, sizeof *n->u.given)))
            return NULL;
    }
    return n;
}

ast *ast_append(ast *head, ast *tail)
{
    if (!head)
        return tail;
    ast *p = head;
    while (p->next)
        p = p->next;
    p->next = tail;
    return head;
}

unsigned ast_count(const ast *list)
{
    unsigned n = 0;
    for (; list; list = list->next)
        n++;
    return n;
}

src_span ast_name_span(const ast *e, ast_pos p, const char *name)
{
    src_span s = { e->at.file, p.line, p.col, p.line, p.col + (uint32_t)strlen(name) };
    return s;
}

ast_pos ast_pos_of(src_span at)
{
    ast_pos p = { at.line, at.col };
    return p;
}
