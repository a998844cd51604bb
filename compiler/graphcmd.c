/* 'routec graph FILE [--agent A] [--format dot|svg] [-o OUT] [-I DIR]':
   checks the policy as 'routec check' does (a policy with errors is not
   drawn: its diagnostics are printed and the status is 1), writes its
   routing graph as DOT (graph.c) and, for --format svg, renders it with
   Graphviz's 'dot' (dotsvg.c).  The output is made in memory and written
   only when complete, to standard output or OUT (replaced whole, never
   seen half-written: filew.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "filew.h"
#include "graph.h"
#include "mem.h"

#define DOT_TIMEOUT_MS 60000    /* the most 'dot' may take */

typedef struct {
    const char *file, *agent, *out;
    const char *incdirs[32];
    unsigned nincdir;
    int svg;
} graph_opts;

#define GRAPH_USAGE "usage: routec graph FILE [--agent NAME] [--format dot|svg] [-o OUT] [-I DIR]\n"

static int usage_error(const char *fmt, const char *arg)
{
    fputs("routec graph: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n" GRAPH_USAGE, stderr);
    return RC_USAGE;
}

static int parse(int argc, char **argv, graph_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--agent") || !strcmp(a, "--format") || !strcmp(a, "-o") || !strcmp(a, "-I")) {
            if (!val)
                return usage_error("%s needs a value", a);
            i++;
            if (!strcmp(a, "--agent"))
                o->agent = val;
            else if (!strcmp(a, "-o"))
                o->out = val;
            else if (!strcmp(a, "-I") && o->nincdir == 32)
                return usage_error("too many -I%s", "");
            else if (!strcmp(a, "-I"))
                o->incdirs[o->nincdir++] = val;
            else if (!strcmp(val, "dot") || !strcmp(val, "svg"))
                o->svg = val[0] == 's';
            else
                return usage_error("unknown format '%s' (dot, svg)", val);
        } else if (!strncmp(a, "-I", 2) && a[2]) {
            if (o->nincdir == 32)
                return usage_error("too many -I%s", "");
            o->incdirs[o->nincdir++] = a + 2;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (o->file) {
            return usage_error("one policy at a time ('%s' is a second)", a);
        } else {
            o->file = a;
        }
    }
    if (!o->file)
        return usage_error("no input file%s", "");
    return 0;
}

/* Write 'n' bytes to OUT (NULL: standard output); OUT is replaced whole,
   as every output file of routec is (filew.h). */
static int write_out(const char *path, const char *buf, size_t n)
{
    char err[PATH_MAX + 128];
    if (path) {
        if (!fw_write(path, buf, n, 0, err, sizeof err))
            return RC_OK;
        fprintf(stderr, "routec graph: %s\n", err);
        return RC_USAGE;
    }
    if (fwrite(buf, 1, n, stdout) != n || fflush(stdout)) {
        fprintf(stderr, "routec graph: standard output: %s\n", strerror(errno));
        return RC_USAGE;
    }
    return RC_OK;
}

/* Check the policy; NULL (with '*rc' set and the problem reported) when
   it cannot be drawn. */
static rv_compiler *load(const graph_opts *o, int *rc)
{
    rv_compiler *c = comp_new(NULL);
    if (!c || !(c->incdirs = mem_calloc(o->nincdir + 1, sizeof *c->incdirs))) {
        fprintf(stderr, "routec graph: out of memory\n");
        comp_free(c);
        *rc = RC_USAGE;
        return NULL;
    }
    memcpy(c->incdirs, o->incdirs, o->nincdir * sizeof *c->incdirs);
    c->nincdir = o->nincdir;
    if (import_file(c, o->file) == -2) {
        fprintf(stderr, "routec: %s\n", c->unreadable);
        comp_free(c);
        *rc = RC_USAGE;
        return NULL;
    }
    comp_check(c);
    diag_sort(&c->diag);
    if (diag_failed(&c->diag)) {
        diag_print(&c->diag, DIAG_TEXT, stderr);
        comp_free(c);
        *rc = RC_FINDINGS;
        return NULL;
    }
    return c;
}

int graph_main(int argc, char **argv)
{
    graph_opts o = { 0 };
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        fputs(GRAPH_USAGE, stdout);
        return RC_OK;
    }
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    rv_compiler *c = load(&o, &rc);
    if (!c)
        return rc;
    const sym *only = NULL;
    if (o.agent) {
        only = res_lookup(c, o.agent);
        if (!only || only->kind != SYM_AGENT) {
            const char *near = res_suggest(c, o.agent, 1u << SYM_AGENT);
            fprintf(stderr, "routec graph: %s has no agent named '%s'", o.file, o.agent);
            if (near)
                fprintf(stderr, "; did you mean '%s'?", near);
            fputc('\n', stderr);
            comp_free(c);
            return RC_USAGE;
        }
    }
    char *dot = NULL, *svg = NULL;
    size_t dotlen = 0, svglen = 0;
    FILE *f = open_memstream(&dot, &dotlen);
    int bad = !f || graph_dot(c, only, f) != 0;
    if (f && fclose(f))
        bad = 1;
    comp_free(c);
    if (bad || !dot) {
        fprintf(stderr, "routec graph: out of memory\n");
        free(dot);
        return RC_USAGE;
    }
    rc = RC_OK;
    if (o.svg) {
        char err[256];
        int r = dotsvg_render(dot, dotlen, DOT_TIMEOUT_MS, &svg, &svglen, err, sizeof err);
        if (!r && !svglen) {
            snprintf(err, sizeof err, "'dot' wrote no SVG");
            r = -1;
        }
        if (r) {
            fprintf(stderr, "routec graph: %s\n", err);
            rc = RC_USAGE;
        } else {
            rc = write_out(o.out, svg, svglen);
        }
    } else {
        rc = write_out(o.out, dot, dotlen);
    }
    free(dot);
    free(svg);
    return rc;
}
