/* The image: a verified program made ready to run, once, and shared by
   every request -- its regexes compiled (with the JIT where available),
   literal-set matchers for word alternations, every constant decoded into
   a ready stack value, and a slot for each metadata key the code reads.
   The interpreter (interp.c) reads it; nothing writes it after
   vm_image_init(). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "litset.h"
#include "mem.h"
#include "opcodes.h"
#include "verify.h"
#include "vmstate.h"

static int dispatch_table(rv_image *img);

int vm_image_init(rv_image *img, const rv_program *p, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    img->p = p;
    img->re = mem_calloc(p->nregex + 1, sizeof *img->re);
    img->lits = mem_calloc(p->nregex + 1, sizeof *img->lits);
    if (!img->re || !img->lits) {
        free(img->re);
        free(img->lits);
        img->re = NULL;
        img->lits = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    img->max_match = 1;
    for (uint32_t i = 0; i < p->nregex; i++) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                       ver_pcre2_options(p->regexes[i].flags), &code, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            snprintf(err, errlen, "regex %u: %s", i, (char *)msg);
            vm_image_free(img);
            return -1;
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter where unsupported */
        uint32_t cap = 0;
        pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &cap);
        if (cap + 1 > img->max_match)
            img->max_match = cap + 1;
        img->re[i] = re;
        img->lits[i] = ls_compile(rv_str(p, p->regexes[i].pattern), p->str_len[p->regexes[i].pattern],
                                  p->regexes[i].flags);
    }
    img->kval = mem_malloc((p->nconst + 1) * sizeof *img->kval);
    if (!img->kval) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    for (uint32_t k = 0; k < p->nconst; k++)
        img->kval[k] = vm_const_value(p, k);
    /* a slot for every metadata key the code reads */
    img->meta_slot = mem_malloc((p->nstr + 1) * sizeof *img->meta_slot);
    if (!img->meta_slot) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    memset(img->meta_slot, 0xff, (p->nstr + 1) * sizeof *img->meta_slot);
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        uint32_t w = p->code[pc], key = INS_OP(w) == OP_LDMETA ? INS_ARG(w)
                     : INS_OP(w) == OP_JMT ? p->mtests[INS_ARG(w)].key
                     : INS_OP(w) == OP_DISPATCH ? p->dispatches[INS_ARG(w)].key : RV_NONE;
        if (key != RV_NONE && img->meta_slot[key] == RV_NONE)
            img->meta_slot[key] = img->nmeta_slot++;
    }
    img->out_limit = mem_calloc(p->nagent + 1, sizeof *img->out_limit);
    if (!img->out_limit) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    for (uint32_t a = 0; a < p->nagent; a++)
        img->out_limit[a] = gd_output_limit(p, a);
    for (uint32_t r = 0; r < p->nrule && !img->rule_settings; r++)
        img->rule_settings = p->rules[r].timeout || p->rules[r].backoff || p->rules[r].retry != RV_NONE ||
                             p->rules[r].retry_on;
    if (dispatch_table(img)) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(img);
        return -1;
    }
    return 0;
}

/* Where a dispatch's value hashes: FNV-1a of the bytes, mixed with the
   dispatch's index so that one table serves every dispatch. */
static uint32_t dhash(uint32_t k, const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (k * 0x9e3779b9u);
}

static uint64_t head8(const char *s, uint32_t n)
{
    uint64_t h = 0;
    memcpy(&h, s, n < 8 ? n : 8);
    return h;
}

/* The index over the values of every dispatch, at most half full, and
   one entry per value.  A value listed twice in one dispatch keeps its
   first row. */
static int dispatch_table(rv_image *img)
{
    const rv_program *p = img->p;
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)p->ndvalue + 2)
        cap *= 2;
    img->dindex = mem_calloc(cap, sizeof *img->dindex);
    img->dentry = mem_malloc((p->ndvalue + 1) * sizeof *img->dentry);
    if (!img->dindex || !img->dentry)
        return -1;
    img->dmask = cap - 1;
    uint32_t n = 0;
    for (uint32_t k = 0; k < p->ndispatch; k++) {
        const rv_dispatch *d = &p->dispatches[k];
        for (uint32_t r = d->vfirst; r < d->vfirst + d->vcount; r++) {
            uint32_t str = p->dvalues[r].value, len = p->str_len[str];
            const char *s = rv_str(p, str);
            if (vm_dispatch_find(img, k, s, len))
                continue;
            const rv_dclass *c = &p->dclasses[d->cfirst + p->dvalues[r].cls];
            img->dentry[n] = (struct rv_dentry){ head8(s, len), s, len, k,
                                                 c->count ? p->dpcs[c->first] : d->end, c->count,
                                                 p->dpcs + c->first };
            uint32_t h = dhash(k, s, len), i = h & img->dmask;
            while (img->dindex[i].entry)
                i = (i + 1) & img->dmask;
            img->dindex[i].hash = h;
            img->dindex[i].entry = ++n;
        }
    }
    return 0;
}

const struct rv_dentry *vm_dispatch_find(const rv_image *img, uint32_t k, const char *s, uint32_t n)
{
    uint32_t h = dhash(k, s, n);
    uint64_t head = head8(s, n);
    for (uint32_t i = h & img->dmask; img->dindex[i].entry; i = (i + 1) & img->dmask) {
        if (img->dindex[i].hash != h)
            continue;
        const struct rv_dentry *e = &img->dentry[img->dindex[i].entry - 1];
        if (e->len == n && e->head == head && e->dispatch == k && (n <= 8 || !memcmp(e->s + 8, s + 8, n - 8)))
            return e;
    }
    return NULL;
}

void vm_image_free(rv_image *img)
{
    if (img->re)
        for (uint32_t i = 0; i < img->p->nregex; i++) {
            pcre2_code_free(img->re[i]);
            ls_free(img->lits[i]);
        }
    free(img->re);
    free(img->lits);
    free(img->meta_slot);
    free(img->kval);
    free(img->dindex);
    free(img->dentry);
    free(img->out_limit);
    img->dindex = NULL;
    img->dentry = NULL;
    img->out_limit = NULL;
    img->kval = NULL;
    img->re = NULL;
    img->lits = NULL;
    img->meta_slot = NULL;
}

rv_value vm_const_value(const rv_program *p, uint32_t k)
{
    const rv_const *c = &p->consts[k];
    rv_value v = { .t = c->type };
    switch (c->type) {
    case RV_T_STR:
        v.u.s = rv_str(p, c->str);
        v.n = p->str_len[c->str];
        break;
    case RV_T_LIST:
        v.lk = 0;
        v.u.k = p->items + c->first;
        v.n = c->count;
        break;
    case RV_T_REGEX:
        v.u.i = c->str;
        break;
    case RV_T_NIL:
        break;
    default:
        v.u.i = c->i;
        break;
    }
    return v;
}
