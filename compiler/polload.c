/* One policy loader for the tools that run policies; see polload.h. */
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "mem.h"
#include "override.h"
#include "polload.h"
#include "rbc.h"

static rv_program *compile(const char *path, const pl_opts *o, pl_status *st, int *reported, char *err,
                           size_t errlen)
{
    rv_compiler *c = comp_new(NULL);
    if (c && o->nincdir && (c->incdirs = mem_calloc(o->nincdir, sizeof *c->incdirs))) {
        memcpy(c->incdirs, o->incdirs, o->nincdir * sizeof *o->incdirs);
        c->nincdir = o->nincdir;
    }
    if (!c || (o->nincdir && !c->incdirs)) {
        comp_free(c);
        snprintf(err, errlen, "out of memory");
        *st = PL_UNREADABLE;
        return NULL;
    }
    int r = import_file(c, path);       /* -2: the file cannot be read */
    for (size_t i = 0; r != -2 && i < o->nsets; i++)
        ovr_set(c, o->sets[i].name, o->sets[i].value);
    if (r != -2)
        comp_check(c);
    diag_sort(&c->diag);
    rv_program *p = NULL;
    if (r == -2) {
        *st = PL_UNREADABLE;
        snprintf(err, errlen, "%s", c->unreadable);
    } else if (diag_failed(&c->diag)) {
        diag_print(&c->diag, DIAG_TEXT, o->diag ? o->diag : stderr);
        *reported = 1;
        *st = PL_REFUSED;
        snprintf(err, errlen, "%s: the policy has errors", path);
    } else if (!(p = cg_program_loaded(c, err, errlen)))
        *st = PL_REFUSED;
    comp_free(c);
    return p;
}

rv_program *pl_load(const char *path, const pl_opts *o, pl_status *st, int *reported, char *err, size_t errlen)
{
    *st = PL_OK;
    *reported = 0;
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".route")) {
        if (o->trust) {
            *st = PL_REFUSED;
            snprintf(err, errlen, "%s: refused: --trust runs only signed .rbc files, and a .route source has no "
                     "signature (build one with 'routec build --sign KEY.pem')", path);
            return NULL;
        }
        return compile(path, o, st, reported, err, errlen);
    }
    if (o->nsets) {
        *st = PL_REFUSED;
        snprintf(err, errlen, "%s: --set and --sweep recompile the policy and need its .route source", path);
        return NULL;
    }
    rbc_file rf;
    rv_err e;
    if (rbc_map_file(path, PL_MAX_RBC, &rf, &e)) {
        *st = PL_UNREADABLE;
        snprintf(err, errlen, "%s", e.msg);
        return NULL;
    }
    rv_program *p = rbc_load(rf.buf, rf.len, o->trust, &e);
    rbc_unmap_file(&rf);
    if (!p) {
        *st = PL_REFUSED;
        snprintf(err, errlen, "%s: %s", path, e.msg);
    }
    return p;
}
