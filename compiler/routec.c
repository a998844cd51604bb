/* routec: the command-line front end of the compiler.

     routec check FILE…  [-v] [--format text|json|sarif] [-Werror] [-I DIR] [--verify]
     routec build FILE -o OUT.rbc [--sign KEY.pem] [--strip] [--strip-tests] [--no-dispatch] [-I DIR]
     routec dis   FILE.rbc|FILE.route [--trust PUB.pem] [-I DIR]
     routec verify FILE.rbc… [--trust PUB.pem]
     routec test  FILE…  [--coverage] [--threshold PCT] [-I DIR]
     routec lsp   [--stdio] [-I DIR]       (lsp.h)
     routec fmt   FILE…  [--check | -w]           (compiler/fmtcmd.c)

   Each FILE given to 'check' is its own policy and is compiled on its own.
   '--verify' is the test mode of 'check' (like clang -verify): instead of
   printing diagnostics it compares them with the '# expect:' comments in
   each file and prints PASS/FAIL lines (see tests/compile/README.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "disasm.h"
#include "exitcode.h"
#include "graph.h"
#include "mem.h"
#include "rbc.h"
#include "testrun.h"
#include "verify.h"
#include "expectdiag.h"
#include "filew.h"
#include "lsp.h"
#include "fmtcmd.h"
#include "importer.h"

typedef struct {
    const char *out, *sign, *trust;
    const char *incdirs[32];
    unsigned nincdir;
    diag_format format;
    int werror, verbose, verify, coverage, strip, strip_tests, no_dispatch;
    double threshold;
    const char *files[256];
    unsigned nfile;
} options;

static void usage(FILE *f)
{
    fputs("usage: routec check FILE...  [-v] [--format text|json|sarif] [-Werror] [-I DIR]\n"
          "       routec build FILE -o OUT.rbc [--sign KEY.pem] [--strip] [--strip-tests] [--no-dispatch] [-I DIR]\n"
          "       routec dis   FILE.rbc|FILE.route [--trust PUB.pem] [-I DIR]\n"
          "       routec verify FILE.rbc... [--trust PUB.pem]\n"
          "       routec graph  FILE [--agent NAME] [--format dot|svg] [-o OUT] [-I DIR]\n"
          "       routec test   FILE...  [--coverage] [--threshold PCT] [-I DIR]\n"
          "       routec lsp    [--stdio] [-I DIR]   (a language server on stdin/stdout)\n"
          "       routec fmt    FILE...  [--check | -w]\n"
          "       routec import litellm CONFIG.yaml | portkey CONFIG.json [-o OUT.route] [--agent NAME]\n"
          "exit status: 0 clean, 1 findings, 2 usage or I/O error\n", f);
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--threshold")) {
            char *end;
            o->threshold = val ? strtod(val, &end) : -1;
            if (!val || *end || o->threshold < 0 || o->threshold > 100) {
                fprintf(stderr, "routec: --threshold needs a percentage from 0 to 100\n");
                return -1;
            }
            o->coverage = 1;
            i++;
            continue;
        }
        if (!strcmp(a, "--coverage")) {
            o->coverage = 1;
            continue;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--sign") || !strcmp(a, "--trust") || !strcmp(a, "-I") ||
            !strcmp(a, "--format")) {
            if (!val) {
                fprintf(stderr, "routec: %s needs a value\n", a);
                return -1;
            }
            i++;
            if (!strcmp(a, "-o")) o->out = val;
            else if (!strcmp(a, "--sign")) o->sign = val;
            else if (!strcmp(a, "--trust")) o->trust = val;
            else if (!strcmp(a, "-I")) {
                if (o->nincdir == 32) { fprintf(stderr, "routec: too many -I\n"); return -1; }
                o->incdirs[o->nincdir++] = val;
            } else if (!strcmp(val, "text")) o->format = DIAG_TEXT;
            else if (!strcmp(val, "json")) o->format = DIAG_JSON;
            else if (!strcmp(val, "sarif")) o->format = DIAG_SARIF;
            else {
                fprintf(stderr, "routec: unknown format '%s' (text, json, sarif)\n", val);
                return -1;
            }
        } else if (!strncmp(a, "-I", 2) && a[2]) {
            if (o->nincdir == 32) { fprintf(stderr, "routec: too many -I\n"); return -1; }
            o->incdirs[o->nincdir++] = a + 2;
        } else if (!strcmp(a, "-Werror")) {
            o->werror = 1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbose = 1;
        } else if (!strcmp(a, "--strip-tests")) {
            o->strip_tests = 1;
        } else if (!strcmp(a, "--strip")) {
            o->strip = 1;
        } else if (!strcmp(a, "--no-dispatch")) {
            o->no_dispatch = 1;
        } else if (!strcmp(a, "--verify")) {
            o->verify = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "routec: unknown option '%s'\n", a);
            return -1;
        } else {
            if (o->nfile == 256) { fprintf(stderr, "routec: too many files\n"); return -1; }
            o->files[o->nfile++] = a;
        }
    }
    return 0;
}

/* Compile one policy through every check.  Returns the compiler (the
   caller frees it) with *status: 0 clean, 1 findings, 2 I/O.  'check':
   no code will be generated, so the source texts are released while the
   passes run (read again to print diagnostics; see source.h). */
