/* Loading a policy to run it, for every tool that does (routevm's
   commands, the gateway): a .route source is compiled in memory (with
   constant overrides, compiler/override.h), anything else is mapped as
   .rbc, loaded and verified.  With a trusted key only a .rbc signed by it
   runs: a source has no signature to check and is refused.  One place,
   so every command refuses the same things with the same words.

   Ownership: 'o' and everything it points to are borrowed for the call;
   the program returned belongs to the caller (rv_program_free). */
#ifndef RV_POLLOAD_H
#define RV_POLLOAD_H

#include <stddef.h>
#include <stdio.h>

#include "program.h"

#define PL_MAX_RBC (256u << 20)     /* bytes of a .rbc policy */

/* A constant override, NAME=VALUE. */
typedef struct { const char *name, *value; } pl_set;

typedef struct {
    const char *trust;              /* a public key file: only .rbc signed by it; NULL any */
    const char *const *incdirs;     /* more directories for a source's imports (-I) */
    unsigned nincdir;
    const pl_set *sets;             /* overrides (they need the source: a .rbc is refused) */
    size_t nsets;
    FILE *diag;                     /* the compiler's diagnostics, as text; NULL stderr */
} pl_opts;

typedef enum {
    PL_OK,
    PL_UNREADABLE,                  /* the file (or an import) cannot be read */
    PL_REFUSED,                     /* not a valid policy, or not one these options allow */
} pl_status;

/* Load 'path'.  On failure returns NULL, '*st' says why and 'err' holds
   one line ("PATH: why"); '*reported' is 1 when the details were already
   written to o->diag (the compiler's diagnostics), so a command need not
   print 'err' as well. */
rv_program *pl_load(const char *path, const pl_opts *o, pl_status *st, int *reported, char *err, size_t errlen);

#endif
