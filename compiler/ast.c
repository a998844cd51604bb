/* AST constructors and list helpers; see ast.h. */
#include "ast.h"

const char *const ast_binop_names[] = {
    "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "matches",
    "+", "-", "*", "/"
};

ast *ast_new(arena *a, ast_kind kind, src_span at)
{
    ast *n = arena_alloc(a, sizeof *n);
    if (n) {
        n->kind = kind;
        n->at = at;
        n->ext = RV_NONE;
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
