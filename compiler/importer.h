/* importer: what `routec import` shares between its importers
   (import_litellm.c, import_portkey.c): the state of one import, the
   notes about what has no equivalent, errors with positions, typed reads
   of the configuration tree (cfgtree.h), names, providers, models priced
   from the standard catalogue, and the writer of the .route text.

   The importers describe what they found -- providers, models, agents
   with their route and fallbacks as .route text built with the imp_put*
   helpers -- and imp_write() lays out the policy: a comment block listing
   every note, the imports, the providers, the models, the agents.  Every
   string that reaches the policy goes through imp_put_str() (or
   imp_put_regex()), the one quoting function; names through imp_name().

   Ownership: an 'imp' owns an arena; every string an imp_* function
   returns lives there and is freed by imp_free().  Strings passed in are
   borrowed for the call and copied when kept. */
#ifndef RV_IMPORTER_H
#define RV_IMPORTER_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "cfgtree.h"
#include "program.h"
#include "textbuf.h"

/* The text of the policy and of an agent's body (textbuf.h). */
typedef tb_buf imp_buf;

void imp_puts(imp_buf *b, const char *s);
void imp_putf(imp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A string literal of the language: quoted, with \" \\ \n \t \r and
   \u{..} for other control characters. */
void imp_put_str(imp_buf *b, const char *s);
/* A regex literal /.../ of a pattern in JavaScript or PCRE syntax: '/'
   is escaped, non-ASCII characters become \x{..}.  -1 (nothing written)
   when PCRE2 rejects the pattern or it holds a line break. */
int imp_put_regex(imp_buf *b, const char *pattern, char *err, size_t errlen);
/* $X/Mtok for a price in picodollars per token (exact). */
void imp_put_price(imp_buf *b, int64_t pd_per_tok);
/* 30s, 1500ms, 250us for a duration in microseconds (exact). */
void imp_put_duration(imp_buf *b, int64_t us);
/* A number of the language (at most 6 decimals), from millionths. */
void imp_put_millionths(imp_buf *b, int64_t m);
void imp_buf_free(imp_buf *b);

typedef struct {
    const char *name;
    rv_provkind kind;
    const char *endpoint, *region, *key_env;   /* NULL: not stated */
    const char *module;         /* the std module declaring it, or NULL: declared in the output */
} imp_provider;

typedef struct {
    const char *name, *provider, *id;
    const char *catalog_id;     /* the id to price it by in std/models (LiteLLM's base_model), or NULL */
    int64_t price_in, price_out;  /* picodollars per token; -1 unknown */
    int64_t context, output;    /* tokens; 0 unknown */
    uint32_t tier, caps;        /* caps: bit k = rv_cap k */
    int64_t latency;            /* microseconds, 0 unknown */
    const char *priced_by;      /* the catalogue model prices came from, or NULL */
    const cfg_node *at;         /* where the model was described */
    imp_buf items;              /* further item lines ("  rpm 480\n"), written as they are */
} imp_model;

typedef struct {
    const char *name;
    const cfg_node *at;
    imp_buf body;               /* the item lines: route, fallbacks, retries */
} imp_agent;

typedef struct imp imp;

/* A new import of the file named 'label' (for messages) of the format
   'format' ("LiteLLM", "Portkey"); NULL when out of memory. */
imp *imp_new(const char *label, const char *format);
void imp_free(imp *im);
arena *imp_arena(imp *im);
int imp_failed(const imp *im);

/* A note for the comment block and stderr: "PATH: message". */
void imp_note(imp *im, const cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note printed as a warning (secrets that were not copied). */
void imp_warn(imp *im, const cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The import fails; the first error is the one reported.  Returns -1. */
int imp_fail(imp *im, const cfg_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error of the reader (syntax, nesting, size): reported as is. */
void imp_fail_read(imp *im, const cfg_err *e);

/* Typed reads: the value, or an error naming the path and both types.
   imp_str() is NULL, imp_number()/imp_int() -1, on a wrong type. */
const char *imp_str(imp *im, const cfg_node *n);
int imp_number(imp *im, const cfg_node *n, double *out);
int imp_int(imp *im, const cfg_node *n, int64_t lo, int64_t hi, int64_t *out);
int imp_is(imp *im, const cfg_node *n, cfg_type t);
/* A number of seconds (int or real) as microseconds, at least 1 us. */
int imp_seconds(imp *im, const cfg_node *n, double scale_to_us, int64_t *us);

/* Keys of a mapping the importer has no use for: each key of 'map' not
   in 'handled' is a note, with the reason 'table' gives for it
   (pairs: key, reason; NULL-terminated), or "not recognised". */
void imp_other_keys(imp *im, const cfg_node *map, const char *const *handled, const char *const *table);

/* A fresh name of the language from 'stem' (letters, digits and '_';
   not a keyword; not taken).  Never NULL after success (check
   imp_failed() on out of memory). */
const char *imp_name(imp *im, const char *stem);

/* The environment variable for a literal API key: the same variable for
   the same key, 'base' for the first, base_2, base_3 ... for others; a
   warning on stderr and a note say the key was not copied. */
const char *imp_key_env(imp *im, const cfg_node *at, const char *literal, const char *base);

/* The provider for these settings: a standard-library provider when one
   has exactly them (its module is imported), else one declared in the
   output under a name made from 'stem'.  Returns its name. */
const char *imp_provider_for(imp *im, rv_provkind kind, const char *endpoint, const char *region,
                             const char *key_env, const char *stem);

/* A model of the output; 'm' is copied (its 'items' buffer taken over).
   Price, context, output, tier, capabilities and latency not stated are
   taken from the std/models model with the same id (or catalog_id, or
   that id without its date); a price or context still unknown is set to
   $0 / 8k tokens with a note. */
const char *imp_add_model(imp *im, imp_model *m);
/* An agent of the output; 'body' is taken over. */
void imp_add_agent(imp *im, const char *name, const cfg_node *at, imp_buf *body);

/* A model parameter item ("temperature", "top_p", "top_k", "seed",
   "presence_penalty", "frequency_penalty", "max_tokens", "stop") from
   'v' into 'items'; out of range or of the wrong type is an error. */
int imp_model_param(imp *im, imp_buf *items, const char *param, const cfg_node *v);

/* Retry classes for HTTP statuses, as the language names them (429,
   5xx, auth, client_error ...), into 'b' as a list; statuses the
   language can only approximate are noted at 'at'.  0, or -1 with no
   class at all. */
int imp_put_statuses(imp *im, imp_buf *b, const cfg_node *codes, int for_retry);

/* The policy: the comment block, imports, providers, models and agents;
   then compiled in memory as `routec check` would, so what is written
   always checks (warnings are shown on 'errs').  0 with the text in
   '*out' (the caller owns it, free()); -1 when the import failed or the
   policy has errors (diagnostics on 'errs'). */
int imp_write(imp *im, char **out, size_t *len, FILE *errs);

/* The notes, one "FILE:LINE:COL: note: PATH: message" line each (no
   position for JSON), and the error, if any. */
void imp_print_notes(const imp *im, FILE *f);

/* imp_providers.c: the providers both formats name, and how each maps
   to a provider kind of the language.  'endpoint' is the default base
   URL (NULL for bedrock, and where the config must give one), 'key_env'
   the variable the router reads the key from by default (NULL: none). */
typedef struct {
    const char *litellm, *portkey;   /* the name in each format (NULL: none) */
    rv_provkind kind;
    const char *endpoint, *key_env;
    const char *suffix;              /* appended to a config's base URL unless it ends so ("/v1") */
} imp_known;
const imp_known *imp_known_provider(const char *name, int portkey);
/* The same, or NULL with an error at 'at': a provider the language
   cannot call (Vertex AI, Cohere ...), or one it does not know. */
const imp_known *imp_provider_named(imp *im, const cfg_node *at, const char *name, int portkey);
/* The first label of an endpoint's host ("my-eu" of
   https://my-eu.openai.azure.com/), for provider names; 'buf' holds it. */
const char *imp_host_label(const char *url, char *buf, size_t len);
/* 'url' with trailing slashes dropped and 'suffix' appended unless it
   already ends with it (arena). */
const char *imp_base_url(imp *im, const char *url, const char *suffix);

/* AWS credentials in 'map' (aws_access_key_id ...): Bedrock calls are
   signed with the standard environment variables, so a literal one is a
   warning (never copied) and another variable a note; LiteLLM's
   os.environ/AWS_ACCESS_KEY_ID and its like are what the runtime reads. */
void imp_aws_keys(imp *im, const cfg_node *map);

/* The importers (import_litellm.c, import_portkey.c): fill 'im' from
   the tree; -1 when the import failed (the error is in 'im'). */
int litellm_import(imp *im, const cfg_node *root);
int portkey_import(imp *im, const cfg_node *root, const char *agent);

/* import_cli.c: `routec import FORMAT FILE [-o OUT] [--agent NAME]`. */
int imp_main(int argc, char **argv);

#endif
