/* The in-memory environment; see envmem.h.

   The ledger is a small table of (agent, day) rows, each with the settled
   spend and the open reservations; a reservation is a ticket naming its
   row and amount.  Settling replaces the reserved amount by the actual
   one.  Reserve checks and adds in one step, so within one thread a budget
   can never be overspent by more than what reservations allowed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "envmem.h"
#include "mem.h"

typedef struct {
    char *agent;
    uint32_t agent_len;
    int64_t day, spent, reserved;
} ledger_row;

typedef struct {
    uint32_t row;
    int64_t amount;
    int open;
} ticket;

struct rv_memenv {
    rv_env env;
    int64_t fixed_now;          /* < 0: the real clock */
    uint64_t rng;
    rv_modelstate *models;
    uint32_t nmodel;
    ledger_row *rows;
    size_t nrow, caprow;
    ticket *tickets;
    size_t nticket, capticket;
};

static int64_t env_now(void *ud)
{
    rv_memenv *e = ud;
    if (e->fixed_now >= 0)
        return e->fixed_now;
    return clk_wall_us();       /* held within a loop callback (clock.h) */
}

static uint64_t env_random(void *ud)
{
    rv_memenv *e = ud;
    uint64_t z = (e->rng += 0x9e3779b97f4a7c15ull);   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The row of (agent, day), created when 'create'; SIZE_MAX if none. */
static size_t row_of(rv_memenv *e, const char *agent, uint32_t len, int64_t day, int create)
{
    for (size_t i = 0; i < e->nrow; i++)
        if (e->rows[i].day == day && e->rows[i].agent_len == len && !memcmp(e->rows[i].agent, agent, len))
            return i;
    if (!create || MEM_GROW(e->rows, e->nrow, e->caprow))
        return SIZE_MAX;
    char *name = mem_strndup(agent, len);
    if (!name)
        return SIZE_MAX;
    ledger_row *r = &e->rows[e->nrow];
    memset(r, 0, sizeof *r);
    r->agent = name;
    r->agent_len = len;
    r->day = day;
    return e->nrow++;
}

/* a + b for non-negative figures, saturating at INT64_MAX: money never
   wraps, whatever a provider reports */
static int64_t sat_add(int64_t a, int64_t b)
{
    a = a > 0 ? a : 0;
    b = b > 0 ? b : 0;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int env_reserve(void *ud, const rv_spendkey *k, int64_t amount, int64_t limit, uint64_t *t)
{
    rv_memenv *e = ud;
    size_t r = row_of(e, k->agent, k->agent_len, k->day, 1);
    if (r == SIZE_MAX || MEM_GROW(e->tickets, e->nticket, e->capticket))
        return -1;
    ledger_row *row = &e->rows[r];
    if (amount < 0 || limit < amount || sat_add(row->spent, row->reserved) > limit - amount)
        return 1;
    row->reserved += amount;
    e->tickets[e->nticket] = (ticket){ (uint32_t)r, amount, 1 };
    *t = e->nticket++;
    return 0;
}

static void env_settle(void *ud, uint64_t t, int64_t actual)
{
    rv_memenv *e = ud;
    if (t >= e->nticket || !e->tickets[t].open)
        return;
    ticket *tk = &e->tickets[t];
    ledger_row *row = &e->rows[tk->row];
    row->reserved -= tk->amount;
    row->spent = sat_add(row->spent, actual);
    tk->open = 0;
}

static int64_t env_spent(void *ud, const rv_spendkey *k)
{
    rv_memenv *e = ud;
    size_t r = row_of(e, k->agent, k->agent_len, k->day, 0);
    return r == SIZE_MAX ? 0 : sat_add(e->rows[r].spent, e->rows[r].reserved);
}

static void env_model(void *ud, uint32_t m, rv_modelstate *out)
{
    rv_memenv *e = ud;
    if (m < e->nmodel)
        *out = e->models[m];
}

rv_memenv *memenv_new(uint32_t nmodel)
{
    rv_memenv *e = mem_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->models = mem_calloc(nmodel + 1, sizeof *e->models);
    if (!e->models) {
        free(e);
        return NULL;
    }
    for (uint32_t i = 0; i < nmodel; i++)
        e->models[i].latency_us = -1;
    e->nmodel = nmodel;
    e->fixed_now = -1;
    e->rng = 42;
    e->env = (rv_env){ e, env_now, env_reserve, env_settle, env_spent, env_model, env_random };
    return e;
}

void memenv_free(rv_memenv *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nrow; i++)
        free(e->rows[i].agent);
    free(e->rows);
    free(e->tickets);
    free(e->models);
    free(e);
}

const rv_env *memenv_env(rv_memenv *e) { return &e->env; }

void memenv_set_time(rv_memenv *e, int64_t now_us) { e->fixed_now = now_us < 0 ? -1 : now_us; }

void memenv_seed(rv_memenv *e, uint64_t seed) { e->rng = seed; }

void memenv_set_model(rv_memenv *e, uint32_t m, int64_t latency_us, rv_circuit circuit, int saturated)
{
    if (m >= e->nmodel)
        return;
    e->models[m].latency_us = latency_us;
    e->models[m].circuit = (uint8_t)circuit;
    e->models[m].saturated = (uint8_t)(saturated != 0);
}

int memenv_add_spend(rv_memenv *e, const char *agent, int64_t day, int64_t amount)
{
    size_t r = row_of(e, agent, (uint32_t)strlen(agent), day, 1);
    if (r == SIZE_MAX)
        return -1;
    e->rows[r].spent = sat_add(e->rows[r].spent, amount);
    return 0;
}
