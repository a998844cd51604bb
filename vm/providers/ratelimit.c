/* Per-model rate limits; see ratelimit.h.

   Each limited model has a ring of RL_SLOTS slots indexed by the second
   (now / 1 s) modulo RL_SLOTS; a slot whose stored second is not the one
   the ring position stands for now is stale and counts as empty, so the
   ring never needs sweeping.  Models with no limit have no ring and are
   never saturated.  One mutex guards every ring: a check and the count
   that follows it are one step. */
#include <pthread.h>
#include <stdlib.h>

#include "mem.h"
#include "ratelimit.h"

typedef struct {
    int64_t sec;                /* the second this slot holds; -1 empty */
    int64_t requests, tokens;
} rl_slot;

typedef struct {
    int64_t rpm, tpm;           /* 0 = no limit of that kind */
    rl_slot *slots;             /* RL_SLOTS, or NULL when the model has no limit */
} rl_model;

struct rl_limiter {
    pthread_mutex_t mu;
    rl_model *m;
    uint32_t n;
};

rl_limiter *rl_new(const rv_program *p)
{
    rl_limiter *l = mem_calloc(1, sizeof *l);
    if (!l || !(l->m = mem_calloc(p->nmodel ? p->nmodel : 1, sizeof *l->m)))
        goto fail;
    l->n = p->nmodel;
    for (uint32_t i = 0; i < l->n; i++) {
        rl_model *m = &l->m[i];
        m->rpm = p->models[i].rpm > 0 ? p->models[i].rpm : 0;
        m->tpm = p->models[i].tpm > 0 ? p->models[i].tpm : 0;
        if (!m->rpm && !m->tpm)
            continue;
        if (!(m->slots = mem_malloc(RL_SLOTS * sizeof *m->slots)))
            goto fail;
        for (int s = 0; s < RL_SLOTS; s++)
            m->slots[s] = (rl_slot){ -1, 0, 0 };
    }
    if (pthread_mutex_init(&l->mu, NULL))
        goto fail;
    return l;
fail:
    if (l) {
        for (uint32_t i = 0; l->m && i < l->n; i++)
            free(l->m[i].slots);
        free(l->m);
    }
    free(l);
    return NULL;
}

void rl_free(rl_limiter *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->n; i++)
        free(l->m[i].slots);
    free(l->m);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static rl_model *limited(const rl_limiter *l, uint32_t model)
{
    return l && model < l->n && l->m[model].slots ? &l->m[model] : NULL;
}

int rl_limited(const rl_limiter *l, uint32_t model)
{
    return limited(l, model) != NULL;
}

static int64_t second_of(int64_t now_us)
{
    return now_us >= 0 ? now_us / 1000000 : 0;
}

/* The window's sums; the caller holds the lock. */
static void window(const rl_model *m, int64_t sec, int64_t *requests, int64_t *tokens)
{
    int64_t r = 0, t = 0;
    for (int s = 0; s < RL_SLOTS; s++) {
        const rl_slot *x = &m->slots[s];
        if (x->sec > sec - RL_SLOTS && x->sec <= sec) {
            r += x->requests;
            t += x->tokens;
        }
    }
    *requests = r;
    *tokens = t;
}

static int full(const rl_model *m, int64_t sec)
{
    int64_t r, t;
    window(m, sec, &r, &t);
    return (m->rpm && r >= m->rpm) || (m->tpm && t >= m->tpm);
}

int rl_saturated(rl_limiter *l, uint32_t model, int64_t now_us)
{
    rl_model *m = limited(l, model);
    if (!m)
        return 0;
    pthread_mutex_lock(&l->mu);
    int sat = full(m, second_of(now_us));
    pthread_mutex_unlock(&l->mu);
    return sat;
}

/* Tokens are added with a ceiling: a figure near INT64_MAX (a provider's
   crafted usage) must not wrap the window's sum. */
static int64_t add_tokens(int64_t a, int64_t b)
{
    const int64_t cap = INT64_MAX / (2 * RL_SLOTS);
    int64_t s = a + (b > cap ? cap : b);
    return s < 0 ? 0 : s > cap ? cap : s;
}

int rl_take(rl_limiter *l, uint32_t model, int64_t est_tokens, int64_t now_us, rl_ticket *t)
{
    *t = (rl_ticket){ -1, 0 };
    rl_model *m = limited(l, model);
    if (!m)
        return 0;
    int64_t sec = second_of(now_us);
    pthread_mutex_lock(&l->mu);
    int sat = full(m, sec);
    if (!sat) {
        rl_slot *x = &m->slots[sec % RL_SLOTS];
        if (x->sec != sec)
            *x = (rl_slot){ sec, 0, 0 };
        x->requests++;
        int64_t before = x->tokens;
        x->tokens = add_tokens(x->tokens, est_tokens > 0 ? est_tokens : 0);
        *t = (rl_ticket){ sec, x->tokens - before };
    }
    pthread_mutex_unlock(&l->mu);
    return sat;
}

void rl_settle(rl_limiter *l, uint32_t model, const rl_ticket *t, int64_t tokens)
{
    rl_model *m = limited(l, model);
    if (!m || t->sec < 0 || tokens < 0)
        return;
    pthread_mutex_lock(&l->mu);
    rl_slot *x = &m->slots[t->sec % RL_SLOTS];
    if (x->sec == t->sec) {
        /* the estimate is still in the slot (only settling takes from
           it, each ticket once), unless the ceiling clipped it */
        x->tokens = x->tokens >= t->tokens ? x->tokens - t->tokens : 0;
        x->tokens = add_tokens(x->tokens, tokens);
    }
    pthread_mutex_unlock(&l->mu);
}

int64_t rl_tokens(const rv_usage *u)
{
    if (u->input < 0 && u->output < 0)
        return -1;
    int64_t t = 0;
    const int64_t parts[4] = { u->input, u->cache_read, u->cache_write, u->output };
    for (int i = 0; i < 4; i++)
        t = add_tokens(t, parts[i] > 0 ? parts[i] : 0);
    return t;
}

void rl_usage(rl_limiter *l, uint32_t model, int64_t now_us, int64_t *requests, int64_t *tokens)
{
    *requests = *tokens = 0;
    rl_model *m = limited(l, model);
    if (!m)
        return;
    pthread_mutex_lock(&l->mu);
    window(m, second_of(now_us), requests, tokens);
    pthread_mutex_unlock(&l->mu);
}
