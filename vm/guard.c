/* Guardrails at run time; see guard.h.

   Input actions look at every text slot of the request -- everything the
   provider will receive as text: system, user and assistant turns, tool
   results, tool-call and function-call arguments, names, refusals, every
   text-like content part, tool descriptions -- so a secret cannot hide in
   an earlier turn or another kind of field; and the strings of JSON sent
   as written (tool parameter schemas, response_format, fields the request
   model does not know), where a match refuses, since nothing there can be
   redacted in place.  'limit input' counts the
   estimated tokens of all of them.  Redaction replaces the matched text in
   the VM's overlay (never in the request) before the route runs, so
   conditions, hooks and models all see the redacted text.  The redacted
   text itself never reaches traces or explanations: only the count of
   redactions.

   Nothing here truncates: a text, a join of texts or a redaction that
   would not fit the VM's per-request memory refuses the request. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>
#include <time.h>

#include "guard.h"
#include "litset.h"
#include "mem.h"
#include "vmstate.h"

/* ---------------------------------------------------------------- memory */

/* 'n' bytes of the VM's per-request memory for the overlay; NULL when out
   of memory or past the overlay's limit (GD_MEM_FACTOR). */
static void *gd_alloc(rv_vm *vm, size_t n)
{
    gd_overlay *ov = &vm->ov;
    size_t limit = (size_t)GD_MEM_FACTOR * (vm->req ? vm->req->body_len : 0) + GD_MEM_BASE;
    if (n > limit - ov->mem_used)
        return NULL;
    void *p = vm_alloc(vm, n);
    if (p)
        ov->mem_used += n;
    return p;
}

void gd_free(gd_overlay *ov)
{
    pcre2_match_context_free(ov->mctx);
    pcre2_jit_stack_free(ov->jit_stack);
    ov->mctx = ov->jit_stack = NULL;
}

int gd_init(gd_overlay *ov)
{
    memset(ov, 0, sizeof *ov);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!mc)
        return -1;
    ov->mctx = mc;
    pcre2_set_match_limit(mc, GD_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, GD_DEPTH_LIMIT);
    pcre2_set_heap_limit(mc, GD_HEAP_LIMIT_KIB);
    return 0;
}

/* The JIT stack is made when a match first needs more than PCRE2's
   default (32 KiB of the machine stack), not with every VM: creating one
   maps GD_JIT_STACK bytes, and a gateway makes a VM per request.  A match
   that ran out of the default stack had no effect, so it is run again
   with the larger one and answers as it would have with it from the
   start. */
int gd_pcre_match(rv_vm *vm, const void *code, const char *s, size_t n, size_t off, uint32_t opts)
{
    gd_overlay *ov = &vm->ov;
    int rc = pcre2_match(code, (PCRE2_SPTR)s, n, off, opts, vm->md, ov->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !ov->jit_stack) {
        pcre2_jit_stack *js = pcre2_jit_stack_create(32u << 10, GD_JIT_STACK, NULL);
        if (!js)
            return rc;
        ov->jit_stack = js;
        pcre2_jit_stack_assign(ov->mctx, NULL, js);
        rc = pcre2_match(code, (PCRE2_SPTR)s, n, off, opts, vm->md, ov->mctx);
    }
    return rc;
}

const rv_sv *vm_texts(const rv_vm *vm)
{
    return vm_view_texts(vm);
}

/* Fill the overlay's views from the request (once per request). */
static void load_views(rv_vm *vm)
{
    gd_overlay *ov = &vm->ov;
    const rv_request *r = vm->req;
    if (ov->loaded)
        return;
    ov->texts = vm_view_texts(vm);
    ov->msg_texts = vm_view_msgs(vm);
    ov->input = vm_view_input(vm);
    ov->system = vm_view_system(vm);
    ov->nslot = r ? r->nslot : 0;
    ov->loaded = 1;
}

/* ---------------------------------------------------------------- matching */

/* Why a match stopped, and the reason a refused request gives. */
typedef struct { const char *error, *reason; } stop;

