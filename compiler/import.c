/* Loading sources: the root files a user names, and everything they
   import, read and parsed into the compilation's declaration list.

   An import path is resolved, in order, relative to the importing file's
   directory, then in each -I directory, then in the standard library
   (c->stdlib, found by comp_new()).  "std/x" names resolve in the
   standard library only.  ".route" is appended when the path has no
   extension.  Each file is parsed once, however often it is imported;
   a file imported while it is still being loaded closes a cycle, which is
   reported at the import that closes it.  Imported declarations come
   before the importer's in c->decls, so the order is deterministic.
   A root file may be "-" (standard input) or a pipe (/dev/fd/N); every
   file is read within MAX_SOURCE bytes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "mem.h"
#include "parse.h"
#include "rbc.h"

#define MAX_SOURCE (64u << 20)   /* 64 MiB per file */

struct loaded_file {
    char *real;           /* realpath: identity of the file */
    uint32_t file;        /* index in c->src */
    int loading;          /* on the import stack */
    src_span import_at;   /* the import that loaded it (line 0: a root file) */
};

/* Parse one file already in memory and append its declarations; the
   imports it names are loaded first (depth first). */
static int load_imports(rv_compiler *c, uint32_t file, ast *decls, const char *dir);

static int parse_into(rv_compiler *c, uint32_t file, ast **decls)
{
    parse_ctx p = { .arena = &c->arena, .names = &c->names, .diag = &c->diag, .file = file };
    const src_file *f = &c->src.files[file];
    if (parse_check_utf8(&p, f->text, f->len))
        return -1;
    int r = parse_source(&p, f->text, f->len);
    if (p.oom)
        c->oom = 1;
    if (p.recovered)
        c->parse_recovered = 1;
    *decls = p.head;
    return r;
}

static void append_decls(rv_compiler *c, ast *decls, int root)
{
    for (ast *d = decls, *next; d; d = next) {
        next = d->next;
        d->next = NULL;
        if (d->kind != D_IMPORT)   /* imports keep their path, not a declaration */
            d->u.decl->file_level = root;
        if (!c->decls)
            c->decls = d;
        else
            c->decls_tail->next = d;
        c->decls_tail = d;
    }
}

static struct loaded_file *find_loaded(rv_compiler *c, const char *real)
{
    for (uint32_t i = 0; i < c->nloaded; i++)
        if (!strcmp(c->loaded[i].real, real))
            return &c->loaded[i];
    return NULL;
}

/* Load the file at 'path' (shown as 'name').  'from' is the import that
   asked for it, NULL for a root file. */
