/* A worker's per-policy run-time state and a request's environment; see
   wpol.h. */
#include <stdlib.h>

#include "mem.h"
#include "series.h"
#include "wpol.h"

#define POOL_MAX 64             /* idle VMs kept per state */

static void vm_drop(wp_vm *v)
{
    vm_free(v->vm);
    free(v);
}

static void wp_free(wp_state *s)
{
    for (wp_vm *v = s->pool, *next; v; v = next) {
        next = v->next;
        vm_drop(v);
    }
    hl_free(s->health);
    memenv_free(s->env);
    bi_lang_free(s->lang);
    free(s->circuit);
    se_free(s->series);
    free(s->lines);
    free(s->line_at);
    sp_unref(s->sp);
    free(s);
}

void wp_unref(wp_state *s)
{
    if (s && --s->refs == 0)
        wp_free(s);
}

static wp_state *wp_new(sp_policy *sp)
{
    wp_state *s = mem_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->refs = 1;
    s->sp = sp_ref(sp);
    const rv_program *p = sp->p;
    s->env = memenv_new(p->nmodel);
    s->health = s->env ? hl_new(p, s->env) : NULL;
    s->circuit = mem_calloc(p->nmodel + 1, 1);
    s->lang = sp->uses_lang ? bi_lang_new() : NULL;
    if (s->health)
        hl_limit(s->health, sp->limits);    /* one minute per model for the whole process */
    if (!s->health || !s->circuit || (sp->uses_lang && !s->lang)) {
        wp_free(s);
        return NULL;
    }
    return s;
}

wp_state *wp_get(wp_state **cur, sp_policy *sp)
{
    if (!*cur || (*cur)->sp != sp) {
        wp_state *s = wp_new(sp);
        if (!s)
            return NULL;
        wp_unref(*cur);
        *cur = s;
    }
    (*cur)->refs++;
    return *cur;
}

/* ---------------------------------------------------------------- the environment */

static int64_t e_now(void *ud)
{
    const rv_env *s = ((wp_env *)ud)->state;
    return s->now_us(s->ud);
}

static int e_reserve(void *ud, const rv_spendkey *k, int64_t amount, int64_t limit, uint64_t *ticket)
{
    wp_env *e = ud;
    int rc = ld_reserve(e->ledger, k, amount, limit, ticket);
    if (rc < 0)
        e->ledger_failed = 1;
    return rc;
}

static void e_settle(void *ud, uint64_t ticket, int64_t actual)
{
    wp_env *e = ud;
    ld_note n = { e->request_id, e->model };
    ld_settle(e->ledger, ticket, actual, &n);
}

static int64_t e_spent(void *ud, const rv_spendkey *k)
{
    return ld_spent(((wp_env *)ud)->ledger, k);
}

static void e_model(void *ud, uint32_t model, rv_modelstate *out)
{
    const rv_env *s = ((wp_env *)ud)->state;
    s->model_state(s->ud, model, out);
}

static uint64_t e_random(void *ud)
{
    const rv_env *s = ((wp_env *)ud)->state;
    return s->random(s->ud);
}

void wp_env_init(wp_env *e, wp_state *s, ld_ledger *ledger, const char *request_id)
{
    e->env = (rv_env){ e, e_now, e_reserve, e_settle, e_spent, e_model, e_random };
    e->state = memenv_env(s->env);
    e->ledger = ledger;
    e->request_id = request_id;
    e->model = NULL;
    e->ledger_failed = 0;
}

/* ---------------------------------------------------------------- the VM pool */

wp_vm *wp_vm_get(wp_state *s, ld_ledger *ledger, const char *request_id)
{
    wp_vm *v = s->pool;
    if (v) {
        s->pool = v->next;
        s->npool--;
        wp_env_init(&v->env, s, ledger, request_id);
        return v;
    }
    if (!(v = mem_calloc(1, sizeof *v)))
        return NULL;
    wp_env_init(&v->env, s, ledger, request_id);
    if (!(v->vm = vm_new(&s->sp->img, &v->env.env, s->lang))) {
        free(v);
        return NULL;
    }
    return v;
}

void wp_vm_put(wp_state *s, wp_vm *v)
{
    if (!v)
        return;
    vm_release(v->vm);          /* settles through v->env: its request id is still valid */
    if (s->npool >= POOL_MAX) {
        vm_drop(v);
        return;
    }
    v->env.request_id = NULL;
    v->env.model = NULL;
    v->next = s->pool;
    s->pool = v;
    s->npool++;
}
