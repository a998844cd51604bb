/* cfg_json: JSON into the configuration tree (cfgtree.h), on jansson.

   jansson reports syntax errors with a line and column but keeps no
   position for the values it parsed, so nodes read here have line 0 and
   the importers name them by path.  Before jansson sees the text, one
   pass over it finds the first bracket that nests deeper than
   CFG_MAX_DEPTH and reports its position: jansson's own limit is 2048
   levels, and the copy into the tree recurses (at most CFG_MAX_DEPTH
   frames once that pass has accepted the text).  Repeated keys and NUL
   characters in strings are refused, as jansson does by default with
   JSON_REJECT_DUPLICATES. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cfgtree.h"

/* The position of the first bracket deeper than CFG_MAX_DEPTH, or 0. */
static int too_deep(const char *s, size_t len, cfg_err *err)
{
    uint32_t line = 1, col = 1, depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++, col++) {
        char c = s[i];
        if (c == '\n') {
            line++;
            col = 0;
        } else if (in_str) {
            if (c == '\\')
                i++, col++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > CFG_MAX_DEPTH) {
                snprintf(err->msg, sizeof err->msg, "nested more than %d levels deep", CFG_MAX_DEPTH);
                err->line = line;
                err->col = col;
                return 1;
            }
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return 0;
}

typedef struct {
    arena *a;
    cfg_err *err;
    uint32_t count;
} jbuild;

static cfg_node *copy(jbuild *b, cfg_node *parent, const char *key, json_t *v);

static int copy_children(jbuild *b, cfg_node *n, json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (!copy(b, n, NULL, e))
                return -1;
        return 0;
    }
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
        if (!copy(b, n, k, e))
            return -1;
    return 0;
}

/* Copy 'v' under 'parent'; depth is bounded by too_deep() beforehand. */
static cfg_node *copy(jbuild *b, cfg_node *parent, const char *key, json_t *v)
{
    static const cfg_type types[] = { [JSON_OBJECT] = CFG_MAP, [JSON_ARRAY] = CFG_SEQ, [JSON_STRING] = CFG_STR,
                                       [JSON_INTEGER] = CFG_INT, [JSON_REAL] = CFG_REAL, [JSON_TRUE] = CFG_BOOL,
                                       [JSON_FALSE] = CFG_BOOL, [JSON_NULL] = CFG_NULL };
    cfg_node *n = cfg_add(b->a, parent, types[json_typeof(v)], &b->count, b->err);
    if (!n)
        return NULL;
    if (key && !(n->key = arena_strndup(b->a, key, strlen(key))))
        goto oom;
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (!(n->str = arena_strndup(b->a, json_string_value(v), json_string_length(v))))
            goto oom;
        break;
    case JSON_INTEGER:
        n->i = json_integer_value(v);
        n->r = (double)n->i;
        break;
    case JSON_REAL:
        n->r = json_real_value(v);
        break;
    case JSON_TRUE:
        n->i = 1;
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (copy_children(b, n, v))
            return NULL;
        break;
    default:
        break;
    }
    return n;
oom:
    snprintf(b->err->msg, sizeof b->err->msg, "out of memory");
    return NULL;
}

cfg_node *cfg_read_json(arena *a, const char *text, size_t len, cfg_err *err)
{
    memset(err, 0, sizeof *err);
    if (len > CFG_MAX_BYTES) {
        snprintf(err->msg, sizeof err->msg, "larger than %u MiB: not a router configuration", CFG_MAX_BYTES >> 20);
        return NULL;
    }
    if (too_deep(text, len, err))
        return NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson ends its message with the text it was reading ("near
           '\"sk-...'"): in a config that is often a literal key, which
           must not reach the terminal or a CI log; the position says
           where.  (A repeated key's text is the key: kept.) */
        char *near = strstr(je.text, " near '");
        if (near && json_error_code(&je) != json_error_duplicate_key)
            *near = 0;
        snprintf(err->msg, sizeof err->msg, "%s", je.text);
        err->line = je.line > 0 ? (uint32_t)je.line : 0;
        err->col = je.column > 0 ? (uint32_t)je.column : 0;
        return NULL;
    }
    jbuild b = { .a = a, .err = err };
    cfg_node *n = copy(&b, NULL, NULL, root);
    json_decref(root);
    return n;
}
