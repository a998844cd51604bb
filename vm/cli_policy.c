/* Loading a policy for the backtest commands (cli.h): .route sources
   through the compiler, with constant overrides, and .rbc files through
   the loader and verifier; and the option values and output files those commands and
   'routevm report' share (NAME=VALUE, counts, --html pages). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "compiler.h"
#include "exitcode.h"
#include "override.h"
#include "rbc.h"

int cli_parse_set(char *arg, cli_set *s)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    *eq = 0;
    s->name = arg;
    s->value = eq + 1;
    return 0;
}

int cli_parse_count(const char *s, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

FILE *cli_create(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "routevm: %s: %s\n", path, strerror(errno));
    return f;
}

int cli_finish(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "routevm: %s: write error\n", path);
        return -1;
    }
    return 0;
}

static rv_program *compile(const char *path, const cli_set *sets, size_t nsets, int *rc)
{
    *rc = RC_FINDINGS;
    rv_compiler *c = comp_new(NULL);
    if (!c) {
        fprintf(stderr, "routevm: out of memory\n");
        return NULL;
    }
    int r = import_file(c, path);
    for (size_t i = 0; r != -2 && i < nsets; i++)
        ovr_set(c, sets[i].name, sets[i].value);
    if (r != -2)
        comp_check(c);
    diag_sort(&c->diag);
    rv_program *p = NULL;
    char err[512];
    if (r == -2)
        *rc = RC_USAGE;
    if (r == -2 || diag_failed(&c->diag))
        diag_print(&c->diag, DIAG_TEXT, stderr);
    else if (!(p = cg_program_loaded(c, err, sizeof err)))
        fprintf(stderr, "routevm: %s\n", err);
    comp_free(c);
    return p;
}

rv_program *cli_load_policy(const char *path, const char *trust, const cli_set *sets, size_t nsets, int *rc)
{
    *rc = RC_FINDINGS;
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".route")) {
        if (trust) {
            fprintf(stderr, "routevm: %s: --trust runs only signed .rbc files; build and sign the policy first\n", path);
            return NULL;
        }
        return compile(path, sets, nsets, rc);
    }
    if (nsets) {
        fprintf(stderr, "routevm: %s: --set and --sweep recompile the policy and need its .route source\n", path);
        return NULL;
    }
    rbc_file rf;
    rv_err err;
    if (rbc_map_file(path, 256u << 20, &rf, &err)) {
        fprintf(stderr, "routevm: %s\n", err.msg);
        *rc = RC_USAGE;
        return NULL;
    }
    rv_program *p = rbc_load(rf.buf, rf.len, trust, &err);
    rbc_unmap_file(&rf);
    if (!p)
        fprintf(stderr, "routevm: %s: %s\n", path, err.msg);
    return p;
}