static rv_compiler *compile(const options *o, const char *file, int check, int *status)
{
    rv_compiler *c = comp_new(NULL);
    if (!c) {
        fprintf(stderr, "routec: out of memory\n");
        *status = RC_USAGE;
        return NULL;
    }
    c->incdirs = mem_calloc(o->nincdir + 1, sizeof *c->incdirs);
    if (!c->incdirs) {
        comp_free(c);
        *status = RC_USAGE;
        return NULL;
    }
    memcpy(c->incdirs, o->incdirs, o->nincdir * sizeof *c->incdirs);
    c->nincdir = o->nincdir;
    c->verbose = o->verbose;
    c->release_text = check;
    c->strip = o->strip;
    c->strip_tests = o->strip_tests;
    c->no_dispatch = o->no_dispatch;
    c->diag.werror = o->werror;
    int r = import_file(c, file);
    if (r == -2) {
        fprintf(stderr, "routec: %s\n", c->unreadable);
        *status = RC_USAGE;
        return c;
    }
    comp_check(c);
    diag_sort(&c->diag);
    *status = diag_failed(&c->diag) ? RC_FINDINGS : RC_OK;
    return c;
}

static int cmd_check(const options *o)
{
    if (!o->nfile) {
        fprintf(stderr, "routec check: no input files\n");
        return RC_USAGE;
    }
    rv_compiler *cs[256];
    diag_ctx *ds[256];
    unsigned n = 0;
    int worst = RC_OK, failed = 0;
    for (unsigned i = 0; i < o->nfile; i++) {
        int st;
        rv_compiler *c = compile(o, o->files[i], 1, &st);
        if (st > worst)
            worst = st;
        if (!c)
            continue;
        if (o->verify) {
            failed |= xdiag_verify(c, o->files[i], stdout) != 0;
            comp_free(c);
            continue;
        }
        comp_drop_tree(c);   /* the diagnostics are printed after every file is checked */
        cs[n] = c;
        ds[n++] = &c->diag;
    }
    if (o->verify)
        return failed ? RC_FINDINGS : worst == RC_USAGE ? RC_USAGE : RC_OK;
    diag_print_all(ds, n, o->format, stdout);
    for (unsigned i = 0; i < n; i++)
        comp_free(cs[i]);
    return worst;
}

