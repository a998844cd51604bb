/* Loading a policy for the backtest commands (cli.h, through
   compiler/polload.h); and what those commands and 'routevm report'
   share: the start (--help, the command line), option values (NAME=VALUE,
   counts), the note on skipped lines, --html pages. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "compiler.h"
#include "exitcode.h"
#include "filew.h"
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

int cli_begin(int argc, char **argv, cli_usage_fn *usage, cli_parse_fn *parse, void *opts)
{
    if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
        usage(stdout);
        return RC_OK;
    }
    if (parse(argc, argv, opts)) {
        usage(stderr);
        return RC_USAGE;
    }
    return -1;
}

void cli_note_skipped(const char *path, uint32_t bad, uint32_t records)
{
    if (bad)
        fprintf(stderr, "routevm: %s: %u bad line%s skipped, %u records read\n", path, bad, bad == 1 ? "" : "s",
                records);
}

FILE *cli_create(cli_out *o, const char *path)
{
    *o = (cli_out){ .path = path };
    o->f = open_memstream(&o->buf, &o->len);
    if (!o->f)
        fprintf(stderr, "routevm: %s: out of memory\n", path);
    return o->f;
}

int cli_finish(cli_out *o)
{
    char err[PATH_MAX + 128];
    int bad = ferror(o->f);
    if (fclose(o->f) || bad || !o->buf) {
        fprintf(stderr, "routevm: %s: out of memory\n", o->path);
        free(o->buf);
        return -1;
    }
    int r = fw_write(o->path, o->buf, o->len, 0, err, sizeof err);
    if (r)
        fprintf(stderr, "routevm: %s\n", err);
    free(o->buf);
    return r;
}

void cli_discard(cli_out *o)
{
    fclose(o->f);
    free(o->buf);
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
