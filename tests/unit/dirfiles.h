/* Test data read whole: a file, or every file of a directory, for the
   tests that run over them (tests/unit/answers_diff_test.c,
   bodies_test.c).  Header-only (static inline functions, so a test that
   uses one of them does not warn about the other) because every
   tests/unit/NAME.c becomes its own test binary. */
#ifndef RV_TEST_DIRFILES_H
#define RV_TEST_DIRFILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file at 'path' (a heap buffer the caller frees; its length
   in '*n'), or NULL. */
static inline char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0, r;
    do {
        if (len + 4096 > cap) {
            char *b = realloc(buf, cap = cap * 2 + 4096);
            if (!b)
                break;
            buf = b;
        }
        r = fread(buf + len, 1, cap - len, f);
        len += r;
    } while (r);
    fclose(f);
    *n = len;
    return buf;
}

/* Every regular file of 'dir' but README.md, sorted, to 'fn'; the number
   of files, -1 when 'dir' cannot be read. */
static inline int each_file(const char *dir, void (*fn)(const char *name, const char *p, size_t n, void *ud), void *ud)
{
    struct dirent **ents;
    int k = scandir(dir, &ents, NULL, alphasort), files = 0;
    if (k < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        char path[4096];
        size_t n;
        const char *name = ents[i]->d_name;
        int fits = snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path;
        char *p = !fits || name[0] == '.' || !strcmp(name, "README.md") ? NULL : slurp(path, &n);
        if (p) {
            fn(name, p, n, ud);
            files++;
        }
        free(p);
        free(ents[i]);
    }
    free(ents);
    return files;
}

#endif
