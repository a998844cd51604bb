/* Diagnostics collection and printing; see diag.h.  Text output follows
   clang's shape; JSON and SARIF are built with jansson. */
#define _GNU_SOURCE   /* qsort_r */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "jsonw.h"
#include "mem.h"

const char *const diag_names[DG__COUNT] = {
#define D(id, name, sev, desc) name,
#include "diag.def"
#undef D
};
const char *const diag_descs[DG__COUNT] = {
#define D(id, name, sev, desc) desc,
#include "diag.def"
#undef D
};
static const diag_sev default_sev[DG__COUNT] = {
#define D(id, name, sev, desc) SEV_##sev,
#include "diag.def"
#undef D
};
static const char *const sev_names[] = { "note", "warning", "error" };

void diag_init(diag_ctx *d, src_set *src)
{
    memset(d, 0, sizeof *d);
    d->src = src;
}

/* Texts go to the context's arena: a big policy has a few hundred
   thousand diagnostics, each with a message and often a note and a hint. */
static char *vformat(diag_ctx *d, const char *fmt, va_list ap)
{
    char buf[256];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(buf, sizeof buf, fmt, aq);   /* most messages fit: format once */
    va_end(aq);
    if (n < 0)
        return NULL;
    if ((size_t)n < sizeof buf)
        return arena_strndup(&d->text, buf, (size_t)n);
    char *s = arena_alloc(&d->text, (size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void diag_vreport(diag_ctx *d, diag_code code, src_span at, const char *fmt, va_list ap)
{
    size_t cap = d->cap;
    if (MEM_GROW(d->v, d->n, cap)) {
        d->oom = 1;
        d->nerr++;
        return;
    }
    d->cap = (unsigned)cap;
    diag *g = &d->v[d->n];
    memset(g, 0, sizeof *g);
    g->code = code;
    g->sev = default_sev[code];
    g->at = at;
    g->msg = vformat(d, fmt, ap);
    g->seq = d->n++;
    if (!g->msg)
        d->oom = 1;
    if (g->sev == SEV_ERROR)
        d->nerr++;
    else if (g->sev == SEV_WARNING)
        d->nwarn++;
}

void diag_report(diag_ctx *d, diag_code code, src_span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vreport(d, code, at, fmt, ap);
    va_end(ap);
}

void diag_hint(diag_ctx *d, const char *fmt, ...)
{
    if (!d->n)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* most hints repeat the one before (a warning per shadowed rule) */
    if (n >= 0 && (size_t)n < sizeof buf && d->last_hint && !strcmp(buf, d->last_hint)) {
        d->v[d->n - 1].hint = d->last_hint;
        return;
    }
    va_start(ap, fmt);
    d->v[d->n - 1].hint = d->last_hint = vformat(d, fmt, ap);
    va_end(ap);
    if (!d->last_hint)
        d->oom = 1;
}

void diag_note(diag_ctx *d, src_span at, const char *fmt, ...)
{
    if (!d->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    diag *g = &d->v[d->n - 1];
    g->note = vformat(d, fmt, ap);
    if (!g->note)
        d->oom = 1;
    g->note_at = at;
    va_end(ap);
}

/* Damerau-free Levenshtein distance, bounded to short identifiers. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *diag_suggest(const char *word, const char *const *cands, size_t n)
{
    /* allow about one edit per three characters, at most three; ties go
       to the earliest candidate so suggestions are deterministic */
    size_t limit = strlen(word) / 3 + 1, bestd = SIZE_MAX;
    const char *best = NULL;
    if (limit > 3)
        limit = 3;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i] || !strcmp(cands[i], word))
            continue;
        size_t dist = edit_distance(word, cands[i]);
        if (dist <= limit && dist < bestd) {
            best = cands[i];
            bestd = dist;
        }
    }
    return best;
}