static const stop stops[] = {
#define STOP(what) { "a regex stopped: " what, "refused: a guardrail's pattern could not be checked (" what ")" }
    STOP("the match limit was reached"),
    STOP("the depth limit was reached"),
    STOP("the heap limit was reached"),
    STOP("the JIT stack limit was reached"),
    STOP("the request's regex time budget was spent"),
    STOP("the match failed"),
    STOP("out of memory"),
#undef STOP
};
enum { S_MATCH, S_DEPTH, S_HEAP, S_JIT, S_BUDGET, S_OTHER, S_MEMORY };

static int stopped(gd_overlay *ov, int which)
{
    ov->re_error = stops[which].error;
    return -1;
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* After a match of 'n' bytes: is the request's regex time spent?  Reading
   the clock costs about as much as a short match, so it is read after
   every 16th match and after every match of a long text; the first
   reading starts the budget. */
static int budget_spent(gd_overlay *ov, size_t n)
{
    if ((++ov->matches & 15) && n < 4096)
        return 0;
    int64_t t = now_ns();
    if (!ov->re_start_ns) {
        ov->re_start_ns = t;
        return 0;
    }
    return t - ov->re_start_ns > (int64_t)GD_REGEX_BUDGET_MS * 1000000;
}

/* pcre2_match from 'off' under the limits and the budget: >= 0 a match,
   PCRE2_ERROR_NOMATCH, or -2 when it stopped (ov->re_error set). */
static int run_match(rv_vm *vm, uint32_t re, const char *s, size_t n, size_t off)
{
    gd_overlay *ov = &vm->ov;
    int rc = gd_pcre_match(vm, vm->img->re[re], s, n, off, 0);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        stopped(ov, rc == PCRE2_ERROR_MATCHLIMIT ? S_MATCH : rc == PCRE2_ERROR_DEPTHLIMIT ? S_DEPTH
                  : rc == PCRE2_ERROR_HEAPLIMIT ? S_HEAP : rc == PCRE2_ERROR_JIT_STACKLIMIT ? S_JIT
                  : rc == PCRE2_ERROR_NOMEMORY ? S_MEMORY : S_OTHER);
        return -2;
    }
    if (budget_spent(ov, n - off)) {
        stopped(ov, S_BUDGET);
        return -2;
    }
    return rc;
}

/* The start-set scans of a request's texts: for each text scanned (at
   most GD_SCANS, the oldest forgotten first), the bytes known not to
   occur in it -- the union of the start sets of the scans that found
   none.  A filter whose set is inside that union needs no scan: the
   guardrails and the route often test one text against filters with the
   same set (\d) or a subset (card numbers' 2-6).  Lives in VM memory,
   made with the first scan.  Only texts that stay as they are until the
   request ends are remembered ('stable': the request's and the VM's
   memory, not the scratch of JSON sent as written nor a driver's
   buffer); a remembered text's bytes are then held by it alone, so any
   text found at its place with its length is it. */
#define GD_SCANS 4
struct gd_scans {
    uint32_t n, next;
    struct { const char *s; size_t len; uint64_t absent[4]; } e[GD_SCANS];
};

/* Does s[0, n) stay as it is until the request ends?  The request's own
   copy of its body and its texts do, and the VM's memory; a driver's
   buffer (a model's answer read by a check) need not. */
static int stable_text(const rv_vm *vm, const char *s, size_t n)
{
    const rv_request *r = vm->req;
    rv_sv in = vm_view_input(vm), sys = vm_view_system(vm);
    if ((s == in.s && n == in.len) || (s == sys.s && n == sys.len))
        return 1;
    if (r && r->body && s >= r->body && n <= r->body_len && (size_t)(s - r->body) <= r->body_len - n)
        return 1;
    return vm_owns(vm, s);
}

/* Is start set 'm' (32 bytes) inside 'absent'? */
static int inside(const uint8_t *m, const uint64_t *absent)
{
    uint64_t w[4];
    memcpy(w, m, sizeof w);
    return !(w[0] & ~absent[0]) && !(w[1] & ~absent[1]) && !(w[2] & ~absent[2]) && !(w[3] & ~absent[3]);
}

