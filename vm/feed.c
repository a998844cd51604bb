/* Streaming an answer through the output guardrails (vm_feed).

   When a driver streams a model's answer to its client, the output
   guardrails must hold for the text the client sees, yet the client should
   see text as soon as it is safe.  Each output 'deny' and 'redact' action
   on the path (the deciding agent's guardrails first, then back to the
   agent addressed, each in policy order -- the order vm_resume applies
   them to a whole answer) is a stage of a pipeline; a stage receives the
   text its predecessor released and releases text on to the next.

   A stage matches with PCRE2_PARTIAL_HARD over everything it has received:
   the earliest place where a match starts -- complete, or cut off by the
   end of the text so far (a complete match that more text could still
   extend counts as cut off) -- bounds what it may release.  Text before
   that place can never become part of a match, whatever arrives later, so
   it goes on; the rest is held back until the match is decided.  A
   redaction releases its replacement once its match is complete; a deny
   whose match completes refuses the answer: the driver stops the stream
   and vm_resume reports RV_DENIED.  At the end of the stream each stage in
   turn matches what it holds without the partial flag and releases the
   rest.  A character cut between two chunks waits for its other bytes,
   and a byte that begins no UTF-8 character (a barrier no match crosses,
   in PCRE2's invalid-UTF mode) completes the text before it.  Thus the
   streamed text equals what the same guardrails make of the whole answer
   (tests/unit/stream_diff_test.c checks it on random answers and
   chunkings), and a pattern split across chunks is still found.

   A match error (match or depth limit, out of memory) fails closed: the
   answer is refused.  The buffers grow with the answer and are capped with
   the rest of the request's memory; when the stream is forgotten, up to
   FEED_KEEP of them (of FEED_KEEP_CAP bytes at most) are kept, emptied,
   for the next stream's buffers to start from, so that a VM streaming
   answer after answer does not allocate and free them each time. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "litset.h"
#include "mem.h"
#include "vmstate.h"

#define FEED_CAP ((size_t)64 << 20)     /* bytes of answer a stream may carry */
#define FEED_KEEP 4                     /* buffers kept between streams */
#define FEED_KEEP_CAP ((size_t)16 << 10)

typedef struct { char *s; size_t len, cap; } fbuf;

typedef struct {
    uint32_t guard, action;
    const rv_gaction *ga;
    fbuf in;                    /* everything this stage received */
    size_t done;                /* in[0, done) has been matched and released */
} fstage;

struct vm_feed {
    int active;                 /* a stream is being fed */
    fstage *st;
    uint32_t nst;
    fbuf out;                   /* what the last stage released: the answer so far */
    size_t released;            /* bytes of 'out' handed to the driver */
    size_t total;               /* bytes fed */
    int denied, failed;
    /* ---- kept between streams (vm_feed_reset clears what is above) */
    fbuf spare[FEED_KEEP];      /* emptied buffers (owned), taken by a first fb_add */
    uint32_t nspare;
};

static int fb_add(struct vm_feed *f, fbuf *b, const char *s, size_t n)
{
    if (!n)
        return 0;
    if (b->len + n > FEED_CAP)
        return -1;
    if (!b->cap && f->nspare)
        *b = f->spare[--f->nspare];
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = mem_realloc(b->s, cap);
        if (!d)
            return -1;
        b->s = d;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return 0;
}

/* A stream's buffer, kept emptied for the next stream or freed. */
static void park(struct vm_feed *f, fbuf *b)
{
    if (b->s && b->cap <= FEED_KEEP_CAP && f->nspare < FEED_KEEP)
        f->spare[f->nspare++] = (fbuf){ b->s, 0, b->cap };
    else
        free(b->s);
}

void vm_feed_reset(rv_vm *vm)
{
    struct vm_feed *f = vm->feed;
    if (!f || (!f->active && !f->nst && !f->out.s && !f->failed))
        return;         /* nothing to forget (a stream that failed to open left 'failed') */
    for (uint32_t i = 0; i < f->nst; i++)
        park(f, &f->st[i].in);
    park(f, &f->out);
    memset(f, 0, offsetof(struct vm_feed, spare));  /* the stage table was per-request memory */
}

void vm_feed_free(struct vm_feed *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->nspare; i++)
        free(f->spare[i].s);
    free(f);
}

struct vm_feed *vm_feed_new(void)
{
    return mem_calloc(1, sizeof(struct vm_feed));
}