static int cmp_diag(const void *pa, const void *pb, void *ctx)
{
    const diag *v = ctx, *a = &v[*(const uint32_t *)pa], *b = &v[*(const uint32_t *)pb];
    if (a->at.file != b->at.file)
        return a->at.file < b->at.file ? -1 : 1;
    if (a->at.line != b->at.line)
        return a->at.line < b->at.line ? -1 : 1;
    if (a->at.col != b->at.col)
        return a->at.col < b->at.col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The order is found on indexes and then applied in place, cycle by
   cycle: sorting the records themselves would have qsort() copy them all
   into a buffer as large as the array. */
void diag_sort(diag_ctx *d)
{
    if (d->n < 2)
        return;
    uint32_t *ix = mem_reallocarray(NULL, d->n, sizeof *ix);
    if (!ix) {
        d->oom = 1;
        return;
    }
    for (uint32_t i = 0; i < d->n; i++)
        ix[i] = i;
    qsort_r(ix, d->n, sizeof *ix, cmp_diag, d->v);
    /* position i takes record ix[i]; a record once placed is marked by
       ix[i] == i */
    for (uint32_t i = 0; i < d->n; i++) {
        if (ix[i] == i)
            continue;
        diag hold = d->v[i];
        uint32_t j = i;
        while (ix[j] != i) {
            uint32_t from = ix[j];
            d->v[j] = d->v[from];
            ix[j] = j;
            j = from;
        }
        d->v[j] = hold;
        ix[j] = j;
    }
    free(ix);
}

static const char *file_name(const diag_ctx *d, uint32_t f)
{
    return f < d->src->n ? d->src->files[f].name : "<input>";
}

/* Text output is assembled in a buffer and written once per diagnostic:
   a policy can have tens of thousands of warnings. */
typedef struct { char *b; size_t n, cap; int oom; } sbuf;

static void sb_put(sbuf *s, const char *p, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t cap = (s->n + n + 1) * 2;
        char *nb = mem_realloc(s->b, cap);
        if (!nb) {
            s->oom = 1;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void sb_str(sbuf *s, const char *p) { sb_put(s, p, strlen(p)); }

static void sb_u32(sbuf *s, uint32_t v)
{
    char d[12];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10));
    sb_put(s, d + i, sizeof d - i);
}

/* file:line:col: severity: message */
static void sb_head(sbuf *s, const diag_ctx *d, src_span at, const char *sev, const char *msg)
{
    sb_str(s, file_name(d, at.file));
    sb_put(s, ":", 1);
    sb_u32(s, at.line);
    sb_put(s, ":", 1);
    sb_u32(s, at.col);
    sb_put(s, ": ", 2);
    sb_str(s, sev);
    sb_put(s, ": ", 2);
    sb_str(s, msg);
}

/* The most of a source line a diagnostic shows: a longer line is cut
   to this many bytes around the span, so that many diagnostics on one
   long line (a list of thousands of names) print each a few hundred
   bytes, not the line. */
#define CARET_LINE 200

/* The start of the character that byte 'i' of 's' belongs to (UTF-8). */
static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    return i;
}

/* The source line, then a caret under the span: '^' and '~' to its end
   (or the line's end when the span runs on).  A line longer than
   CARET_LINE is shown from a quarter of that before the span, cut on
   character boundaries, with '...' where it was cut.  One column per
   character, not per byte (UTF-8 continuation bytes take none); tabs are
   kept so the caret lines up in a terminal; a byte-order mark at the
   start of the file, which a terminal does not show, takes none. */