/* A filter's answer for s[0, n) (litset.h): 0 no match, 1 maybe; the
   start-set scan shared between filters, and remembered when the text is
   'stable' (-1: to be found out, when there is something to remember). */
static int filter(rv_vm *vm, const ls_set *ls, const char *s, size_t n, int stable)
{
    const uint8_t *m = ls_start_set(ls);
    if (!ls_required(ls, s, n))
        return 0;
    if (!m)
        return 1;
    struct gd_scans *sc = vm->ov.scans;
    uint32_t k = 0;
    if (sc)
        while (k < sc->n && (sc->e[k].s != s || sc->e[k].len != n))
            k++;
    if (sc && k < sc->n && inside(m, sc->e[k].absent))
        return 0;
    if (ls_may_start(ls, s, n))
        return 1;
    if (!stable || (stable < 0 && !stable_text(vm, s, n)))
        return 0;
    if (!sc) {
        if (!(sc = vm_alloc(vm, sizeof *sc)))
            return 0;   /* (only the remembering is lost) */
        sc->n = sc->next = 0;
        vm->ov.scans = sc;
    }
    if (k == sc->n) {
        if (sc->n < GD_SCANS)
            k = sc->n++;
        else {
            k = sc->next;
            sc->next = (sc->next + 1) % GD_SCANS;
        }
        sc->e[k].s = s;
        sc->e[k].len = n;
        memset(sc->e[k].absent, 0, sizeof sc->e[k].absent);
    }
    uint64_t w[4];
    memcpy(w, m, sizeof w);
    for (int i = 0; i < 4; i++)
        sc->e[k].absent[i] |= w[i];
    return 0;
}