/* The stages of the path's output guardrails; -1 when out of memory. */
static int feed_open(rv_vm *vm, struct vm_feed *f)
{
    const rv_program *p = vm->img->p;
    uint32_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t c = vm->nchain; c-- > 0;) {
            const rv_agent *a = &p->agents[vm->chain[c]];
            for (uint32_t g = 0; g < a->guard_count; g++) {
                uint32_t gi = p->guard_refs[a->guard_first + g];
                const rv_guardrail *gr = &p->guards[gi];
                for (uint32_t k = 0; k < gr->count; k++) {
                    const rv_gaction *ga = &p->gactions[gr->first + k];
                    if (ga->dir != RV_DIR_OUTPUT || ga->kind == RV_GA_LIMIT)
                        continue;
                    if (pass) {
                        memset(&f->st[n], 0, sizeof f->st[n]);
                        f->st[n].guard = gi;
                        f->st[n].action = gr->first + k;
                        f->st[n].ga = ga;
                    }
                    n++;
                }
            }
        }
        if (!pass) {
            f->st = n ? vm_alloc(vm, n * sizeof *f->st) : NULL;
            if (n && !f->st)
                return -1;
            n = 0;
        }
    }
    f->nst = n;
    f->active = 1;
    return 0;
}

/* Run stage 'k' over what it holds and pass what it may release to stage
   k + 1 (or the output).  'final': no more text will come. */
static int stage_run(rv_vm *vm, struct vm_feed *f, uint32_t k, int final);

static int pass_on(rv_vm *vm, struct vm_feed *f, uint32_t k, const char *s, size_t n, int final)
{
    if (k + 1 >= f->nst)
        return fb_add(f, &f->out, s, n);
    if (fb_add(f, &f->st[k + 1].in, s, n))
        return -1;
    return final ? 0 : stage_run(vm, f, k + 1, 0);
}

/* How far stage 's' may match now, from 'done' (not final).  The regexes
   run in PCRE2's invalid-UTF mode, where a byte that does not begin a
   well-formed character is a barrier no match crosses.  '*lim' gets the
   end of the valid text from 'done'.  Returns 1 when '*lim' is such a
   barrier: the valid run before it is complete, and whatever comes later
   cannot change its matches.  Returns 0 when the valid text runs to the
   end of what was received, or to a character the chunk cut ('*lim'
   before it): it may go on.  (PCRE2's partial matching does not see
   matches that end at a barrier, and treats a cut character as invalid,
   so neither may reach it.) */
static int stage_extent(const fstage *s, const char *in, size_t *lim)
{
    size_t q = s->done + bi_utf8_invalid(in + s->done, s->in.len - s->done);
    *lim = q;
    return q < s->in.len && !bi_utf8_cut(in + q, s->in.len - q);
}

