/* The served policy; see policy.h.  The current policy is one pointer
   behind a mutex: taking a reference costs one uncontended lock per
   request, and a reload swaps the pointer without waiting for anyone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "policy.h"
#include "polload.h"

static pthread_mutex_t cur_mu = PTHREAD_MUTEX_INITIALIZER;
static sp_policy *cur;

/* The program at 'path' (compiler/polload.h): the compiler's diagnostics
   go to stderr, the line that sums them up to 'err'. */
static rv_program *load_program(const char *path, const sp_opts *o, int *unreadable, char *err, size_t errlen)
{
    pl_opts po = { .trust = o->trust };
    pl_status st = PL_OK;
    int reported;
    rv_program *p = pl_load(path, &po, &st, &reported, err, errlen);
    *unreadable = !p && st == PL_UNREADABLE;
    return p;
}

sp_policy *sp_load(const char *path, const sp_opts *o, uint64_t generation, int *unreadable, char *err,
                   size_t errlen)
{
    int unread = 0;
    if (!unreadable)
        unreadable = &unread;
    rv_program *p = load_program(path, o, unreadable, err, errlen);
    if (!p)
        return NULL;
    if (p->ntest && !o->allow_tests) {
        snprintf(err, errlen, "%s: refused: the policy has %u test block%s (a service runs policies without "
                 "them; build it without tests, or pass --allow-tests)", path, p->ntest, p->ntest == 1 ? "" : "s");
        rv_program_free(p);
        return NULL;
    }
    if (!p->nagent) {
        snprintf(err, errlen, "%s: refused: the policy has no agent to serve", path);
        rv_program_free(p);
        return NULL;
    }
    sp_policy *s = mem_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        rv_program_free(p);
        return NULL;
    }
    if (vm_image_init(&s->img, p, err, errlen)) {
        rv_program_free(p);
        free(s);
        return NULL;
    }
    if (!(s->limits = rl_new(p))) {
        snprintf(err, errlen, "out of memory");
        vm_image_free(&s->img);
        rv_program_free(p);
        free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->p = p;
    s->generation = generation;
    s->uses_lang = vm_uses_builtin(p, RV_BI_lang);
    for (int i = 0; i < 8; i++)
        snprintf(s->digest + 2 * i, 3, "%02x", p->digest[i]);
    return s;
}

sp_policy *sp_ref(sp_policy *p)
{
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void sp_unref(sp_policy *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    vm_image_free(&p->img);
    rl_free(p->limits);
    rv_program_free(p->p);
    free(p);
}

sp_policy *sp_current(void)
{
    pthread_mutex_lock(&cur_mu);
    sp_policy *p = cur ? sp_ref(cur) : NULL;
    pthread_mutex_unlock(&cur_mu);
    return p;
}

void sp_install(sp_policy *p)
{
    pthread_mutex_lock(&cur_mu);
    sp_policy *old = cur;
    cur = p;
    pthread_mutex_unlock(&cur_mu);
    sp_unref(old);
}