/* gd_match; 'stable' as for filter(). */
static int match(rv_vm *vm, uint32_t re, const char *s, size_t n, int stable)
{
    const ls_set *ls = vm->img->lits[re];
    if (ls) {       /* a linear scan: needs no limit */
        if (ls_exact(ls))
            return ls_search(ls, s, n);
        if (!filter(vm, ls, s, n, stable))
            return 0;
    }
    if (vm->ov.re_error)
        return -1;      /* a stopped request stays stopped */
    int rc = run_match(vm, re, s, n, 0);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

int gd_match(rv_vm *vm, uint32_t re, const char *s, size_t n)
{
    return match(vm, re, s, n, -1);
}

/* Replace every match of 're' in 'in' with 'with', into the VM's memory:
   the number of replacements (0 leaves '*out' untouched), or -1 when a
   match stopped or memory ran out (ov->re_error says which). */
static int redact(rv_vm *vm, uint32_t re, rv_sv in, rv_sv with, rv_sv *out)
{
    gd_overlay *ov = &vm->ov;
    char *buf = NULL;
    size_t len = 0, cap = 0, last = 0, off = 0;
    int count = 0;
    while (off <= in.len) {
        int rc = run_match(vm, re, in.s, in.len, off);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return -1;
        PCRE2_SIZE *ov_ = pcre2_get_ovector_pointer(vm->md);
        size_t need = len + (ov_[0] - last) + with.len + (in.len - ov_[1]);
        if (need > cap) {
            size_t ncap = need * 2 > in.len + 64 ? need * 2 : in.len + 64;
            char *nb = gd_alloc(vm, ncap);
            if (!nb)
                return stopped(ov, S_MEMORY);
            if (len)
                memcpy(nb, buf, len);
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + len, in.s + last, ov_[0] - last);
        len += ov_[0] - last;
        memcpy(buf + len, with.s, with.len);
        len += with.len;
        last = ov_[1];
        count++;
        if (ov_[1] > ov_[0])
            off = ov_[1];
        else {      /* an empty match moves on by one character (a byte where none begins) */
            size_t c = bi_utf8_char(in.s + ov_[1], in.len - ov_[1]);
            off = ov_[1] + (c ? c : 1);
        }
    }
    if (!count)
        return 0;
    memcpy(buf + len, in.s + last, in.len - last);
    len += in.len - last;
    if (len > UINT32_MAX)
        return stopped(ov, S_MEMORY);
    out->s = buf;
    out->len = (uint32_t)len;
    return count;
}

/* ---------------------------------------------------------------- actions */

static int refuse(rv_vm *vm, uint32_t guard, uint32_t action, const char *why)
{
    vm_deny(vm, guard, action, why, strlen(why));
    return 1;
}

/* The reason of a refusal because a match stopped. */
static const char *stop_reason(const gd_overlay *ov)
{
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
        if (ov->re_error == stops[i].error)
            return stops[i].reason;
    return stops[S_OTHER].reason;
}

/* A deny or redact action (index 'action') on one text (the request's or
   the VM's: stable): 1 when it refuses. */
static int apply(rv_vm *vm, uint32_t guard, uint32_t action, rv_sv *text)
{
    const rv_program *p = vm->img->p;
    const rv_gaction *ga = &p->gactions[action];
    if (ga->kind == RV_GA_DENY) {
        int m = match(vm, ga->regex, text->s, text->len, 1);
        if (m < 0)
            return refuse(vm, guard, action, stop_reason(&vm->ov));
        if (m == 0)
            return 0;
        vm_deny(vm, guard, action, rv_str(p, ga->text), p->str_len[ga->text]);
        return 1;
    }
    rv_sv with = { rv_str(p, ga->text), p->str_len[ga->text] }, out;
    const ls_set *ls = vm->img->lits[ga->regex];
    if (ls && !(ls_exact(ls) ? ls_search(ls, text->s, text->len) : filter(vm, ls, text->s, text->len, 1)))
        return 0;   /* (literal sets and filters only say whether; the regex finds where) */
    if (vm->ov.re_error)
        return refuse(vm, guard, action, stop_reason(&vm->ov));
    int n = redact(vm, ga->regex, *text, with, &out);
    if (n < 0)
        return refuse(vm, guard, action, stop_reason(&vm->ov));
    if (n > 0) {
        *text = out;
        vm_note_redactions(vm, guard, action, (uint32_t)n);
    }
    return 0;
}

/* The overlay's slot texts as the VM's own table, before the first change. */
static rv_sv *own_texts(rv_vm *vm)
{
    gd_overlay *ov = &vm->ov;
    load_views(vm);
    if (!ov->changed) {
        rv_sv *t = gd_alloc(vm, (size_t)ov->nslot * sizeof *t);
        if (!t)
            return NULL;
        memcpy(t, ov->texts, (size_t)ov->nslot * sizeof *t);
        ov->texts = t;
        ov->changed = 1;
    }
    return (rv_sv *)ov->texts;
}

/* Join 'n' views with "\n" into the VM's memory (the view itself for one). */
static int join(rv_vm *vm, const rv_sv *const *v, uint32_t n, rv_sv *out)
{
    static const rv_sv empty = { "", 0 };
    if (n <= 1) {
        *out = n ? *v[0] : empty;
        return 0;
    }
    size_t len = n - 1;
    for (uint32_t i = 0; i < n; i++)
        len += v[i]->len;
    char *d = len <= UINT32_MAX ? gd_alloc(vm, len) : NULL, *q = d;
    if (!d)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            *q++ = '\n';
        memcpy(q, v[i]->s, v[i]->len);
        q += v[i]->len;
    }
    out->s = d;
    out->len = (uint32_t)len;
    return 0;
}

/* Rebuild what routing reads from the (redacted) slot texts: each
   message's text, 'input', 'system'. */
