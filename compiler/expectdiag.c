/* Expectations in test policies, in the spirit of clang's -verify:

       # expect: error[undeclared] 12:9
       # expect: warning[shadowed-rule] 30:5 "implies rule 2"
       # expect: error[import-not-found] other.route:3:1

   Each names a severity, a diagnostic name, a position (line:col, or
   file:line:col for a diagnostic in another file) and optionally a piece
   of the message.  The compilation must report exactly the expected
   diagnostics, no more and no fewer.  A file with no expectations must
   compile cleanly. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "expectdiag.h"
#include "mem.h"

typedef struct {
    diag_sev sev;
    char name[48], file[256], msg[256];
    unsigned line, col, src_line;
    int met;
} expectation;

static int parse_expect(const char *p, size_t n, expectation *e)
{
    char buf[1024];
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    char sev[16], pos[200];
    int used = 0;
    memset(e, 0, sizeof *e);
    if (sscanf(buf, " %15[a-z][%47[a-z0-9-]] %199s%n", sev, e->name, pos, &used) != 3)
        return -1;
    e->sev = !strcmp(sev, "error") ? SEV_ERROR : !strcmp(sev, "warning") ? SEV_WARNING
           : !strcmp(sev, "note") ? SEV_NOTE : (diag_sev)-1;
    if ((int)e->sev < 0)
        return -1;
    char *last = strrchr(pos, ':');
    if (!last)
        return -1;
    *last = 0;
    e->col = (unsigned)atoi(last + 1);
    char *mid = strrchr(pos, ':');
    if (mid) {
        *mid = 0;
        snprintf(e->file, sizeof e->file, "%s", pos);
        e->line = (unsigned)atoi(mid + 1);
    } else {
        e->line = (unsigned)atoi(pos);
    }
    const char *q = strchr(buf + used, '"');
    if (q) {
        const char *end = strrchr(q + 1, '"');
        if (!end)
            return -1;
        snprintf(e->msg, sizeof e->msg, "%.*s", (int)(end - q - 1), q + 1);
    }
    return e->line && e->col ? 0 : -1;
}

static const char *sev_name(diag_sev s)
{
    return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "note";
}

int xdiag_verify(rv_compiler *c, const char *name, FILE *out)
{
    if (!c->src.n) {
        fprintf(out, "FAIL %s: could not be read\n", name);
        return -1;
    }
    const src_file *f = &c->src.files[0];
    if (!src_text(&c->src, 0)) {
        fprintf(out, "FAIL %s: changed while it was checked\n", name);
        return -1;
    }
    expectation *ex = NULL;
    size_t nex = 0, cap = 0;
    int bad = 0;
    char why[4096];
    size_t wo = 0;
    why[0] = 0;
#define WHY(...) (wo += (size_t)snprintf(why + wo, wo < sizeof why ? sizeof why - wo : 0, __VA_ARGS__))
    for (uint32_t l = 1; l <= f->nline; l++) {
        size_t len;
        const char *line = src_line(&c->src, 0, l, &len);
        const char *m = memmem(line, len, "# expect:", 9);
        if (!m)
            continue;
        if (nex == cap) {
            cap = cap ? cap * 2 : 8;
            expectation *n = mem_realloc(ex, cap * sizeof *ex);
            if (!n) { free(ex); return -1; }
            ex = n;
        }
        if (parse_expect(m + 9, len - (size_t)(m + 9 - line), &ex[nex])) {
            WHY("\n    line %u: malformed expectation", l);
            bad = 1;
            continue;
        }
        ex[nex++].src_line = l;
    }
    for (unsigned i = 0; i < c->diag.n; i++) {
        const diag *g = &c->diag.v[i];
        const char *gfile = g->at.file < c->src.n ? c->src.files[g->at.file].name : "";
        int found = 0;
        for (size_t j = 0; j < nex && !found; j++) {
            expectation *e = &ex[j];
            if (e->met || e->sev != g->sev || strcmp(e->name, diag_names[g->code]) || e->line != g->at.line ||
                e->col != g->at.col)
                continue;
            if (e->file[0] ? !strstr(gfile, e->file) : g->at.file != 0)
                continue;
            if (e->msg[0] && (!g->msg || !strstr(g->msg, e->msg)))
                continue;
            e->met = found = 1;
        }
        if (!found) {
            WHY("\n    unexpected %s:%u:%u: %s[%s] %s", gfile, g->at.line, g->at.col, sev_name(g->sev),
                diag_names[g->code], g->msg ? g->msg : "");
            bad = 1;
        }
    }
    for (size_t j = 0; j < nex; j++)
        if (!ex[j].met) {
            WHY("\n    missing (line %u) %s[%s] %s%s%u:%u%s%s%s", ex[j].src_line, sev_name(ex[j].sev), ex[j].name,
                ex[j].file, ex[j].file[0] ? ":" : "", ex[j].line, ex[j].col, ex[j].msg[0] ? " \"" : "", ex[j].msg,
                ex[j].msg[0] ? "\"" : "");
            bad = 1;
        }
#undef WHY
    if (bad)
        fprintf(out, "FAIL %s: diagnostics differ from expectations%s\n", name, why);
    else
        fprintf(out, "PASS %s (%zu diagnostic%s)\n", name, nex, nex == 1 ? "" : "s");
    free(ex);
    return bad ? -1 : 0;
}
