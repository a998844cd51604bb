/* Model health; see health.h. */
#include <stdint.h>
#include <stdlib.h>

#include "health.h"
#include "mem.h"

typedef struct {
    int64_t latency;            /* EWMA, -1 before the first success */
    uint32_t fails;             /* consecutive failures that count */
    uint8_t circuit;            /* rv_circuit */
    uint8_t saturated;          /* at the last refresh */
    uint8_t limited;            /* the limiter counts its calls (hl_limit): only then can it saturate */
    uint8_t synced;             /* the environment holds this state (hl_refresh) */
    int64_t open_until;
} hl_model;

struct hl_health {
    const rv_program *p;
    rv_memenv *env;
    rl_limiter *rl;             /* borrowed, or NULL */
    hl_model *m;
    uint32_t n;
    /* when a refresh can change nothing, it does nothing: no model the
       limiter counts, none changed since the last write, no open circuit
       due to turn half-open */
    uint32_t nlimited;          /* models the limiter counts */
    int dirty;                  /* some model's state is not in the environment yet */
    int64_t due;                /* the earliest end of an open circuit; INT64_MAX: none */
};

hl_health *hl_new(const rv_program *p, rv_memenv *env)
{
    hl_health *h = mem_calloc(1, sizeof *h);
    if (!h || !(h->m = mem_calloc(p->nmodel ? p->nmodel : 1, sizeof *h->m))) {
        free(h);
        return NULL;
    }
    h->p = p;
    h->env = env;
    h->n = p->nmodel;
    h->dirty = 1;
    h->due = INT64_MAX;
    for (uint32_t i = 0; i < h->n; i++)
        h->m[i].latency = -1;
    return h;
}

void hl_free(hl_health *h)
{
    if (!h)
        return;
    free(h->m);
    free(h);
}

void hl_limit(hl_health *h, rl_limiter *rl)
{
    h->rl = rl;
    h->nlimited = 0;
    for (uint32_t i = 0; i < h->n; i++)
        h->nlimited += h->m[i].limited = (uint8_t)rl_limited(rl, i);
}

int hl_limited(const hl_health *h, uint32_t model)
{
    return h && model < h->n && h->m[model].limited;
}

int hl_take(hl_health *h, uint32_t model, int64_t est_tokens, int64_t now_us, rl_ticket *t)
{
    return rl_take(h ? h->rl : NULL, model, est_tokens, now_us, t);
}

void hl_settle(hl_health *h, uint32_t model, const rl_ticket *t, const rv_usage *u)
{
    if (h)
        rl_settle(h->rl, model, t, u ? rl_tokens(u) : 0);
}

static int counts(rv_failure f)
{
    switch (f) {
    case RV_FAIL_TIMEOUT: case RV_FAIL_RESET: case RV_FAIL_REFUSED: case RV_FAIL_OVERLOADED:
    case RV_FAIL_MALFORMED: case RV_FAIL_RATE: case RV_FAIL_SERVER:
        return 1;
    default:
        return 0;
    }
}

void hl_refresh(hl_health *h, int64_t now_us)
{
    if (!h->nlimited && !h->dirty && now_us < h->due)
        return;
    h->dirty = 0;
    h->due = INT64_MAX;
    for (uint32_t i = 0; i < h->n; i++) {
        hl_model *m = &h->m[i];
        uint8_t circuit = m->circuit, saturated = m->saturated;
        if (m->circuit == RV_CIRCUIT_OPEN && now_us >= m->open_until)
            m->circuit = RV_CIRCUIT_HALF_OPEN;
        m->saturated = m->limited && rl_saturated(h->rl, i, now_us);
        if (!m->synced || m->circuit != circuit || m->saturated != saturated) {
            memenv_set_model(h->env, i, m->latency, (rv_circuit)m->circuit, m->saturated);
            m->synced = 1;
        }
        if (m->circuit == RV_CIRCUIT_OPEN && m->open_until < h->due)
            h->due = m->open_until;
    }
}

void hl_observe(hl_health *h, uint32_t model, const rv_outcome *o, int64_t now_us)
{
    int clean = !h->dirty;
    if (model < h->n) {
        hl_model *m = &h->m[model];
        m->synced = 0;
        h->dirty = 1;
        if (o->ok) {
            if (o->latency_us >= 0)
                m->latency = m->latency < 0 ? o->latency_us
                           : (m->latency * (HL_EWMA_DEN - HL_EWMA_NEW) + o->latency_us * HL_EWMA_NEW) / HL_EWMA_DEN;
            m->fails = 0;
            m->circuit = RV_CIRCUIT_CLOSED;
        } else if (counts(o->failure)) {
            m->fails++;
            if (m->circuit == RV_CIRCUIT_HALF_OPEN || m->fails >= HL_TRIP) {
                m->circuit = RV_CIRCUIT_OPEN;
                m->open_until = now_us + HL_OPEN_US;
            }
        }
        /* no other model can have changed (hl_refresh's test): this one
           written is the whole refresh */
        if (clean && !h->nlimited && now_us < h->due) {
            memenv_set_model(h->env, model, m->latency, (rv_circuit)m->circuit, 0);
            m->synced = 1;
            h->dirty = 0;
            if (m->circuit == RV_CIRCUIT_OPEN && m->open_until < h->due)
                h->due = m->open_until;
            return;
        }
    }
    hl_refresh(h, now_us);
}

rv_modelstate hl_state(const hl_health *h, uint32_t model)
{
    rv_modelstate s = { -1, RV_CIRCUIT_CLOSED, 0 };
    if (model < h->n) {
        s.latency_us = h->m[model].latency;
        s.circuit = h->m[model].circuit;
        s.saturated = h->m[model].saturated;
    }
    return s;
}