static int rebuild(rv_vm *vm)
{
    gd_overlay *ov = &vm->ov;
    const rv_request *r = vm->req;
    load_views(vm);
    rv_sv *mt = gd_alloc(vm, (size_t)r->nmsg * sizeof *mt);
    const rv_sv **tmp = gd_alloc(vm, (size_t)(r->npart > r->nmsg ? r->npart : r->nmsg) * sizeof *tmp + sizeof *tmp);
    if (!mt || !tmp)
        return -1;
    for (uint32_t i = 0; i < r->nmsg; i++) {
        const rv_msg *m = &r->msgs[i];
        uint32_t n = 0;
        if (m->content == RV_CONTENT_STRING) {
            for (uint32_t k = m->slot; k < m->slot + m->nslots; k++)
                if (r->slots[k].kind == RV_SLOT_CONTENT)
                    tmp[n++] = &ov->texts[k];
        } else if (m->content == RV_CONTENT_PARTS) {
            for (uint32_t k = m->part; k < m->part + m->nparts; k++)
                if (r->parts[k].kind == RV_PART_TEXT)
                    tmp[n++] = &ov->texts[r->parts[k].slot];
        }
        if (join(vm, tmp, n, &mt[i]))
            return -1;
        if (m->role == RV_ROLE_USER)
            ov->input = mt[i];
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->nmsg; i++)
        if (r->msgs[i].role == RV_ROLE_SYSTEM)
            tmp[n++] = &mt[i];
    if (join(vm, tmp, n, &ov->system))
        return -1;
    ov->msg_texts = mt;
    return 0;
}

int64_t gd_input_bytes(const rv_vm *vm)
{
    const rv_sv *texts = vm_view_texts(vm);
    int64_t b = 4 * (int64_t)vm->req->nmsg;
    for (uint32_t i = 0; i < vm->req->nslot; i++)
        b += texts[i].len;
    return b;
}

int64_t gd_input_tokens(const rv_vm *vm)
{
    const rv_sv *texts = vm_view_texts(vm);
    int64_t t = 4 * (int64_t)vm->req->nmsg;     /* per-message framing */
    for (uint32_t i = 0; i < vm->req->nslot; i++)
        t += bi_tokens(texts[i].s, texts[i].len);
    return t;
}

static const char *const out_of_memory = "refused: the redacted texts would need more memory than the request's limit";

/* ---------------------------------------------------------------- JSON sent as written */

/* Decode the JSON string token at s[0] == '"' (valid JSON: the request
   parser checked it) into 'buf' (at least its raw length); sets '*end' past
   its closing quote.  Returns the decoded length. */
static size_t json_string(const char *s, const char *lim, char *buf, const char **end)
{
    size_t n = 0;
    const char *q = s + 1;
    while (q < lim && *q != '"') {
        if (*q != '\\') {
            buf[n++] = *q++;
            continue;
        }
        char e = q[1];
        q += 2;
        switch (e) {
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned c = 0;
            for (int i = 0; i < 4 && q < lim; i++, q++)
                c = c * 16 + (unsigned)(*q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10);
            if (c >= 0xd800 && c < 0xdc00 && q + 6 <= lim && q[0] == '\\' && q[1] == 'u') {
                unsigned lo = 0;
                for (int i = 2; i < 6; i++)
                    lo = lo * 16 + (unsigned)(q[i] <= '9' ? q[i] - '0' : (q[i] | 0x20) - 'a' + 10);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    q += 6;
                }
            }
            if (c < 0x80)
                buf[n++] = (char)c;
            else if (c < 0x800) {
                buf[n++] = (char)(0xc0 | c >> 6);
                buf[n++] = (char)(0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                buf[n++] = (char)(0xe0 | c >> 12);
                buf[n++] = (char)(0x80 | (c >> 6 & 0x3f));
                buf[n++] = (char)(0x80 | (c & 0x3f));
            } else {
                buf[n++] = (char)(0xf0 | c >> 18);
                buf[n++] = (char)(0x80 | (c >> 12 & 0x3f));
                buf[n++] = (char)(0x80 | (c >> 6 & 0x3f));
                buf[n++] = (char)(0x80 | (c & 0x3f));
            }
            break;
        }
        default: buf[n++] = e; break;      /* '"', '\\', '/' */
        }
    }
    *end = q < lim ? q + 1 : lim;
    return n;
}