static void sb_caret(sbuf *s, const diag_ctx *d, src_span at)
{
    size_t len;
    const char *line = src_line(d->src, at.file, at.line, &len);
    if (!at.line || at.file >= d->src->n || !line)   /* (no line: the file changed since) */
        return;
    size_t col = at.col ? at.col - 1 : 0, end = at.end_line == at.line && at.end_col > at.col ? at.end_col - 1 : len;
    if (at.line == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
        /* a byte-order mark: counted in the columns (it is bytes of the
           file) but never shown, so it is left out of both lines */
        line += 3;
        len -= 3;
        col = col > 3 ? col - 3 : 0;
        end = end > 3 ? end - 3 : 0;
    }
    if (col > len)
        col = len;
    size_t from = 0, to = len;
    if (len > CARET_LINE) {
        from = col > CARET_LINE / 4 ? char_start(line, col - CARET_LINE / 4) : 0;
        to = from + CARET_LINE < len ? char_start(line, from + CARET_LINE) : len;
    }
    if (end > to)
        end = to;
    sb_put(s, "    ", 4);
    if (from)
        sb_put(s, "...", 3);
    sb_put(s, line + from, to - from);
    if (to < len)
        sb_put(s, "...", 3);
    sb_put(s, "\n    ", 5);
    char buf[CARET_LINE + 8];
    size_t o = 0;
    if (from)
        for (int k = 0; k < 3; k++)
            buf[o++] = ' ';
    for (size_t i = from; i < col; i++)
        if (((unsigned char)line[i] & 0xc0) != 0x80)
            buf[o++] = line[i] == '\t' ? '\t' : ' ';
    buf[o++] = '^';
    for (size_t i = col + 1; i < end; i++)
        if (((unsigned char)line[i] & 0xc0) != 0x80)
            buf[o++] = '~';
    buf[o++] = '\n';
    sb_put(s, buf, o);
}

/* A byte column of 'line' of 'file' as a column in code points, as SARIF
   counts them ("columnKind": "unicodeCodePoints"). */
static uint32_t cp_col(const diag_ctx *d, uint32_t file, uint32_t lineno, uint32_t col)
{
    size_t len;
    if (!lineno || !col || file >= d->src->n)
        return col;
    const char *line = src_line(d->src, file, lineno, &len);
    if (!line)
        return col;
    uint32_t cp = 1;
    for (size_t i = 0; i + 1 < col && i < len; i++)
        cp += ((unsigned char)line[i] & 0xc0) != 0x80;
    return col - 1 > len ? cp + (uint32_t)(col - 1 - len) : cp;
}

static void print_text(const diag_ctx *d, FILE *out)
{
    sbuf s = { 0 };
    for (unsigned i = 0; i < d->n; i++) {
        const diag *g = &d->v[i];
        s.n = 0;
        sb_head(&s, d, g->at, sev_names[g->sev], g->msg ? g->msg : "out of memory");
        sb_put(&s, " [", 2);
        sb_str(&s, diag_names[g->code]);
        sb_put(&s, "]\n", 2);
        sb_caret(&s, d, g->at);
        if (g->note) {
            sb_head(&s, d, g->note_at, "note", g->note);
            sb_put(&s, "\n", 1);
            sb_caret(&s, d, g->note_at);
        }
        if (g->hint) {
            sb_put(&s, "hint: ", 6);
            sb_str(&s, g->hint);
            sb_put(&s, "\n", 1);
        }
        if (!s.oom)
            fwrite(s.b, 1, s.n, out);
    }
    free(s.b);
    if (d->nerr || d->nwarn)
        fprintf(out, "%u error%s, %u warning%s\n", d->nerr, d->nerr == 1 ? "" : "s",
                d->nwarn, d->nwarn == 1 ? "" : "s");
}

/* Messages and paths may quote any bytes (a file name from the command
   line): the writer escapes what is not UTF-8. */
static json_t *text(const char *s)
{
    return jw_jstring(s, strlen(s));
}

static json_t *span_json(const diag_ctx *d, src_span at)
{
    const char *f = file_name(d, at.file);
    return json_pack("{s:o, s:i, s:i, s:i, s:i}", "file", jw_jstring(f, strlen(f)),
                     "line", (json_int_t)at.line, "column", (json_int_t)at.col,
                     "end_line", (json_int_t)at.end_line, "end_column", (json_int_t)at.end_col);
}

