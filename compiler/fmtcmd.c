/* routec fmt FILE... [--check | -w]

   Without a flag each formatted file is written to standard output.
   --check writes nothing: it lists the files whose layout would change
   and exits 1 if there is one (a CI gate).  -w rewrites the files whose
   layout changes, once their new text is complete and checked, through
   fw_write (filew.h): renamed over atomically in the normal case, in
   place with a backup when the file has several hard links or an owner a
   rename would not keep.  "-" reads standard input (not with -w).

   A file that does not parse is reported with the checker's diagnostics
   and left alone.  Exit status 2 then, as for usage and I/O errors: 1
   means "would change" under --check, and a CI gate must tell the two
   apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "filew.h"
#include "fmt.h"
#include "fmtcmd.h"
#include "rbc.h"

#define MAX_SOURCE (64u << 20)   /* as for every source (compiler/import.c) */

static void fmt_usage(FILE *f)
{
    fputs("usage: routec fmt FILE... [--check | -w]    ('-' reads standard input)\n"
          "  (no flag)  write each formatted file to standard output\n"
          "  --check    list the files whose layout would change; exit 1 if any\n"
          "  -w         rewrite those files in place\n"
          "exit status: 0 formatted, 1 --check found a file to format, 2 usage, I/O or syntax error\n", f);
}

typedef struct { int check, write; } fmt_opts;

/* Format one file; returns its exit status. */
static int fmt_file(const fmt_opts *o, const char *path)
{
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    uint8_t *text;
    size_t len;
    rv_err rerr;
    if (rbc_read_file(path, MAX_SOURCE, &text, &len, &rerr)) {
        fprintf(stderr, "routec: %s\n", rerr.msg);
        return RC_USAGE;
    }
    char *out, err[512];
    size_t outlen;
    int r = fmt_source(name, (const char *)text, len, stderr, &out, &outlen, err, sizeof err);
    if (r) {
        if (r < 0)
            fprintf(stderr, "routec: %s: %s\n", name, err);
        else
            fprintf(stderr, "routec: %s: not formatted: it has syntax errors\n", name);
        free(text);
        return RC_USAGE;
    }
    int same = outlen == len && !memcmp(out, text, len), rc = RC_OK;
    free(text);
    if (o->check) {
        if (!same) {
            printf("%s\n", name);
            rc = RC_FINDINGS;
        }
    } else if (o->write) {
        if (!same && fw_write(path, out, outlen, FW_EXISTING, err, sizeof err)) {
            fprintf(stderr, "routec: %s\n", err);
            rc = RC_USAGE;
        }
    } else {
        fwrite(out, 1, outlen, stdout);
    }
    free(out);
    return rc;
}

int fmtcmd_main(int argc, char **argv)
{
    fmt_opts o = { 0 };
    int nfile = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check")) {
            o.check = 1;
        } else if (!strcmp(a, "-w")) {
            o.write = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fmt_usage(stdout);
            return RC_OK;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "routec fmt: unknown option '%s'\n", a);
            fmt_usage(stderr);
            return RC_USAGE;
        } else {
            nfile++;
        }
    }
    if (o.check && o.write) {
        fprintf(stderr, "routec fmt: --check and -w do not go together\n");
        return RC_USAGE;
    }
    if (!nfile) {
        fprintf(stderr, "routec fmt: no input files\n");
        fmt_usage(stderr);
        return RC_USAGE;
    }
    for (int i = 0; o.write && i < argc; i++)
        if (!strcmp(argv[i], "-")) {   /* (before any file is rewritten) */
            fprintf(stderr, "routec fmt: -w cannot rewrite standard input\n");
            return RC_USAGE;
        }
    int worst = RC_OK;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        int rc = fmt_file(&o, argv[i]);
        if (rc > worst)
            worst = rc;
    }
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "routec fmt: cannot write to standard output: %s\n", strerror(errno));
        return RC_USAGE;
    }
    return worst;
}
