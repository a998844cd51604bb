/* cfg_yaml: YAML into the configuration tree (cfgtree.h), on libyaml's
   event parser.

   The tree is built from events with an explicit stack, so nesting costs
   no C stack; the stack is CFG_MAX_DEPTH deep and deeper input stops at
   the event that would pass it.  Plain scalars are resolved as YAML 1.1
   does (PyYAML, which LiteLLM uses): null, ~ and the empty scalar are
   null; true/false, yes/no and on/off in their three spellings are
   booleans; decimal integers (with '_' separators) and decimal reals are
   numbers; everything else, and every quoted scalar, is a string.
   Refused, each at its position: anchors, aliases, merge keys ('<<'),
   tags outside the YAML core schema, non-scalar keys, repeated keys, a
   NUL inside a string, a second document, and a mapping of more than
   CFG_MAX_ENTRIES keys (repeated keys are found by comparing them, which
   this bounds). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cfgtree.h"

#define CFG_MAX_ENTRIES 1024

typedef struct {
    cfg_node *node;
    const char *key;            /* a mapping's key waiting for its value */
    uint32_t key_line, key_col;
} frame;

typedef struct {
    arena *a;
    cfg_err *err;
    frame stack[CFG_MAX_DEPTH + 1];
    unsigned depth;
    uint32_t count;
    cfg_node *root;
    int docs;
} ybuild;

static int fail_at(ybuild *b, const yaml_mark_t *m, const char *msg)
{
    snprintf(b->err->msg, sizeof b->err->msg, "%s", msg);
    b->err->line = (uint32_t)m->line + 1;
    b->err->col = (uint32_t)m->column + 1;
    return -1;
}

static int word_in(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(s, *words))
            return 1;
    return 0;
}

/* A plain scalar's type and value, YAML 1.1 style. */
static void resolve_plain(cfg_node *n, const char *s)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL };
    static const char *const falses[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL };
    n->type = CFG_STR;
    if (word_in(s, nulls)) {
        n->type = CFG_NULL;
        return;
    }
    if (word_in(s, trues) || word_in(s, falses)) {
        n->type = CFG_BOOL;
        n->i = word_in(s, trues);
        return;
    }
    char digits[64];
    size_t k = 0, ndig = 0;
    int real = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '_')
            continue;
        if (k + 1 >= sizeof digits)
            return;
        if (*p >= '0' && *p <= '9')
            ndig++;
        else if (*p == '.' || *p == 'e' || *p == 'E')
            real = 1;
        else if (!((*p == '-' || *p == '+') && (p == s || p[-1] == 'e' || p[-1] == 'E')))
            return;
        digits[k++] = *p;
    }
    digits[k] = 0;
    if (!ndig)
        return;
    char *end;
    errno = 0;
    if (!real) {
        long long v = strtoll(digits, &end, 10);
        if (!*end && !errno) {
            n->type = CFG_INT;
            n->i = v;
            n->r = (double)v;
        }
        return;
    }
    double r = strtod(digits, &end);
    if (!*end && isfinite(r)) {
        n->type = CFG_REAL;
        n->r = r;
    }
}

static int tag_ok(const yaml_char_t *tag)
{
    return !tag || !strncmp((const char *)tag, "tag:yaml.org,2002:", 18);
}

/* Where a new node goes: the root, the list on top, or the mapping on top
   under its pending key.  Returns the node, or NULL with the error set. */
static cfg_node *place(ybuild *b, cfg_type t, const yaml_event_t *ev)
{
    cfg_node *parent = b->depth ? b->stack[b->depth - 1].node : NULL;
    if (!parent && b->root) {
        fail_at(b, &ev->start_mark, "more than one value at the top level");
        return NULL;
    }
    frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
    cfg_node *n = cfg_add(b->a, parent, t, &b->count, b->err);
    if (!n) {
        b->err->line = (uint32_t)ev->start_mark.line + 1;
        b->err->col = (uint32_t)ev->start_mark.column + 1;
        return NULL;
    }
    n->line = (uint32_t)ev->start_mark.line + 1;
    n->col = (uint32_t)ev->start_mark.column + 1;
    if (f && parent->type == CFG_MAP) {
        n->key = f->key;
        n->line = f->key_line;   /* an entry is where its key is */
        n->col = f->key_col;
        f->key = NULL;
    }
    if (!parent)
        b->root = n;
    return n;
}

