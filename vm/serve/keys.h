/* The gateway's API keys: which bearer tokens may call which agents.

   The keys file has one key per line, '#' starts a comment:

       KEY  AGENT[,AGENT...]       the agents this key may use
       KEY  *                      every agent of the policy
       sha256:HEX  AGENTS          a key stored as the SHA-256 of its bytes (64 hex digits)
       KEY  AGENTS  budget $5 per day  budget $0.10 per request
                                   the key's own budgets (either or both), on
                                   top of the policy's: every call of a request
                                   made with the key reserves its worst case
                                   against the key's day, like an agent's
                                   'budget ... per day' (vm.h, rv_caller)

   A key's spend is kept in the ledger under "key:" and 16 hex digits of a
   SHA-256 of its stored digest (ky_caller): stable across edits of the
   file and restarts, the same for a key written plain or as sha256:, and
   not the key.

   A key is any run of printable ASCII without spaces (at most 256 bytes;
   a Bearer token as clients send it).  Every key, stored plain or hashed,
   is kept only as its SHA-256 digest, and a presented token is hashed
   once and compared with every stored digest in constant time
   (CRYPTO_memcmp, no early exit), so neither timing nor memory reveals a
   key.  Keys never reach logs, metrics or traces: a key is named by its
   line number ("key@12").

   Limits: the file at most 1 MiB and 65,536 keys; an agent list at most
   256 names.  A malformed line is an error naming the line; no key is
   loaded from a file with an error.

   Ownership: ky_find returns a pointer into the set, valid until
   ky_free. */
#ifndef RV_SERVE_KEYS_H
#define RV_SERVE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

typedef struct ky_set ky_set;
typedef struct ky_key ky_key;

#define KY_MAX_FILE (1u << 20)
#define KY_MAX_KEYS 65536u
#define KY_MAX_TOKEN 256u
#define KY_MAX_AGENTS 256u

/* Parse a keys file's text ('len' bytes, borrowed).  NULL with a message
   ("line 3: ...") in 'err'. */
ky_set *ky_parse(const char *text, size_t len, char *err, size_t errlen);
/* Read and parse the file at 'path'.  On failure '*unreadable' (when not
   NULL) is 1 if the file could not be read (missing, unreadable, over
   KY_MAX_FILE: an I/O error), 0 if it was read and refused. */
ky_set *ky_load(const char *path, int *unreadable, char *err, size_t errlen);
void ky_free(ky_set *s);
uint32_t ky_count(const ky_set *s);

/* The key 'token' names, or NULL. */
const ky_key *ky_find(const ky_set *s, const char *token, size_t len);
/* May key 'k' use agent 'name'? */
int ky_allows(const ky_key *k, const char *name, size_t len);
/* The key's name for logs: "key@LINE". */
const char *ky_name(const ky_key *k);
/* The key's budgets as the VM takes them (name: its ledger row, borrowed
   from 'k'); 0 when the key has none, 1 when 'out' was filled. */
int ky_caller(const ky_key *k, rv_caller *out);

#endif
