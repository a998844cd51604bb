/* vm/providers/jview.c: a parse that keeps only wanted members
   (jv_parse_want) against the whole parse (jv_parse) of the same text.

   For every input -- each JSONTestSuite file (tests/vectors/json/
   test_parsing) and each case of tests/jview/ (hand-made: duplicate keys
   in members left out, at every depth, in small and large objects, under
   escapes; wanted members in arrays, in arrays of arrays, repeated) --
   with each want table below and duplicates refused or taken, both
   parses must give the same verdict and the same message, and what the
   filtered parse kept must be exactly the whole tree cut down by the
   table (written out with jv_write and compared byte for byte; the cut
   is computed here, recursively, from the whole tree; a tree deeper than
   the writer allows must fail to be written both ways).  A case of
   tests/jview/ named refuse_* must be refused, accept_* accepted (with
   duplicates refused).
   Usage: jview_test REPO_ROOT */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "jview.h"

#include "dirfiles.h"

static int failures, compared;

/* ---------------------------------------------------------------- tables */

static const jv_want leaf[] = { JV_WANT("b", NULL), JV_WANT("id", NULL), JV_WANT_END };
static const jv_want mid[] = { JV_WANT("a", leaf), JV_WANT("k", NULL), JV_WANT("", NULL), JV_WANT_END };
static const jv_want top[] = { JV_WANT("a", mid), JV_WANT("x", leaf), JV_WANT("choices", mid),
                               JV_WANT("\xc3\xa9", NULL), JV_WANT("k", NULL), JV_WANT_END };
static const jv_want none[] = { JV_WANT_END };
static const jv_want single[] = { JV_WANT("a", NULL), JV_WANT_END };

static const struct { const char *name; const jv_want *want; } TABLES[] = {
    { "nested", top }, { "none", none }, { "single", single }, { "all", NULL },
};

/* ---------------------------------------------------------------- the cut */

static const jv_want *find(const jv_want *w, const char *k, size_t n)
{
    for (; w->key; w++)
        if (w->len == n && !memcmp(w->key, k, n))
            return w;
    return NULL;
}

/* 'v' as the filtered parse should have kept it under 'want' (NULL all). */
static void cut(const jv_parser *P, jv v, const jv_want *want, jw_writer *w, int depth)
{
    jv_type t = jv_typeof(P, v);
    if (!want || (t != JV_OBJECT && t != JV_ARRAY) || depth > JW_MAX_DEPTH) {     /* deeper: the writer fails */
        jv_write(P, v, w);
        return;
    }
    if (t == JV_ARRAY) {
        jw_array(w);
        for (jv c = jv_first(P, v); c; c = jv_next(P, c))
            cut(P, c, want, w, depth + 1);
        jw_end(w);
        return;
    }
    jw_object(w);
    for (jv c = jv_first(P, v); c; c = jv_next(P, c)) {
        size_t kl = 0;
        const char *k = jv_key(P, c, &kl);
        const jv_want *e = k ? find(want, k, kl) : NULL;
        if (e) {
            jw_keyn(w, k, kl);
            cut(P, c, e->members, w, depth + 1);
        }
    }
    jw_end(w);
}

/* ---------------------------------------------------------------- comparing */

static char *written(const jv_parser *P, jv v, const jv_want *want, int by_cut, size_t *len)
{
    jw_writer w;
    jw_init_mem(&w, 0);
    if (by_cut)
        cut(P, v, want, &w, 0);
    else
        jv_write(P, v, &w);
    return jw_take(&w, len);
}

static void compare(const char *name, const char *p, size_t n, void *ud)
{
    (void)ud;
    jv_parser *full = jv_new(), *part = jv_new();
    for (size_t t = 0; t < sizeof TABLES / sizeof *TABLES; t++)
        for (int dups = 0; dups < 2; dups++) {
            compared++;
            jv a = jv_parse(full, p, n, dups), b = jv_parse_want(part, p, n, dups, TABLES[t].want);
            if (!a != !b || strcmp(jv_error(full), jv_error(part))) {
                if (failures++ < 20)
                    printf("FAIL jview/%s: table %s, dups %d: whole parse %s (%s), filtered %s (%s)\n", name,
                           TABLES[t].name, dups, a ? "accepts" : "refuses", jv_error(full),
                           b ? "accepts" : "refuses", jv_error(part));
                continue;
            }
            if (!a)
                continue;
            size_t la = 0, lb = 0;
            char *wa = written(full, a, TABLES[t].want, 1, &la), *wb = written(part, b, NULL, 0, &lb);
            if (!wa != !wb || (wa && (la != lb || memcmp(wa, wb, la)))) {     /* both unwritable (too deep) agree */
                if (failures++ < 20)
                    printf("FAIL jview/%s: table %s, dups %d: kept %.*s, expected %.*s\n", name, TABLES[t].name,
                           dups, (int)(lb < 300 ? lb : 300), wb ? wb : "", (int)(la < 300 ? la : 300), wa ? wa : "");
            }
            free(wa);
            free(wb);
        }
    /* the hand-made cases say what they must be */
    if (!strncmp(name, "refuse_", 7) || !strncmp(name, "accept_", 7)) {
        int ok = jv_parse_want(part, p, n, 0, top) != 0;
        if (ok != (name[0] == 'a') && failures++ < 20)
            printf("FAIL jview/%s: %s (%s)\n", name, ok ? "accepted" : "refused", jv_error(part));
    }
    jv_free(full);
    jv_free(part);
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/jview", root);
    int cases = each_file(dir, compare, NULL);
    snprintf(dir, sizeof dir, "%s/tests/vectors/json/test_parsing", root);
    int suite = each_file(dir, compare, NULL);
    if (cases < 10 || suite < 300) {
        printf("FAIL jview/inputs: %d cases and %d JSONTestSuite files found under %s\n", cases, suite, root);
        return 1;
    }
    if (!failures)
        printf("PASS jview/want (%d parses of %d cases and %d JSONTestSuite files: the same verdicts, messages "
               "and kept members)\n", compared, cases, suite);
    else
        printf("FAIL jview/want: %d of %d parses differ\n", failures, compared);
    return failures ? 1 : 0;
}