static int load_path(rv_compiler *c, const char *path, const char *name, const ast *from, int root)
{
    char real[PATH_MAX];
    int unreal = 0;       /* standard input or a pipe: imports are looked up from "." */
    const char *why = NULL;
    char whybuf[sizeof ((rv_err *)0)->msg];
    if (!from && !strcmp(path, "-")) {
        /* standard input: read once, named as such; its imports are looked
           up from the current directory */
        snprintf(real, sizeof real, "-");
        name = "<stdin>";
        unreal = 1;
    } else if (!realpath(path, real)) {
        /* a root file named by a path with no real one, such as a pipe's
           /dev/fd/N (a shell's <(...)), is read as named */
        if (from || access(path, R_OK) != 0) {
            snprintf(whybuf, sizeof whybuf, "cannot open '%s': %s", path, strerror(errno));
            why = whybuf;
            goto fail;
        }
        snprintf(real, sizeof real, "%s", path);
        unreal = 1;
    }
    struct loaded_file *lf = find_loaded(c, real);
    if (lf) {
        if (lf->loading && from) {
            /* the files still loading are the import stack, in order */
            char chain[1024];
            size_t o = 0;
            for (uint32_t i = (uint32_t)(lf - c->loaded); i < c->nloaded && o < sizeof chain - 80; i++)
                if (c->loaded[i].loading)
                    o += (size_t)snprintf(chain + o, sizeof chain - o, "'%s' -> ", c->src.files[c->loaded[i].file].name);
            snprintf(chain + o, sizeof chain - o, "'%s'", c->src.files[lf->file].name);
            diag_report(&c->diag, DG_IMPORT_CYCLE, from->at, "import cycle: %s", chain);
            diag_hint(&c->diag, "move the shared declarations into a file both can import");
        }
        return 0;
    }
    rbc_file f;
    rv_err err;
    if (rbc_map_file(real, MAX_SOURCE, &f, &err)) {
        snprintf(whybuf, sizeof whybuf, "%s", err.msg);
        why = whybuf;
        goto fail;
    }
    int file = src_add(&c->src, name, path, (const char *)f.buf, f.len), f_mapped = f.mapped;
    rbc_unmap_file(&f);
    size_t cap = c->loaded_cap;
    if (file < 0 || MEM_GROW(c->loaded, c->nloaded, cap)) {
        c->oom = 1;
        return -1;
    }
    c->loaded_cap = (uint32_t)cap;
    uint32_t me = c->nloaded;
    c->loaded[me].real = mem_strndup(real, strlen(real));
    c->loaded[me].file = (uint32_t)file;
    c->loaded[me].loading = 1;
    c->loaded[me].import_at = from ? from->at : (src_span){ 0 };
    if (!c->loaded[me].real) {
        c->oom = 1;
        return -1;
    }
    c->nloaded++;
    ast *decls = NULL;
    int r = parse_into(c, (uint32_t)file, &decls);
    /* (only what was mapped is a regular file that can be read again) */
    if (c->release_text && f_mapped && src_release(&c->src, (uint32_t)file, real))
        c->oom = 1;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && !unreal)
        slash[1] = 0;
    else
        dir[0] = 0;
    if (load_imports(c, (uint32_t)file, decls, dir))
        r = -1;
    c->loaded[me].loading = 0;
    append_decls(c, decls, root);
    return r;

fail:
    if (from)
        diag_report(&c->diag, DG_IMPORT_NOT_FOUND, from->at, "%s", why);
    else {
        snprintf(c->unreadable, sizeof c->unreadable, "%s", why);
        return -2;
    }
    return -1;
}

/* 1 when 'p' is a regular file; 0 when there is nothing there (the
   search goes on); -1 when there is something an import cannot read (a
   FIFO, a directory, a device), which stops the search: its name is
   taken, and reading a FIFO would wait for a writer. */
static int exists(const char *p)
{
    struct stat st;
    if (stat(p, &st))
        return 0;
    return S_ISREG(st.st_mode) ? 1 : -1;
}

/* What a file that is not a regular one is, for a message. */
static const char *file_kind(const char *p)
{
    struct stat st;
    if (stat(p, &st))
        return "a special file";
    return S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket"
         : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file";
}

