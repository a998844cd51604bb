/* cfgtree: the configuration files of other routers, as one small tree.

   `routec import` reads LiteLLM configs (YAML, cfg_yaml.c on libyaml) and
   Portkey configs (JSON, cfg_json.c on jansson).  Both readers build the
   same tree, so the importers (import_litellm.c, import_portkey.c) walk
   one shape and report one kind of position: every node knows its line
   and column (1-based; 0 when the reader cannot tell, as jansson cannot
   for values) and its path from the root ("model_list[2].litellm_params").

   Inputs are hostile: each reader refuses more than CFG_MAX_BYTES of
   text, nesting deeper than CFG_MAX_DEPTH and more than CFG_MAX_NODES
   nodes, with a message and a position, before building anything that
   large.  YAML anchors, aliases, merge keys, custom tags and several
   documents are refused (an alias is how a few lines of YAML become
   gigabytes); so are repeated keys in a mapping, in both formats.

   Ownership: every node and string lives in the arena passed to the
   reader; the caller frees the arena, and with it the tree. */
#ifndef RV_CFGTREE_H
#define RV_CFGTREE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define CFG_MAX_BYTES (4u << 20)   /* 4 MiB: configs are a few KiB */
#define CFG_MAX_DEPTH 64
#define CFG_MAX_NODES 200000u

typedef enum { CFG_NULL, CFG_BOOL, CFG_INT, CFG_REAL, CFG_STR, CFG_SEQ, CFG_MAP } cfg_type;

typedef struct cfg_node cfg_node;
struct cfg_node {
    cfg_type type;
    uint32_t line, col;         /* 0: unknown */
    const char *key;            /* the entry's key, in a mapping; else NULL */
    uint32_t index;             /* the position among its parent's children */
    const char *str;            /* CFG_STR: the text (no NUL inside: readers refuse it) */
    int64_t i;                  /* CFG_INT, and CFG_BOOL (0 or 1) */
    double r;                   /* CFG_REAL (finite), and CFG_INT as a double */
    cfg_node *parent, *first, *last, *next;
    uint32_t n;                 /* children */
};

typedef struct {
    char msg[512];
    uint32_t line, col;         /* 0: unknown */
} cfg_err;

/* Readers: the tree of 'text' (not NUL-terminated), or NULL with the
   reason in 'err'. */
cfg_node *cfg_read_yaml(arena *a, const char *text, size_t len, cfg_err *err);
cfg_node *cfg_read_json(arena *a, const char *text, size_t len, cfg_err *err);

/* The entry 'key' of a mapping, or NULL (also when 'map' is not one). */
cfg_node *cfg_get(const cfg_node *map, const char *key);
/* "a mapping", "a list", "a string", ...: for messages. */
const char *cfg_type_name(cfg_type t);
/* The path of 'n' from the root, e.g. "model_list[0].litellm_params.rpm"
   ("(top level)" for the root), into 'buf' (always terminated). */
void cfg_path(const cfg_node *n, char *buf, size_t len);

/* Shared by the readers: a new node under 'parent' (NULL for the root),
   counting toward CFG_MAX_NODES in '*count'.  NULL with 'err' set. */
cfg_node *cfg_add(arena *a, cfg_node *parent, cfg_type t, uint32_t *count, cfg_err *err);

#endif