/* A scalar: a mapping's key, or a value. */
static int on_scalar(ybuild *b, const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(v, 0, len))
        return fail_at(b, &ev->start_mark, "a NUL character in a string");
    frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
    if (f && f->node->type == CFG_MAP && !f->key) {
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(v, "<<"))
            return fail_at(b, &ev->start_mark, "merge keys ('<<') are not supported: write the entries out");
        if (f->node->n >= CFG_MAX_ENTRIES)
            return fail_at(b, &ev->start_mark, "more than 1024 keys in one mapping");
        for (cfg_node *c = f->node->first; c; c = c->next)
            if (!strcmp(c->key, v)) {
                char msg[200];
                snprintf(msg, sizeof msg, "key '%.80s' repeated (first at line %u)", v, c->line);
                return fail_at(b, &ev->start_mark, msg);
            }
        if (!(f->key = arena_strndup(b->a, v, len)))
            return fail_at(b, &ev->start_mark, "out of memory");
        f->key_line = (uint32_t)ev->start_mark.line + 1;
        f->key_col = (uint32_t)ev->start_mark.column + 1;
        return 0;
    }
    cfg_node *n = place(b, CFG_STR, ev);
    if (!n)
        return -1;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(tag && !strcmp(tag, "tag:yaml.org,2002:str")))
        resolve_plain(n, v);
    if (n->type == CFG_STR && !(n->str = arena_strndup(b->a, v, len)))
        return fail_at(b, &ev->start_mark, "out of memory");
    return 0;
}

static int on_start(ybuild *b, const yaml_event_t *ev, cfg_type t)
{
    frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
    if (f && f->node->type == CFG_MAP && !f->key)
        return fail_at(b, &ev->start_mark, "a key that is a list or a mapping: keys must be scalars");
    if (b->depth == CFG_MAX_DEPTH)
        return fail_at(b, &ev->start_mark, "nested more than 64 levels deep");
    cfg_node *n = place(b, t, ev);
    if (!n)
        return -1;
    b->stack[b->depth++] = (frame){ .node = n };
    return 0;
}

/* One event; 1 at the end of the stream, -1 on an error. */
static int on_event(ybuild *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: anchor = ev->data.scalar.anchor; tag = ev->data.scalar.tag; break;
    case YAML_SEQUENCE_START_EVENT: anchor = ev->data.sequence_start.anchor; tag = ev->data.sequence_start.tag; break;
    case YAML_MAPPING_START_EVENT: anchor = ev->data.mapping_start.anchor; tag = ev->data.mapping_start.tag; break;
    default: break;
    }
    if (anchor)
        return fail_at(b, &ev->start_mark, "anchors ('&name') are not supported: write the values out");
    if (!tag_ok(tag))
        return fail_at(b, &ev->start_mark, "a tag outside YAML's core schema (such as '!ENV'): not supported");
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1)
            return fail_at(b, &ev->start_mark, "more than one YAML document ('---'): a config is one document");
        return 0;
    case YAML_ALIAS_EVENT:
        return fail_at(b, &ev->start_mark, "aliases ('*name') are not supported: write the values out");
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, CFG_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, CFG_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return 0;
    default:
        return 0;
    }
}

/* The line and column (in bytes) of byte 'off' of the text: libyaml's
   reader reports a bad byte (invalid UTF-8, a control character) by its
   offset and leaves the mark at the start. */
static void offset_pos(const char *text, size_t len, size_t off, cfg_err *err)
{
    if (off > len)
        off = len;
    uint32_t line = 1;
    size_t bol = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') {
            line++;
            bol = i + 1;
        }
    err->line = line;
    err->col = (uint32_t)(off - bol) + 1;
}

cfg_node *cfg_read_yaml(arena *a, const char *text, size_t len, cfg_err *err)
{
    memset(err, 0, sizeof *err);
    if (len > CFG_MAX_BYTES) {
        snprintf(err->msg, sizeof err->msg, "larger than %u MiB: not a router configuration", CFG_MAX_BYTES >> 20);
        return NULL;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    ybuild b = { .a = a, .err = err };
    int r = 0;
    while (!r) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            const yaml_mark_t *m = p.problem ? &p.problem_mark : &p.mark;
            snprintf(err->msg, sizeof err->msg, "%s%s%s", p.context ? p.context : "",
                     p.context ? ": " : "", p.problem ? p.problem : "cannot parse YAML");
            err->line = (uint32_t)m->line + 1;
            err->col = (uint32_t)m->column + 1;
            if (p.error == YAML_READER_ERROR)   /* (bad bytes: only an offset is known) */
                offset_pos(text, len, p.problem_offset, err);
            r = -1;
            break;
        }
        r = on_event(&b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (r < 0)
        return NULL;
    if (!b.root) {
        snprintf(err->msg, sizeof err->msg, "the file is empty");
        return NULL;
    }
    return b.root;
}
