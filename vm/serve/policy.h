/* The policy the gateway serves: a program loaded and verified once, its
   image (regexes compiled), shared read-only by every worker, with a
   reference count so that a reload (SIGHUP) can replace it while requests
   that started on the old one finish on it.

   Loading: a .rbc is mapped and verified (with --trust, only a file
   signed by that key); a .route source is compiled in memory (refused
   with --trust).  A program with test blocks is refused unless
   'allow_tests' (tests are for 'routec test', not for a service).

   Threads: sp_ref/sp_unref from any thread; the last unref frees. */
#ifndef RV_SERVE_POLICY_H
#define RV_SERVE_POLICY_H

#include <stdatomic.h>
#include <stdint.h>

#include "ratelimit.h"
#include "vm.h"

typedef struct {
    const char *trust;          /* PEM public key, or NULL */
    int allow_tests;
} sp_opts;

typedef struct sp_policy {
    _Atomic uint32_t refs;
    rv_program *p;
    rv_image img;
    int uses_lang;              /* the program calls lang() */
    rl_limiter *limits;         /* rpm/tpm of the program's models, shared by every worker (ratelimit.h) */
    uint64_t generation;        /* 1 for the first load, +1 per reload */
    char digest[17];            /* the first 8 bytes of the program's SHA-256, hex */
} sp_policy;

/* Load 'path'.  NULL with a message in 'err' (compiler diagnostics go to
   stderr as the compiler prints them); '*unreadable' (when not NULL) is
   then 1 if the file or one of its imports could not be read (an I/O
   error), 0 if the policy was read and refused. */
sp_policy *sp_load(const char *path, const sp_opts *o, uint64_t generation, int *unreadable, char *err,
                   size_t errlen);
sp_policy *sp_ref(sp_policy *p);
void sp_unref(sp_policy *p);    /* accepts NULL */

/* The policy being served: sp_current returns it with a reference the
   caller drops with sp_unref; sp_install replaces it (taking the
   caller's reference) and drops the old one's. */
sp_policy *sp_current(void);
void sp_install(sp_policy *p);

#endif