static int load_imports(rv_compiler *c, uint32_t file, ast *decls, const char *dir)
{
    int r = 0;
    for (ast *d = decls; d; d = d->next) {
        if (d->kind != D_IMPORT)
            continue;
        const char *want = d->u.str.s;
        if (!*want || strlen(want) > 512 || memchr(want, 0, d->u.str.len)) {
            diag_report(&c->diag, DG_IMPORT_NOT_FOUND, d->at, "bad import path");
            r = -1;
            continue;
        }
        const char *base = strrchr(want, '/');
        base = base ? base + 1 : want;
        const char *ext = strchr(base, '.') ? "" : ".route";
        char path[PATH_MAX], name[PATH_MAX];
        int found = 0, std = !strncmp(want, "std/", 4);
        if (c->std_only && (!std || strstr(want, ".."))) {
            diag_report(&c->diag, DG_IMPORT_NOT_FOUND, d->at, "only standard modules can be imported here");
            r = -1;
            continue;
        }
        if (!std && want[0] == '/') {
            snprintf(path, sizeof path, "%s%s", want, ext);
            found = exists(path);
        }
        if (!found && !std && want[0] != '/') {
            snprintf(path, sizeof path, "%s%s%s", dir, want, ext);
            found = exists(path);
            for (unsigned i = 0; !found && i < c->nincdir; i++) {
                snprintf(path, sizeof path, "%s/%s%s", c->incdirs[i], want, ext);
                found = exists(path);
            }
        }
        if (found > 0)
            snprintf(name, sizeof name, "%s", path);
        if (!found && want[0] != '/') {
            snprintf(path, sizeof path, "%s/%s%s", c->stdlib, want, ext);
            snprintf(name, sizeof name, "%s%s", want, ext);   /* stable name, wherever installed */
            found = exists(path);
        }
        if (found < 0) {
            diag_report(&c->diag, DG_IMPORT_NOT_FOUND, d->at, "cannot import '%s': it is %s, not a regular file",
                        path, file_kind(path));
            r = -1;
            continue;
        }
        if (!found) {
            diag_report(&c->diag, DG_IMPORT_NOT_FOUND, d->at, "cannot find '%s%s'", want, ext);
            if (std)
                diag_hint(&c->diag, "standard modules are looked up in %s", c->stdlib);
            else
                diag_hint(&c->diag, "searched next to %s, in -I directories and in the standard library",
                          c->src.files[file].name);
            r = -1;
            continue;
        }
        if (c->import_depth >= AST_MAX_IMPORTS) {
            diag_report(&c->diag, DG_TOO_DEEP, d->at, "imports nest too deep (limit %d)", AST_MAX_IMPORTS);
            diag_hint(&c->diag, "each file imported by an imported file is a level; import shared files "
                      "from one place");
            r = -1;
            continue;
        }
        c->import_depth++;
        int lr = load_path(c, path, name, d, 0);
        c->import_depth--;
        if (lr)
            r = -1;
    }
    return r;
}

int import_file(rv_compiler *c, const char *path)
{
    c->nroot++;
    return load_path(c, path, path, NULL, 1);
}

int import_text(rv_compiler *c, const char *name, const char *text, size_t len)
{
    return import_buffer(c, name, NULL, text, len);
}

int import_buffer(rv_compiler *c, const char *name, const char *path, const char *text, size_t len)
{
    if (len > MAX_SOURCE) {
        diag_report(&c->diag, DG_IMPORT_NOT_FOUND, (src_span){ 0 }, "'%s' is over the %u MiB limit of a source",
                    name, MAX_SOURCE >> 20);
        return -1;
    }
    int file = src_add(&c->src, name, path ? path : name, text, len);
    if (file < 0) {
        c->oom = 1;
        return -1;
    }
    c->nroot++;
    /* the file the text stands for is on the import stack while its
       imports load: one that imports it back closes a cycle instead of
       loading the saved copy */
    char real[PATH_MAX], dir[PATH_MAX] = "";
    uint32_t me = UINT32_MAX;
    size_t cap = c->loaded_cap;
    if (path && realpath(path, real) && !find_loaded(c, real)) {
        if (MEM_GROW(c->loaded, c->nloaded, cap)) {
            c->oom = 1;
            return -1;
        }
        c->loaded_cap = (uint32_t)cap;
        me = c->nloaded;
        c->loaded[me] = (struct loaded_file){ .real = mem_strndup(real, strlen(real)), .file = (uint32_t)file,
                                              .loading = 1 };
        if (!c->loaded[me].real) {
            c->oom = 1;
            return -1;
        }
        c->nloaded++;
    }
    if (path) {
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = 0;
        else
            dir[0] = 0;
    }
    ast *decls = NULL;
    int r = parse_into(c, (uint32_t)file, &decls);
    if (load_imports(c, (uint32_t)file, decls, dir))
        r = -1;
    if (me != UINT32_MAX)
        c->loaded[me].loading = 0;
    append_decls(c, decls, 1);
    return r;
}

const src_span *import_origin(const rv_compiler *c, uint32_t file)
{
    for (uint32_t i = 0; i < c->nloaded; i++)
        if (c->loaded[i].file == file)
            return c->loaded[i].import_at.line ? &c->loaded[i].import_at : NULL;
    return NULL;
}

void import_free(rv_compiler *c)
{
    for (uint32_t i = 0; i < c->nloaded; i++)
        free(c->loaded[i].real);
    free(c->loaded);
    c->loaded = NULL;
    c->nloaded = c->loaded_cap = 0;
}