static const char *const as_written =
    "refused: a guardrail's pattern matches text inside JSON the provider receives as written "
    "(a tool's parameters, response_format or another request field), where it cannot be redacted";

/* A deny or redact action on every string (keys included) of the JSON
   value at 'sp', which reaches the provider as written rather than as a
   text slot: a match refuses the request -- a deny with its reason, a
   redact because there is nothing to redact in place. */
static int json_action(rv_vm *vm, uint32_t guard, uint32_t action, rv_span sp)
{
    const rv_program *p = vm->img->p;
    const rv_gaction *ga = &p->gactions[action];
    const char *s = vm->req->body + sp.off, *lim = s + sp.len;
    gd_overlay *ov = &vm->ov;
    char *buf = NULL;
    while ((s = memchr(s, '"', (size_t)(lim - s)))) {
        if (!buf && ov->scratch_cap < sp.len) {     /* one buffer for every action of the request */
            if (!(ov->scratch = gd_alloc(vm, sp.len)))
                return refuse(vm, guard, action, out_of_memory);
            ov->scratch_cap = sp.len;
        }
        buf = ov->scratch;
        const char *end;
        size_t n = json_string(s, lim, buf, &end);
        s = end;
        int m = match(vm, ga->regex, buf, n, 0);     /* (the scratch changes: nothing to remember) */
        if (m < 0)
            return refuse(vm, guard, action, stop_reason(&vm->ov));
        if (m == 0)
            continue;
        if (ga->kind == RV_GA_DENY)
            vm_deny(vm, guard, action, rv_str(p, ga->text), p->str_len[ga->text]);
        else
            refuse(vm, guard, action, as_written);
        return 1;
    }
    return 0;
}

/* json_action over everything a provider may receive as written: each
   tool's parameter schema, response_format, and the top-level fields the
   request model does not know (forwarded as they are). */
static int written_action(rv_vm *vm, uint32_t guard, uint32_t action)
{
    const rv_request *r = vm->req;
    for (uint32_t i = 0; i < r->ntooldef; i++)
        if (r->tooldefs[i].parameters.len && json_action(vm, guard, action, r->tooldefs[i].parameters))
            return 1;
    if (r->params.response_format.len && json_action(vm, guard, action, r->params.response_format))
        return 1;
    for (uint32_t i = 0; i < r->nextra; i++)
        if (json_action(vm, guard, action, r->extra[i].val))
            return 1;
    return 0;
}

/* One input action over every slot (and what is sent as written): 1 when
   it refuses. */
static int input_action(rv_vm *vm, uint32_t guard, uint32_t action)
{
    gd_overlay *ov = &vm->ov;
    const rv_gaction *ga = &vm->img->p->gactions[action];
    if (ga->kind == RV_GA_LIMIT) {
        /* the estimate never exceeds the bytes (bi_tokens), so texts no
           longer than the limit in bytes need no counting */
        int64_t bytes = 0, tok = 0;
        for (uint32_t i = 0; i < ov->nslot; i++)
            bytes += (int64_t)ov->texts[i].len;
        if (bytes <= ga->limit)
            return 0;
        for (uint32_t i = 0; i < ov->nslot; i++)
            tok += bi_tokens(ov->texts[i].s, ov->texts[i].len);
        return tok > ga->limit ? refuse(vm, guard, action, "the input is longer than the guardrail's token limit") : 0;
    }
    for (uint32_t i = 0; i < ov->nslot; i++) {
        rv_sv t = ov->texts[i];
        if (apply(vm, guard, action, &t))
            return 1;
        if (t.s != ov->texts[i].s || t.len != ov->texts[i].len) {
            rv_sv *own = own_texts(vm);
            if (!own)
                return refuse(vm, guard, action, out_of_memory);
            own[i] = t;
        }
    }
    return written_action(vm, guard, action);
}

