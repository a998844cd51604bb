/* file: URIs, as LSP clients send them, to paths and back (RFC 8089, the
   forms editors use: "file:///abs/path" and "file://localhost/abs/path",
   percent-encoded).  Other schemes ("untitled:") have no path: such a
   document is checked on its own, its relative imports looked up from
   the current directory. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lsp_int.h"
#include "mem.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

char *lspu_to_path(const char *uri)
{
    if (strncmp(uri, "file://", 7))
        return NULL;
    const char *p = uri + 7;
    if (!strncmp(p, "localhost/", 10))
        p += 9;
    if (*p != '/')
        return NULL;   /* another host, or no path */
    size_t n = strcspn(p, "?#");
    if (n >= PATH_MAX)
        return NULL;
    char *out = mem_malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '%') {
            *o++ = p[i];
            continue;
        }
        int hi = i + 2 < n ? hexval((unsigned char)p[i + 1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)p[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {   /* a bad escape, or a NUL */
            free(out);
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = 0;
    return out;
}

char *lspu_from_path(const char *path)
{
    char real[PATH_MAX];
    const char *p = realpath(path, real) ? real : path;
    size_t n = strlen(p);
    char *out = mem_malloc(7 + 3 * n + 1);
    if (!out)
        return NULL;
    char *o = out + sprintf(out, "file://");
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *q = (const unsigned char *)p; *q; q++) {
        /* RFC 3986 unreserved characters and the path separator stay */
        if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
            strchr("-._~/", *q)) {
            *o++ = (char)*q;
        } else {
            *o++ = '%';
            *o++ = hex[*q >> 4];
            *o++ = hex[*q & 15];
        }
    }
    *o = 0;
    return out;
}
