/* Guardrails at run time; see guard.h.

   Input actions look at every user and system message (everything the
   model will read from the client), so a secret cannot hide in an earlier
   turn; 'limit input' counts the estimated tokens of all messages.
   Redaction rewrites the matched text in every such message before the
   route runs, so conditions, hooks and models all see the redacted text.
   The redacted text itself never reaches traces or explanations: only the
   count of redactions. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "guard.h"
#include "litset.h"
#include "mem.h"
#include "vmstate.h"

int gd_match(rv_vm *vm, uint32_t re, const char *s, size_t n)
{
    if (vm->img->lits[re])
        return ls_search(vm->img->lits[re], s, n);
    int rc = pcre2_match(vm->img->re[re], (PCRE2_SPTR)s, n, 0, 0, vm->md, NULL);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* Replace every match of 're' in 'in' with 'with'; returns the number of
   replacements (0 leaves 'in' untouched), -1 when out of memory. */
static int redact(rv_vm *vm, uint32_t re, rv_sv *in, rv_sv with)
{
    PCRE2_SIZE off = 0;
    size_t out_len = 0, cap = 0;
    char *out = NULL;
    int count = 0;
    size_t last = 0;
    pcre2_code *code = vm->img->re[re];
    while (off <= in->len) {
        int rc = pcre2_match(code, (PCRE2_SPTR)in->s, in->len, off, 0, vm->md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(vm->md);
        size_t need = out_len + (ov[0] - last) + with.len;
        if (need + 1 > cap) {
            size_t ncap = (need + 1) * 2 > in->len + 64 ? (need + 1) * 2 : in->len + 64;
            char *n = mem_realloc(out, ncap);
            if (!n) {
                free(out);
                return -1;
            }
            out = n;
            cap = ncap;
        }
        memcpy(out + out_len, in->s + last, ov[0] - last);
        out_len += ov[0] - last;
        memcpy(out + out_len, with.s, with.len);
        out_len += with.len;
        last = ov[1];
        count++;
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;   /* an empty match moves on */
    }
    if (!count)
        return 0;
    size_t tail = in->len - last;
    char *d = vm_alloc(vm, out_len + tail + 1);
    if (!d) {
        free(out);
        return -1;
    }
    memcpy(d, out, out_len);
    memcpy(d + out_len, in->s + last, tail);
    d[out_len + tail] = 0;
    free(out);
    in->s = d;
    in->len = (uint32_t)(out_len + tail);
    return count;
}

/* A deny or redact action on one text: 1 when it refuses. */
static int apply(rv_vm *vm, uint32_t guard, uint32_t action, rv_sv *text)
{
    const rv_program *p = vm->img->p;
    const rv_gaction *ga = &p->gactions[action];
    if (ga->kind == RV_GA_DENY) {
        if (gd_match(vm, ga->regex, text->s, text->len) <= 0)
            return 0;
        vm_deny(vm, guard, action, rv_str(p, ga->text), p->str_len[ga->text]);
        return 1;
    }
    rv_sv with = { rv_str(p, ga->text), p->str_len[ga->text] };
    int n = redact(vm, ga->regex, text, with);
    if (n > 0)
        vm_note_redactions(vm, guard, action, (uint32_t)n);
    return 0;
}

static int input_message(const rv_msg *m)
{
    return m->role == RV_ROLE_USER || m->role == RV_ROLE_SYSTEM;
}

int gd_input(rv_vm *vm, uint32_t agent)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[agent];
    rv_request *r = (rv_request *)vm->req;   /* redaction rewrites the views in place */
    for (uint32_t g = 0; g < a->guard_count; g++) {
        const rv_guardrail *gr = &p->guards[p->guard_refs[a->guard_first + g]];
        for (uint32_t k = 0; k < gr->count; k++) {
            const rv_gaction *ga = &p->gactions[gr->first + k];
            if (ga->dir != RV_DIR_INPUT)
                continue;
            if (ga->kind == RV_GA_LIMIT) {
                int64_t tok = 0;
                for (uint32_t i = 0; i < r->nmsg; i++)
                    tok += bi_tokens(r->msgs[i].text.s, r->msgs[i].text.len);
                if (tok > ga->limit) {
                    static const char why[] = "the input is longer than the guardrail's token limit";
                    vm_deny(vm, p->guard_refs[a->guard_first + g], gr->first + k, why, sizeof why - 1);
                    return 1;
                }
                continue;
            }
            for (uint32_t i = 0; i < r->nmsg; i++) {
                rv_msg *m = &r->msgs[i];
                if (!input_message(m))
                    continue;
                if (apply(vm, p->guard_refs[a->guard_first + g], gr->first + k, &m->text))
                    return 1;
                r->texts[i] = m->text;
            }
        }
    }
    /* the derived views follow the (possibly redacted) messages */
    rv_sv sys[64];
    uint32_t nsys = 0;
    for (uint32_t i = 0; i < r->nmsg; i++) {
        if (r->msgs[i].role == RV_ROLE_USER)
            r->input = r->msgs[i].text;
        else if (r->msgs[i].role == RV_ROLE_SYSTEM && nsys < 64)
            sys[nsys++] = r->msgs[i].text;
    }
    if (vm->res.redacted && nsys == 1)
        r->system = sys[0];
    else if (vm->res.redacted && nsys > 1) {
        size_t len = 0;
        for (uint32_t i = 0; i < nsys; i++)
            len += sys[i].len + 1;
        char *d = vm_alloc(vm, len + 1), *q = d;
        if (d) {
            for (uint32_t i = 0; i < nsys; i++) {
                if (i)
                    *q++ = '\n';
                memcpy(q, sys[i].s, sys[i].len);
                q += sys[i].len;
            }
            *q = 0;
            r->system.s = d;
            r->system.len = (uint32_t)(q - d);
        }
    }
    return 0;
}

int gd_output(rv_vm *vm, uint32_t agent, rv_sv *text)
{
    const rv_program *p = vm->img->p;
    const rv_agent *a = &p->agents[agent];
    for (uint32_t g = 0; g < a->guard_count; g++) {
        const rv_guardrail *gr = &p->guards[p->guard_refs[a->guard_first + g]];
        for (uint32_t k = 0; k < gr->count; k++) {
            const rv_gaction *ga = &p->gactions[gr->first + k];
            if (ga->dir != RV_DIR_OUTPUT || ga->kind == RV_GA_LIMIT)
                continue;
            if (apply(vm, p->guard_refs[a->guard_first + g], gr->first + k, text))
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
    if (vm->res.nguardacts < RV_MAX_GUARDACTS) {
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
    if (vm->res.nguardacts < RV_MAX_GUARDACTS) {
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
