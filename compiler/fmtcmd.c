/* routec fmt FILE... [--check | -w]

   Without a flag each formatted file is written to standard output.
   --check writes nothing: it lists the files whose layout would change
   and exits 1 if there is one (a CI gate).  -w rewrites, in place, the
   files whose layout changes: the new text goes to a temporary file in
   the same directory, which takes the old file's mode (and owner, where
   allowed), is flushed to disk and renamed over the old one, so a reader
   sees the old file or the new one, never a mix; a symbolic link is
   followed and stays a link.  "-" reads standard input (not with -w).

   A file that does not parse is reported with the checker's diagnostics
   and left alone.  Exit status 2 then, as for usage and I/O errors: 1
   means "would change" under --check, and a CI gate must tell the two
   apart. */
#define _GNU_SOURCE   /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcode.h"
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

/* Write all of buf to fd; 0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Replace the file 'path' (after symbolic links) with buf[0, len): a
   temporary file beside it, the old mode and owner, fsync, rename, and an
   fsync of the directory so the rename itself is on disk.  0, or -1 with
   a message in 'err'; the old file is untouched on failure. */
static int replace_file(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
    char real[PATH_MAX], tmp[PATH_MAX + 32];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st)) {
        snprintf(err, errlen, "cannot rewrite '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot rewrite '%s': not a regular file", path);
        return -1;
    }
    /* the rename needs only the directory's permission: a file its owner
       made read-only, or another user's file in a shared directory, would
       be replaced all the same */
    if (faccessat(AT_FDCWD, real, W_OK, AT_EACCESS)) {
        snprintf(err, errlen, "cannot rewrite '%s': %s", path, strerror(errno));
        return -1;
    }
    char *slash = strrchr(real, '/');   /* (realpath is absolute) */
    *slash = 0;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.fmt-XXXXXX", real, slash + 1);
    *slash = '/';
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, errlen, "cannot rewrite '%s': path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot rewrite '%s': %s", path, strerror(errno));
        return -1;
    }
    if (fchown(fd, st.st_uid, st.st_gid)) {
        /* only root may give a file away: it is then the writer's */
    }
    if (fchmod(fd, st.st_mode & 07777) || write_all(fd, buf, len) || fsync(fd)) {
        snprintf(err, errlen, "cannot rewrite '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) || rename(tmp, real)) {
        snprintf(err, errlen, "cannot rewrite '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    *slash = 0;
    int dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    if (dfd >= 0) {
        fsync(dfd);   /* (some file systems cannot sync a directory: the rename is done all the same) */
        close(dfd);
    }
    return 0;
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
        if (!same && replace_file(path, out, outlen, err, sizeof err)) {
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