static json_t *diags_json(const diag_ctx *d)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < d->n; i++) {
        const diag *g = &d->v[i];
        json_t *o = json_pack("{s:s, s:s, s:o}", "severity", sev_names[g->sev],
                              "code", diag_names[g->code], "message", text(g->msg ? g->msg : ""));
        json_object_update_new(o, span_json(d, g->at));
        if (g->hint)
            json_object_set_new(o, "hint", text(g->hint));
        if (g->note) {
            json_t *n = span_json(d, g->note_at);
            json_object_set_new(n, "message", text(g->note));
            json_object_set_new(o, "related", n);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *sarif_location(const diag_ctx *d, src_span at, const char *msg)
{
    json_t *region = json_pack("{s:i, s:i}", "startLine", (json_int_t)at.line,
                               "startColumn", (json_int_t)cp_col(d, at.file, at.line, at.col));
    if (at.end_line)
        json_object_set_new(region, "endLine", json_integer(at.end_line));
    if (at.end_col)
        json_object_set_new(region, "endColumn", json_integer(cp_col(d, at.file, at.end_line, at.end_col)));
    json_t *loc = json_pack("{s:{s:{s:o}, s:o}}", "physicalLocation", "artifactLocation",
                            "uri", text(file_name(d, at.file)), "region", region);
    if (msg)
        json_object_set_new(loc, "message", json_pack("{s:o}", "text", text(msg)));
    return loc;
}

static const char *const sarif_level[] = { "note", "warning", "error" };

static json_t *sarif_results(const diag_ctx *d)
{
    const char *const *level = sarif_level;
    json_t *results = json_array();
    for (unsigned i = 0; i < d->n; i++) {
        const diag *g = &d->v[i];
        const char *msg = g->msg ? g->msg : "out of memory";
        json_t *r = json_pack("{s:s, s:i, s:s, s:{s:o}, s:[o]}", "ruleId", diag_names[g->code],
                              "ruleIndex", (json_int_t)g->code, "level", level[g->sev],
                              "message", "text", text(msg), "locations", sarif_location(d, g->at, NULL));
        if (g->note)
            json_object_set_new(r, "relatedLocations",
                                json_pack("[o]", sarif_location(d, g->note_at, g->note)));
        if (g->hint)
            json_object_set_new(r, "properties", json_pack("{s:o}", "hint", text(g->hint)));
        json_array_append_new(results, r);
    }
    return results;
}

static json_t *sarif_json(json_t *results)
{
    json_t *rules = json_array();
    for (int c = 0; c < DG__COUNT; c++)
        json_array_append_new(rules, json_pack("{s:s, s:{s:s}, s:{s:s}}", "id", diag_names[c],
                              "shortDescription", "text", diag_descs[c],
                              "defaultConfiguration", "level", sarif_level[default_sev[c]]));
    return json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:o}}, s:s, s:o}]}",
                     "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
                     "version", "2.1.0", "runs", "tool", "driver", "name", "routec",
                     "informationUri", "https://github.com/routevm/routevm",
                     "version", "0.1.0", "rules", rules, "columnKind", "unicodeCodePoints",
                     "results", results);
}

void diag_print(diag_ctx *d, diag_format fmt, FILE *out)
{
    diag_print_all(&d, 1, fmt, out);
}

void diag_print_all(diag_ctx **ds, unsigned n, diag_format fmt, FILE *out)
{
    if (fmt == DIAG_TEXT) {
        for (unsigned i = 0; i < n; i++)
            print_text(ds[i], out);
        return;
    }
    json_t *all = json_array();
    for (unsigned i = 0; i < n; i++)
        {
            json_t *part = fmt == DIAG_JSON ? diags_json(ds[i]) : sarif_results(ds[i]);
            json_array_extend(all, part);
            json_decref(part);
        }
    json_t *j = fmt == DIAG_JSON ? all : sarif_json(all);
    if (j) {
        jw_print(out, j, 2);
        json_decref(j);
    }
}

int diag_failed(const diag_ctx *d)
{
    return d->nerr > 0 || d->oom || (d->werror && d->nwarn > 0);
}

void diag_free(diag_ctx *d)
{
    arena_free(&d->text);
    free(d->v);
    memset(d, 0, sizeof *d);
}

const char *diag_a(const char *word)
{
    return word && strchr("aeiouAEIOU", word[0]) && word[0] ? "an" : "a";
}

int diag_has(const diag_ctx *d, diag_code code)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->v[i].code == code)
            return 1;
    return 0;
}
