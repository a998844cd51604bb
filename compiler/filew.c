/* Output files written whole, keeping the target's names, mode and
   owner; see filew.h for the rules.  The steps, in order: resolve the
   target (symbolic links followed), refuse what may not be written, then
   one of three ways: straight (not a regular file), renamed (the normal
   case) or in place with a backup (several hard links, or an owner the
   rename could not keep). */
#define _GNU_SOURCE   /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filew.h"

typedef struct {
    const char *path;   /* as the user gave it, for messages */
    const char *verb;   /* "write", or "rewrite" for FW_EXISTING */
    char *err;
    size_t errlen;
} fw_ctx;

/* Report "cannot VERB 'PATH': REASON[EXTRA]"; -1, errno kept. */
static int fw_fail(const fw_ctx *c, const char *reason, const char *extra)
{
    int e = errno;
    snprintf(c->err, c->errlen, "cannot %s '%s': %s%s", c->verb, c->path, reason, extra ? extra : "");
    errno = e;
    return -1;
}

static int fw_errno(const fw_ctx *c)
{
    return fw_fail(c, strerror(errno), NULL);
}

/* Write all of buf to fd from offset 'off' (-1: the current offset). */
static int write_all(int fd, const char *buf, size_t len, off_t off)
{
    while (len) {
        ssize_t w = off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

/* Copy what remains of 'from' to 'to'. */
static int copy_fd(int from, int to)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(from, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return (int)r;
        if (write_all(to, buf, (size_t)r, -1))
            return -1;
    }
}

/* The file 'path' names, after symbolic links, in real[PATH_MAX] and its
   status in *st: 1 when it exists, 0 when it is to be created (real is
   then 'path'), -1 on error. */
static int fw_resolve(const fw_ctx *c, unsigned flags, char *real, struct stat *st)
{
    struct stat lst;
    if (lstat(c->path, &lst)) {
        if (errno != ENOENT || (flags & FW_EXISTING))
            return fw_errno(c);
        if (strlen(c->path) >= PATH_MAX) {
            errno = ENAMETOOLONG;
            return fw_errno(c);
        }
        strcpy(real, c->path);
        return 0;
    }
    if (!realpath(c->path, real)) {
        if (errno == ENOENT && S_ISLNK(lst.st_mode))   /* (as cp, never create a dangling link's target) */
            return fw_fail(c, "a symbolic link to a file that does not exist", NULL);
        return fw_errno(c);
    }
    if (stat(real, st))
        return fw_errno(c);
    if (S_ISDIR(st->st_mode)) {
        errno = EISDIR;
        return fw_errno(c);
    }
    if (!S_ISREG(st->st_mode) && (flags & FW_EXISTING)) {
        errno = EINVAL;
        return fw_fail(c, "not a regular file", NULL);
    }
    /* a rename needs only the directory's permission: a file its owner
       made read-only, or another user's file in a shared directory, would
       be replaced all the same */
    if (faccessat(AT_FDCWD, real, W_OK, AT_EACCESS))
        return fw_errno(c);
    return 1;
}

/* A terminal, /dev/null, a FIFO: written as a shell redirection would. */
static int fw_straight(const fw_ctx *c, const char *real, const char *buf, size_t len)
{
    int fd = open(real, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, buf, len, -1)) {
        fw_errno(c);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return close(fd) ? fw_errno(c) : 0;
}

/* Flush the directory of 'real' so a rename in it is on disk. */
static void fw_sync_dir(char *real)
{
    char *slash = strrchr(real, '/');
    if (slash)
        *slash = 0;
    int dfd = open(slash ? (*real ? real : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (slash)
        *slash = '/';
    if (dfd >= 0) {
        fsync(dfd);   /* (some file systems cannot sync a directory: the rename is done all the same) */
        close(dfd);
    }
}

/* Rewrite 'real' in place; 'bfd' is an empty file at 'bak' beside it,
   which receives the old content first and is removed at the end. */
static int fw_in_place(const fw_ctx *c, const char *real, int bfd, const char *bak, const char *buf, size_t len)
{
    int fd = open(real, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || copy_fd(fd, bfd) || fsync(bfd)) {
        fw_errno(c);
        goto untouched;
    }
    /* the space first, so that a full disk stops us before the old
       content is overwritten (where the file system cannot reserve, the
       backup still holds it) */
    int r = posix_fallocate(fd, 0, (off_t)len);
    if (r && r != EOPNOTSUPP && r != EINVAL && r != ENOSYS) {
        errno = r;
        fw_errno(c);
        if (ftruncate(fd, st.st_size)) {
            /* (only the reserved tail could remain, past the old content) */
        }
        goto untouched;
    }
    if (write_all(fd, buf, len, 0) || ftruncate(fd, (off_t)len) || fsync(fd)) {
        char extra[PATH_MAX + 96];
        snprintf(extra, sizeof extra, "; it may be incomplete: its previous content is in '%s'", bak);
        fw_fail(c, strerror(errno), extra);
        close(fd);
        close(bfd);
        return -1;
    }
    close(fd);
    close(bfd);
    unlink(bak);
    return 0;
untouched:
    if (fd >= 0)
        close(fd);
    close(bfd);
    unlink(bak);
    return -1;
}

int fw_write(const char *path, const void *buf, size_t len, unsigned flags, char *err, size_t errlen)
{
    fw_ctx c = { path, flags & FW_EXISTING ? "rewrite" : "write", err, errlen };
    char real[PATH_MAX], tmp[PATH_MAX + 16];
    struct stat st;
    int exists = fw_resolve(&c, flags, real, &st);
    if (exists < 0)
        return -1;
    if (exists && !S_ISREG(st.st_mode))
        return fw_straight(&c, real, buf, len);
    const char *slash = strrchr(real, '/'), *base = slash ? slash + 1 : real;
    int n = snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", (int)(base - real), real, base);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return fw_errno(&c);
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return fw_fail(&c, "cannot create a file beside it: ", strerror(errno));
    if (exists && (st.st_nlink > 1 || fchown(fd, st.st_uid, st.st_gid)))
        return fw_in_place(&c, real, fd, tmp, buf, len);
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(fd, mode) || write_all(fd, buf, len, -1) || fsync(fd)) {
        fw_errno(&c);
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) || rename(tmp, real)) {
        fw_errno(&c);
        unlink(tmp);
        return -1;
    }
    fw_sync_dir(real);
    return 0;
}
