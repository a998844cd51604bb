/* The compilation object (rv_compiler, compiler.h): creating it, with
   the standard library's directory found once -- $ROUTEC_STDLIB,
   <bindir>/../share/routevm/stdlib next to the running binary, the
   installed prefix, the source tree, in that order -- freeing it, and
   running the checking passes in order over what import.c loaded.  Code
   generation (codegen.c) is asked for separately, only after the checks
   passed. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "mem.h"
#include "override.h"

static int is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <bindir>/../share/routevm/stdlib of the running binary, found once per
   process (compilers on several threads share it, read-only). */
static char exe_rel[PATH_MAX + 32];
static pthread_once_t exe_once = PTHREAD_ONCE_INIT;

static void find_exe_rel(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) {
        *slash = 0;
        snprintf(exe_rel, sizeof exe_rel, "%s/../share/routevm/stdlib", self);
    }
}

rv_compiler *comp_new(const char *argv0)
{
    rv_compiler *c = mem_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    diag_init(&c->diag, &c->src);
    const char *env = getenv("ROUTEC_STDLIB");
    pthread_once(&exe_once, find_exe_rel);
    (void)argv0;
    if (env && is_dir(env))
        c->stdlib = env;
    else if (exe_rel[0] && is_dir(exe_rel))
        c->stdlib = exe_rel;
    else if (is_dir(RV_STDLIB_INSTALL))
        c->stdlib = RV_STDLIB_INSTALL;
    else
        c->stdlib = RV_STDLIB_SRC;
    return c;
}

void comp_free(rv_compiler *c)
{
    if (!c)
        return;
    import_free(c);
    free(c->fold_memo);
    arena_strset_free(&c->names);
    free(c->incdirs);
    free(c->buckets);
    free(c->order);
    free(c->meta_keys);
    free(c->meta_hash);
    diag_free(&c->diag);
    src_free(&c->src);
    arena_free(&c->arena);
    free(c);
}

void comp_drop_tree(rv_compiler *c)
{
    import_free(c);
    free(c->fold_memo);
    c->fold_memo = NULL;
    c->fold_n = c->fold_cap = 0;
    arena_strset_free(&c->names);
    free(c->buckets);
    free(c->order);
    free(c->meta_keys);
    free(c->meta_hash);
    c->buckets = c->order = NULL;
    c->meta_keys = NULL;
    c->meta_hash = NULL;
    c->nbucket = c->nsym = c->norder = c->order_cap = c->nmeta_key = c->cap_meta_key = 0;
    c->decls = c->decls_tail = NULL;
    c->overrides = NULL;
    arena_free(&c->arena);
}

int comp_check(rv_compiler *c)
{
    if (c->oom)
        return -1;
    res_declare(c);
    ovr_check(c);
    if (!c->oom)
        chk_program(c);
    if (!c->oom && c->diag.nerr == 0)
        lint_program(c);
    else if (!c->oom && !c->parse_recovered && !diag_has(&c->diag, DG_BAD_UTF8))
        lint_undecided(c);      /* (a rule lost to a syntax error would make it wrong) */
    if (c->oom)
        diag_report(&c->diag, DG_SYNTAX, (src_span){ 0 }, "out of memory");
    return diag_failed(&c->diag) ? -1 : 0;
}