static int stage_run(rv_vm *vm, struct vm_feed *f, uint32_t k, int final)
{
    const rv_program *p = vm->img->p;
    fstage *s = &f->st[k];
    pcre2_code *re = vm->img->re[s->ga->regex];
    const char *in = s->in.s ? s->in.s : "";   /* (nothing fed yet: no pointer arithmetic on NULL) */
    while (s->done <= s->in.len) {
        /* the subject and mode of this match (see stage_extent) */
        size_t lim = s->in.len, n = s->in.len;
        int barrier = 0;
        uint32_t opts = 0;
        if (!final) {
            barrier = stage_extent(s, in, &lim);
            if (barrier)
                n = lim + 1;    /* the barrier byte ends the subject: PCRE2 treats it as it would in the whole answer */
            else {
                n = lim;
                opts = PCRE2_PARTIAL_HARD;
            }
        }
        /* the last match, complete: a literal set or filter that rules
           out any match in the whole text answers for PCRE2 (litset.h) */
        const ls_set *ls = vm->img->lits[s->ga->regex];
        int rc = final && ls && !ls_search(ls, in, s->in.len) ? PCRE2_ERROR_NOMATCH
               : gd_pcre_match(vm, re, in, n, s->done, opts);
        /* (pass_on runs the next stage, which reuses the match data: keep the offsets) */
        PCRE2_SIZE *ovp = pcre2_get_ovector_pointer(vm->md);
        size_t m0 = rc >= 0 || rc == PCRE2_ERROR_PARTIAL ? ovp[0] : 0, m1 = rc >= 0 ? ovp[1] : m0;
        if (rc >= 0 && !final && (barrier ? m0 > lim : m0 == m1 && m0 == lim))
            rc = barrier ? PCRE2_ERROR_NOMATCH      /* a match past the barrier is for later */
                         : PCRE2_ERROR_PARTIAL;     /* an empty match at the end: more text may make it longer */
        if (rc == PCRE2_ERROR_NOMATCH) {
            /* nothing starts before 'lim': it goes on (the barrier byte too) */
            size_t upto = final ? s->in.len : barrier ? lim + 1 : lim;
            if (pass_on(vm, f, k, in + s->done, upto - s->done, final))
                return -1;
            s->done = upto;
            if (final || !barrier)
                return 0;
            continue;
        }
        if (rc == PCRE2_ERROR_PARTIAL) {
            if (pass_on(vm, f, k, in + s->done, m0 - s->done, final))
                return -1;
            s->done = m0;
            return 0;
        }
        if (rc < 0) {       /* the guardrail cannot decide: fail closed */
            f->denied = 1;
            vm_deny(vm, s->guard, s->action, "the guardrail could not be applied to the answer", 48);
            return -1;
        }
        if (s->ga->kind == RV_GA_DENY) {
            f->denied = 1;
            vm_deny(vm, s->guard, s->action, rv_str(p, s->ga->text), p->str_len[s->ga->text]);
            return -1;
        }
        /* a redaction: the text before the match, then the replacement */
        if (pass_on(vm, f, k, in + s->done, m0 - s->done, final) ||
            pass_on(vm, f, k, rv_str(p, s->ga->text), p->str_len[s->ga->text], final))
            return -1;
        vm_note_redactions(vm, s->guard, s->action, 1);
        if (m1 > m0) {
            s->done = m1;
        } else {            /* an empty match: keep one character and move on, as gd_output does */
            if (m0 >= s->in.len) {
                s->done = s->in.len + 1;
                break;
            }
            size_t c = bi_utf8_char(in + m0, s->in.len - m0);
            c = c ? c : 1;
            if (pass_on(vm, f, k, in + m0, c, final))
                return -1;
            s->done = m0 + c;
        }
    }
    if (s->done > s->in.len)
        s->done = s->in.len;
    return 0;
}

static int release(struct vm_feed *f, rv_sv *out)
{
    out->s = f->out.s ? f->out.s + f->released : "";
    out->len = (uint32_t)(f->out.len - f->released);
    f->released = f->out.len;
    return f->denied || f->failed;
}

int vm_feed(rv_vm *vm, const char *chunk, size_t len, rv_sv *out)
{
    struct vm_feed *f = vm->feed;
    vm->feed_dirty = 1;
    out->s = "";
    out->len = 0;
    if (vm->state != VS_CALL || !vm_call(vm)->may_stream || f->denied || f->failed)
        return 1;
    if (!f->active && feed_open(vm, f)) {
        f->failed = 1;
        return 1;
    }
    f->total += len;
    int rc = f->total > FEED_CAP ? -1
           : f->nst ? (fb_add(f, &f->st[0].in, chunk, len) ? -1 : stage_run(vm, f, 0, 0))
           : fb_add(f, &f->out, chunk, len);
    if (rc && !f->denied)
        f->failed = 1;
    return release(f, out);
}

int vm_feed_end(rv_vm *vm, rv_sv *out)
{
    struct vm_feed *f = vm->feed;
    vm->feed_dirty = 1;
    out->s = "";
    out->len = 0;
    if (!f->active)
        return 0;
    if (f->denied || f->failed)
        return 1;
    for (uint32_t k = 0; k < f->nst; k++)
        if (stage_run(vm, f, k, 1)) {
            if (!f->denied)
                f->failed = 1;
            return 1;
        }
    return release(f, out);
}

/* For vm_resume: the whole answer as the guardrails left it (copied into
   per-request memory), whether the stream was refused, and whether any
   text reached the client. */
rv_sv vm_feed_text(rv_vm *vm)
{
    rv_sv t = { "", 0 };
    struct vm_feed *f = vm->feed;
    if (f->out.len) {
        char *d = vm_copy(vm, f->out.s, f->out.len);
        if (d) {
            t.s = d;
            t.len = (uint32_t)f->out.len;
        }
    }
    return t;
}

int vm_feed_active(const rv_vm *vm) { return vm->feed->active; }
int vm_feed_denied(const rv_vm *vm) { return vm->feed->denied; }
int vm_feed_failed(const rv_vm *vm) { return vm->feed->failed; }
int vm_feed_released(const rv_vm *vm) { return vm->feed->released > 0; }
