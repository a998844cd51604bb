/* The equations of a text, checked (vm/equations.c), against the cases
   of tests/builtins/equations.cases (its header gives the format): for
   each, how many equations were checked, how many held and the last
   result.  Every text is copied into a heap buffer of its exact size so
   the sanitizers see any read past its end.  Then two properties over
   generated texts: a scan never reports more equations held than
   checked, and a text made of N annotations "<<a+b=c>>" is N equations.
   Usage: equations_test REPO_ROOT */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "equations.h"
#include "mem.h"

static int failures;

#define PASS(name) printf("PASS %s\n", name)
#define FAIL(name, ...) \
    (failures++, printf("FAIL %s: ", name), printf(__VA_ARGS__), putchar('\n'))

/* Trim spaces and tabs at both ends of s[0..*n); returns the new start. */
static char *trim(char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t'))
        s++, (*n)--;
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\n' || s[*n - 1] == '\r'))
        (*n)--;
    return s;
}

/* The case text s[0..n) with its escapes (\n, \t, \\) decoded, in a heap
   buffer of exactly its length (the caller frees it); length in '*out'. */
static char *unescape(const char *s, size_t n, size_t *out)
{
    char *p = mem_malloc(n ? n : 1);
    if (!p)
        exit(2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 't' || s[i + 1] == '\\')) {
            i++;
            p[k++] = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : '\\';
        } else {
            p[k++] = s[i];
        }
    }
    char *q = mem_malloc(k ? k : 1);    /* exact size, for the sanitizers */
    if (!q)
        exit(2);
    memcpy(q, p, k);
    free(p);
    *out = k;
    return q;
}

/* One line "NAME | CHECKED HELD RESULT | TEXT": run it and report. */
static void run_case(char *line, const char *file, int lineno)
{
    char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    char where[64];
    snprintf(where, sizeof where, "equations/%s:%d", file, lineno);
    if (!bar2) {
        FAIL(where, "a case needs NAME | CHECKED HELD RESULT | TEXT");
        return;
    }
    size_t nn = (size_t)(bar1 - line);
    char *name = trim(line, &nn);
    char label[160];
    snprintf(label, sizeof label, "equations/%.*s", (int)nn, name);
    unsigned checked, held;
    char result[64];
    *bar2 = 0;
    if (sscanf(bar1 + 1, "%u %u %63s", &checked, &held, result) != 3) {
        FAIL(where, "bad expectation '%s'", bar1 + 1);
        return;
    }
    size_t tn = strlen(bar2 + 1);
    char *t = trim(bar2 + 1, &tn);
    size_t n;
    char *text = unescape(t, tn, &n);
    eqn_stats es;
    eqn_scan(text, n, &es);
    free(text);
    int want_result = strcmp(result, "-") != 0;
    int64_t want = want_result ? (int64_t)llround(strtod(result, NULL) * 1e6) : 0;
    if (es.checked != checked || es.held != held || es.has_result != want_result ||
        (want_result && es.result != want))
        FAIL(label, "checked %" PRIu32 " held %" PRIu32 " result %s%.6f; want %u %u %s", es.checked, es.held,
             es.has_result ? "" : "none ", es.result / 1e6, checked, held, result);
    else
        PASS(label);
}

/* Every case of the open file 'f' (named 'path' in messages). */
static void run_cases(FILE *f, const char *path)
{
    char line[4096];
    int lineno = 0, ncases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        char *s = trim(line, &n);
        if (!n || *s == '#')
            continue;
        s[n] = 0;
        run_case(s, "equations.cases", lineno);
        ncases++;
    }
    if (ncases < 40)
        FAIL("equations/cases", "only %d cases read from %s", ncases, path);
}

/* Properties over generated texts: random bytes from an alphabet of
   digits, operators and separators never give held > checked; N
   annotations in a row are N equations, and the scan of a long text
   completes (linear time, no recursion). */
static void properties(void)
{
    static const char alpha[] = "0123456789+-*/^=()<>x.,%$ \n";
    uint64_t seed = 88172645463325252u;
    int bad = 0;
    for (int round = 0; round < 20000 && !bad; round++) {
        char buf[64];
        size_t n = 1 + round % 63;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            buf[i] = alpha[seed % (sizeof alpha - 1)];
        }
        char *t = mem_malloc(n);
        if (!t)
            exit(2);
        memcpy(t, buf, n);
        eqn_stats es;
        eqn_scan(t, n, &es);
        free(t);
        if (es.held > es.checked) {
            FAIL("equations/held-at-most-checked", "'%.*s': held %u > checked %u", (int)n, buf, es.held, es.checked);
            bad = 1;
        }
    }
    if (!bad)
        PASS("equations/held-at-most-checked");

    enum { N = 20000 };
    static const char one[] = "<<1+2=3>>";
    size_t len = N * (sizeof one - 1);
    char *big = mem_malloc(len);
    if (!big)
        exit(2);
    for (size_t i = 0; i < N; i++)
        memcpy(big + i * (sizeof one - 1), one, sizeof one - 1);
    eqn_stats es;
    eqn_scan(big, len, &es);
    if (es.checked != N || es.held != N || !es.has_result || es.result != 3000000)
        FAIL("equations/many-annotations", "checked %u held %u", es.checked, es.held);
    else
        PASS("equations/many-annotations");
    /* deep nesting is cut off, not followed */
    memset(big, '(', len);
    eqn_scan(big, len, &es);
    if (es.checked != 0)
        FAIL("equations/deep-parentheses", "checked %u", es.checked);
    else
        PASS("equations/deep-parentheses");
    free(big);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s REPO_ROOT\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/builtins/equations.cases", argv[1]);
    FILE *f = fopen(path, "r");
    if (f) {
        run_cases(f, path);
        fclose(f);
    } else {
        FAIL("equations/cases", "cannot open %s", path);
    }
    properties();
    eqn_stats es;
    eqn_scan(NULL, 0, &es);
    if (es.checked || es.has_result)
        FAIL("equations/null", "a NULL text has equations");
    else
        PASS("equations/null");
    return failures != 0;
}