static int cmd_build(const options *o)
{
    if (o->nfile != 1 || !o->out) {
        fprintf(stderr, "routec build: needs one FILE and -o OUT.rbc\n");
        return RC_USAGE;
    }
    int st;
    rv_compiler *c = compile(o, o->files[0], 0, &st);
    if (!c)
        return st;
    static char errbuf[1 << 16];
    setvbuf(stderr, errbuf, _IOFBF, sizeof errbuf);   /* thousands of warnings, few writes */
    diag_print(&c->diag, o->format, stderr);
    fflush(stderr);
    setvbuf(stderr, NULL, _IONBF, 0);
    if (st != RC_OK) {
        comp_free(c);
        return st;
    }
    uint8_t *buf;
    size_t len;
    char err[sizeof ((rv_err *)0)->msg + 64];
    int r = cg_build(c, o->sign, &buf, &len, err, sizeof err);
    comp_free(c);
    if (r) {
        fprintf(stderr, "routec: %s: %s\n", o->files[0], err);
        return r == -2 ? RC_USAGE : RC_FINDINGS;
    }
    int rc = RC_OK;
    if (fw_write(o->out, buf, len, 0, err, sizeof err)) {
        fprintf(stderr, "routec: %s\n", err);
        rc = RC_USAGE;
    }
    free(buf);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int cmd_dis(const options *o)
{
    if (o->nfile != 1) {
        fprintf(stderr, "routec dis: needs one FILE\n");
        return RC_USAGE;
    }
    rv_program *p = NULL;
    rv_err err;
    if (ends_with(o->files[0], ".route")) {
        if (o->trust) {
            fprintf(stderr, "routec: %s: refused: --trust shows only signed .rbc files, and a .route source "
                            "has no signature\n", o->files[0]);
            return RC_FINDINGS;
        }
        int st;
        rv_compiler *c = compile(o, o->files[0], 0, &st);
        if (!c)
            return st;
        if (st != RC_OK) {
            diag_print(&c->diag, DIAG_TEXT, stderr);
            comp_free(c);
            return st;
        }
        /* through the file format, so 'dis' shows what a .rbc holds */
        p = cg_program_loaded(c, err.msg, sizeof err.msg);
        comp_free(c);
    } else {
        rbc_file rf;
        if (rbc_map_file(o->files[0], 256u << 20, &rf, &err)) {
            fprintf(stderr, "routec: %s\n", err.msg);
            return RC_USAGE;
        }
        p = rbc_load(rf.buf, rf.len, o->trust, &err);
        rbc_unmap_file(&rf);
    }
    if (!p) {
        fprintf(stderr, "routec: %s: %s\n", o->files[0], err.msg);
        return RC_FINDINGS;
    }
    dis_program(p, stdout);
    rv_program_free(p);
    return RC_OK;
}

/* Load and verify each file as routevm would, and say what it holds. */
static int cmd_verify(const options *o)
{
    if (!o->nfile) {
        fprintf(stderr, "routec verify: no input files\n");
        return RC_USAGE;
    }
    int rc = RC_OK;
    for (unsigned i = 0; i < o->nfile; i++) {
        rbc_file rf;
        rv_err err;
        if (rbc_map_file(o->files[i], 256u << 20, &rf, &err)) {
            fprintf(stderr, "routec: %s\n", err.msg);
            rc = RC_USAGE;
            continue;
        }
        rv_program *p = rbc_load(rf.buf, rf.len, o->trust, &err);
        rbc_unmap_file(&rf);
        if (!p) {
            fprintf(stderr, "%s: rejected: %s\n", o->files[i], err.msg);
            if (rc == RC_OK)
                rc = RC_FINDINGS;
            continue;
        }
        char hex[65];
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", p->digest[k]);
        printf("%s: ok, %u agents, %u models, %u instructions, sha256 %s%s\n", o->files[i], p->nagent,
               p->nmodel, p->ncode, hex, o->trust ? ", signature verified" : "");
        rv_program_free(p);
    }
    return rc;
}

/* Run the test blocks of each policy. */
static int cmd_test(const options *o)
{
    if (!o->nfile) {
        fprintf(stderr, "routec test: no input files\n");
        return RC_USAGE;
    }
    unsigned passed = 0, failed = 0;
    int usage_err = 0, below = 0;
    for (unsigned i = 0; i < o->nfile; i++) {
        int st;
        rv_compiler *c = compile(o, o->files[i], 0, &st);
        if (!c || st != RC_OK) {
            if (c)
                diag_print(&c->diag, DIAG_TEXT, stdout);
            printf("FAIL %s: the policy does not compile\n", o->files[i]);
            failed++;
            usage_err |= st == RC_USAGE;
            comp_free(c);
            continue;
        }
        char err[512];
        rv_program *p = cg_program_loaded(c, err, sizeof err);   /* what the runtime would load */
        comp_free(c);
        if (!p) {
            printf("FAIL %s: %s\n", o->files[i], err);
            failed++;
            continue;
        }
        tr_stats ts;
        tr_run(p, o->coverage, stdout, &ts);
        passed += ts.passed;
        failed += ts.failed;
        if (o->coverage) {
            unsigned total = ts.rules + ts.branches, hit = ts.rules_hit + ts.branches_hit;
            double pct = total ? 100.0 * hit / total : 100.0;
            printf("%s: coverage %.1f%% (rules %u/%u, condition outcomes %u/%u)\n", o->files[i], pct,
                   ts.rules_hit, ts.rules, ts.branches_hit, ts.branches);
            if (o->threshold > 0 && pct + 1e-9 < o->threshold) {
                printf("%s: coverage %.1f%% is below the threshold of %.1f%%\n", o->files[i], pct, o->threshold);
                below = 1;
            }
        }
        rv_program_free(p);
    }
    printf("%u passed, %u failed\n", passed, failed);
    return usage_err ? RC_USAGE : (failed || below) ? RC_FINDINGS : RC_OK;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "graph"))   /* its own options (graphcmd.c) */
        return graph_main(argc - 1, argv + 1);
    if (argc < 2) {
        usage(stderr);
        return RC_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return RC_OK;
    }
    if (!strcmp(argv[1], "lsp"))
        return lsp_main(argc, argv);
    if (!strcmp(argv[1], "fmt"))
        return fmtcmd_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "import"))
        return imp_main(argc, argv);
    options o = { .format = DIAG_TEXT };
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return RC_USAGE;
    }
    rv_err kerr;
    if (o.trust && rbc_check_key(o.trust, &kerr)) {
        fprintf(stderr, "routec: %s\n", kerr.msg);
        return RC_USAGE;
    }
    if (!strcmp(argv[1], "check"))
        return cmd_check(&o);
    if (!strcmp(argv[1], "build"))
        return cmd_build(&o);
    if (!strcmp(argv[1], "dis"))
        return cmd_dis(&o);
    if (!strcmp(argv[1], "verify"))
        return cmd_verify(&o);
    if (!strcmp(argv[1], "test"))
        return cmd_test(&o);
    fprintf(stderr, "routec: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RC_USAGE;
}
