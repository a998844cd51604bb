/* Loading a policy for the backtest commands (cli.h, through
   compiler/polload.h); and the option values and output files those commands and
   'routevm report' share (NAME=VALUE, counts, --html pages). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "compiler.h"
#include "exitcode.h"
#include "polload.h"

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

rv_program *cli_load(const char *path, const pl_opts *o, int *rc)
{
    pl_status st;
    int reported;
    char err[1024];
    rv_program *p = pl_load(path, o, &st, &reported, err, sizeof err);
    if (!p) {
        if (!reported)
            fprintf(stderr, "routevm: %s\n", err);
        *rc = st == PL_UNREADABLE ? RC_USAGE : RC_FINDINGS;
    }
    return p;
}

rv_program *cli_load_policy(const char *path, const char *trust, const cli_set *sets, size_t nsets, int *rc)
{
    pl_opts o = { .trust = trust, .sets = sets, .nsets = nsets };
    return cli_load(path, &o, rc);
}