void gd_begin(rv_vm *vm)
{
    gd_overlay *ov = &vm->ov;
    ov->mem_used = 0;
    ov->scratch = NULL;
    ov->scratch_cap = 0;
    ov->loaded = 0;
    ov->changed = 0;
    ov->matches = 0;
    ov->re_start_ns = 0;
    ov->re_error = NULL;
    ov->scans = NULL;
}

int gd_input(rv_vm *vm, uint32_t agent)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[agent];
    if (!vm->req)
        return 0;
    uint32_t before = vm->res.redacted;
    load_views(vm);
    for (uint32_t g = 0; g < a->guard_count; g++) {
        uint32_t guard = p->guard_refs[a->guard_first + g];
        const rv_guardrail *gr = &p->guards[guard];
        for (uint32_t k = 0; k < gr->count; k++)
            if (p->gactions[gr->first + k].dir == RV_DIR_INPUT && input_action(vm, guard, gr->first + k))
                return 1;
    }
    /* the views routing reads follow the redacted texts */
    if (vm->res.redacted != before && rebuild(vm))
        return refuse(vm, p->guard_refs[a->guard_first], p->guards[p->guard_refs[a->guard_first]].first, out_of_memory);
    return 0;
}

int gd_output(rv_vm *vm, uint32_t agent, rv_sv *text)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[agent];
    for (uint32_t g = 0; g < a->guard_count; g++) {
        uint32_t guard = p->guard_refs[a->guard_first + g];
        const rv_guardrail *gr = &p->guards[guard];
        for (uint32_t k = 0; k < gr->count; k++) {
            const rv_gaction *ga = &p->gactions[gr->first + k];
            if (ga->dir != RV_DIR_OUTPUT || ga->kind == RV_GA_LIMIT)
                continue;
            if (apply(vm, guard, gr->first + k, text))
                return 1;
        }
    }
    return 0;
}

int64_t gd_output_limit(const rv_program *p, uint32_t agent)
{
    const rv_agent *a = &p->agents[agent];
    int64_t lim = 0;
    for (uint32_t g = 0; g < a->guard_count; g++) {
        const rv_guardrail *gr = &p->guards[p->guard_refs[a->guard_first + g]];
        for (uint32_t k = 0; k < gr->count; k++) {
            const rv_gaction *ga = &p->gactions[gr->first + k];
            if (ga->dir == RV_DIR_OUTPUT && ga->kind == RV_GA_LIMIT && (!lim || ga->limit < lim))
                lim = ga->limit;
        }
    }
    return lim;
}

void vm_deny(rv_vm *vm, uint32_t guard, uint32_t action, const char *reason, size_t len)
{
    vm->res.denied_by = guard;
    vm->res.deny_reason.s = reason;
    vm->res.deny_reason.len = (uint32_t)len;
    if (vm->res.nguardacts < vm->guardact_cap) {    /* always: see vm_new */
        const rv_gaction *ga = &vm->img->p->gactions[action];
        rv_guardact *g = &vm->guardacts[vm->res.nguardacts++];
        g->guard = guard;
        g->action = action;
        g->kind = (uint8_t)ga->kind;
        g->dir = (uint8_t)ga->dir;
        g->denied = 1;
        g->count = 0;
    }
}

void vm_note_redactions(rv_vm *vm, uint32_t guard, uint32_t action, uint32_t count)
{
    vm->res.redacted += count;
    for (uint32_t i = 0; i < vm->res.nguardacts; i++)
        if (vm->guardacts[i].action == action && vm->guardacts[i].guard == guard && !vm->guardacts[i].denied) {
            vm->guardacts[i].count += count;
            return;
        }
    if (vm->res.nguardacts < vm->guardact_cap) {    /* always: see vm_new */
        const rv_gaction *ga = &vm->img->p->gactions[action];
        rv_guardact *g = &vm->guardacts[vm->res.nguardacts++];
        g->guard = guard;
        g->action = action;
        g->kind = (uint8_t)ga->kind;
        g->dir = (uint8_t)ga->dir;
        g->denied = 0;
        g->count = count;
    }
}
