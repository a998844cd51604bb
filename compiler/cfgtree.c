/* cfgtree: nodes, lookups and paths of the configuration tree both
   readers build (cfg_yaml.c, cfg_json.c); see cfgtree.h.  Nothing here
   recurses: a path is written by walking parents, at most CFG_MAX_DEPTH
   of them. */
#include <stdio.h>
#include <string.h>

#include "cfgtree.h"

cfg_node *cfg_add(arena *a, cfg_node *parent, cfg_type t, uint32_t *count, cfg_err *err)
{
    if (++*count > CFG_MAX_NODES) {
        snprintf(err->msg, sizeof err->msg, "more than %u values: not a router configuration", CFG_MAX_NODES);
        return NULL;
    }
    cfg_node *n = arena_alloc(a, sizeof *n);
    if (!n) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    n->type = t;
    n->parent = parent;
    if (parent) {
        n->index = parent->n++;
        if (parent->last)
            parent->last->next = n;
        else
            parent->first = n;
        parent->last = n;
    }
    return n;
}

cfg_node *cfg_get(const cfg_node *map, const char *key)
{
    if (!map || map->type != CFG_MAP)
        return NULL;
    for (cfg_node *c = map->first; c; c = c->next)
        if (!strcmp(c->key, key))
            return c;
    return NULL;
}

const char *cfg_type_name(cfg_type t)
{
    static const char *const names[] = { "null", "a boolean", "an integer", "a number", "a string",
                                         "a list", "a mapping" };
    return names[t];
}

/* A key as a path shows it: plain when it is a simple word, else
   quoted, with anything unprintable shown as '?'. */
static size_t put_key(char *out, size_t room, const char *key)
{
    int plain = *key != 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_-/:@$*", *p)))
            plain = 0;
    size_t n = 0;
    if (!plain && n < room)
        out[n++] = '"';
    for (const char *p = key; *p && n + 2 < room; p++)
        out[n++] = (unsigned char)*p < 0x20 || *p == '"' || *p == 0x7f ? '?' : *p;
    if (!plain && n < room)
        out[n++] = '"';
    return n;
}

void cfg_path(const cfg_node *n, char *buf, size_t len)
{
    const cfg_node *chain[CFG_MAX_DEPTH + 2];
    size_t depth = 0;
    for (const cfg_node *p = n; p && p->parent && depth < sizeof chain / sizeof *chain; p = p->parent)
        chain[depth++] = p;
    if (!depth) {
        snprintf(buf, len, "(top level)");
        return;
    }
    char tmp[1024];
    size_t used = 0;
    while (depth-- && used + 4 < sizeof tmp) {
        const cfg_node *c = chain[depth];
        if (c->key) {
            if (used)
                tmp[used++] = '.';
            used += put_key(tmp + used, sizeof tmp - used - 1, c->key);
        } else {
            int w = snprintf(tmp + used, sizeof tmp - used, "[%u]", c->index);
            used += w > 0 && (size_t)w < sizeof tmp - used ? (size_t)w : 0;
        }
    }
    tmp[used < sizeof tmp ? used : sizeof tmp - 1] = 0;
    snprintf(buf, len, "%s", tmp);
}
