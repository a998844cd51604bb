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

#include "litset.h"
#include "mem.h"
#include "opcodes.h"
#include "verify.h"
#include "vmstate.h"

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
                     : INS_OP(w) == OP_JMT ? p->mtests[INS_ARG(w)].key : RV_NONE;
        if (key != RV_NONE && img->meta_slot[key] == RV_NONE)
            img->meta_slot[key] = img->nmeta_slot++;
    }
    return 0;
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
