/* The spend ledger; see ledger.h for the design and why reservations live
   in memory and settled calls in SQLite.

   In memory: a hash table of (agent, day) entries, each with 'settled'
   and 'reserved'; a table of open reservations (ticket = slot index and a
   generation, so a stale or forged ticket is ignored); a queue of rows to
   write.  All of it under one mutex, held for a few instructions.  The
   writer thread takes the queue whole and writes it in one transaction. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "ledger.h"
#include "log.h"
#include "mem.h"

#define NBUCKET 256

typedef struct entry {
    struct entry *next;
    int64_t day, settled, reserved;
    uint32_t len;
    char agent[];
} entry;

typedef struct {
    entry *e;                   /* NULL: free slot */
    int64_t amount;
    uint32_t gen, next_free;
} slot;

typedef struct {
    int64_t ts_us, day, cost, reserved;
    char *agent, *request, *model;
} row;

struct ld_ledger {
    pthread_mutex_t mu;
    pthread_cond_t wake, flushed;
    entry *buckets[NBUCKET];
    slot *slots;
    uint32_t nslot, cap_slot, free_head, open;
    row *rows;
    size_t nrows, cap_rows;
    uint64_t queued, written;   /* rows queued and written, ever */
    int broken, stop;
    sqlite3 *db;
    sqlite3_stmt *ins;
    pthread_t writer;
    int has_writer;
};

int64_t ld_day(int64_t now_us)
{
    int64_t d = 86400LL * 1000000;
    return now_us >= 0 ? now_us / d : -((-now_us + d - 1) / d);
}

static uint32_t hash(const char *s, uint32_t n, int64_t day)
{
    uint32_t h = 2166136261u ^ (uint32_t)day;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % NBUCKET;
}

/* The entry for (agent, day), created when 'make'; NULL when absent or
   out of memory.  Under the lock. */
static entry *find(ld_ledger *l, const char *agent, uint32_t n, int64_t day, int make)
{
    if (n > LD_MAX_AGENT)
        n = LD_MAX_AGENT;
    uint32_t h = hash(agent, n, day);
    for (entry *e = l->buckets[h]; e; e = e->next)
        if (e->day == day && e->len == n && !memcmp(e->agent, agent, n))
            return e;
    if (!make)
        return NULL;
    entry *e = mem_calloc(1, sizeof *e + n + 1);
    if (!e)
        return NULL;
    e->day = day;
    e->len = n;
    memcpy(e->agent, agent, n);
    e->next = l->buckets[h];
    l->buckets[h] = e;
    return e;
}

/* ---------------------------------------------------------------- the store */

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "spend ledger: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS spend ("
    "  id INTEGER PRIMARY KEY,"
    "  ts_us INTEGER NOT NULL,"         /* when the call was settled, microseconds since the epoch */
    "  day INTEGER NOT NULL,"           /* UTC day, days since 1970-01-01 */
    "  agent TEXT NOT NULL,"
    "  cost INTEGER NOT NULL,"          /* picodollars */
    "  reserved INTEGER NOT NULL,"      /* the worst case that was reserved */
    "  request TEXT,"                   /* the gateway's request id */
    "  model TEXT);"
    "CREATE INDEX IF NOT EXISTS spend_day ON spend(day, agent);";

/* The spend of today and yesterday, from the table. */
static int load_totals(ld_ledger *l, char *err, size_t errlen)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t today = ld_day((int64_t)ts.tv_sec * 1000000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db, "SELECT agent, day, SUM(cost) FROM spend WHERE day >= ? GROUP BY agent, day", -1,
                           &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "spend ledger: %s", sqlite3_errmsg(l->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, today - 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        entry *e = find(l, a ? a : "", (uint32_t)sqlite3_column_bytes(st, 0), sqlite3_column_int64(st, 1), 1);
        if (!e) {
            sqlite3_finalize(st);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        e->settled = sqlite3_column_int64(st, 2);
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "spend ledger: %s", sqlite3_errmsg(l->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static void free_rows(row *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].agent);
        free(r[i].request);
        free(r[i].model);
    }
}

static int write_rows(ld_ledger *l, row *r, size_t n)
{
    if (sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s = l->ins;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, r[i].ts_us);
        sqlite3_bind_int64(s, 2, r[i].day);
        sqlite3_bind_text(s, 3, r[i].agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, r[i].cost);
        sqlite3_bind_int64(s, 5, r[i].reserved);
        if (r[i].request)
            sqlite3_bind_text(s, 6, r[i].request, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 6);
        if (r[i].model)
            sqlite3_bind_text(s, 7, r[i].model, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 7);
        if (sqlite3_step(s) != SQLITE_DONE) {
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void *writer(void *arg)
{
    ld_ledger *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->nrows && !l->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += LD_FLUSH_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->wake, &l->mu, &ts);
        }
        if (!l->nrows && l->stop)
            break;
        row *r = l->rows;
        size_t n = l->nrows;
        l->rows = NULL;
        l->nrows = l->cap_rows = 0;
        pthread_mutex_unlock(&l->mu);
        int bad = write_rows(l, r, n);
        if (bad) {              /* through the log writer: SQLite's message may hold any bytes */
            lg_line ln;
            lg_begin(&ln, "error", "ledger_write_failed");
            lg_str(&ln, "msg", "spend ledger: writing rows failed; budgeted calls are refused from now on");
            lg_int(&ln, "rows", (int64_t)n);
            lg_str(&ln, "sqlite", sqlite3_errmsg(l->db));
            lg_end(&ln);
        }
        free_rows(r, n);
        free(r);
        pthread_mutex_lock(&l->mu);
        if (bad)
            l->broken = 1;
        l->written += n;
        pthread_cond_broadcast(&l->flushed);
        if (!bad) {             /* wait a little: rows come in batches */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += LD_FLUSH_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (!l->stop && l->nrows < LD_BATCH)
                pthread_cond_timedwait(&l->wake, &l->mu, &ts);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---------------------------------------------------------------- open, close */

ld_ledger *ld_open(const char *dir, char *err, size_t errlen)
{
    ld_ledger *l = mem_calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->flushed, NULL);
    l->free_head = UINT32_MAX;
    if (!dir)
        return l;
    char path[4096];
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        ld_close(l);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/spend.db", dir);
    if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, l->db ? sqlite3_errmsg(l->db) : "out of memory");
        ld_close(l);
        return NULL;
    }
    sqlite3_busy_timeout(l->db, 5000);
    if (exec(l->db, schema, err, errlen) || load_totals(l, err, errlen)) {
        ld_close(l);
        return NULL;
    }
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO spend(ts_us, day, agent, cost, reserved, request, model) "
                           "VALUES(?,?,?,?,?,?,?)", -1, &l->ins, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "spend ledger: %s", sqlite3_errmsg(l->db));
        ld_close(l);
        return NULL;
    }
    if (pthread_create(&l->writer, NULL, writer, l)) {
        snprintf(err, errlen, "cannot start the ledger's writer thread");
        ld_close(l);
        return NULL;
    }
    l->has_writer = 1;
    return l;
}

void ld_close(ld_ledger *l)
{
    if (!l)
        return;
    if (l->has_writer) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->writer, NULL);
    }
    free_rows(l->rows, l->nrows);
    free(l->rows);
    if (l->ins)
        sqlite3_finalize(l->ins);
    if (l->db)
        sqlite3_close(l->db);
    for (int b = 0; b < NBUCKET; b++)
        for (entry *e = l->buckets[b], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    free(l->slots);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->flushed);
    free(l);
}

/* ---------------------------------------------------------------- reserve, settle */

int ld_reserve(ld_ledger *l, const rv_spendkey *k, int64_t amount, int64_t limit, uint64_t *ticket)
{
    if (amount < 0)
        amount = 0;
    pthread_mutex_lock(&l->mu);
    int rc = -1;
    entry *e = l->broken ? NULL : find(l, k->agent, k->agent_len, k->day, 1);
    if (!e)
        goto out;
    int64_t used = e->settled > INT64_MAX - e->reserved ? INT64_MAX : e->settled + e->reserved;
    if (limit > 0 && (amount > limit || used > limit - amount)) {
        rc = 1;
        goto out;
    }
    uint32_t s = l->free_head;
    if (s == UINT32_MAX) {
        if (l->nslot == l->cap_slot) {
            uint32_t cap = l->cap_slot ? l->cap_slot * 2 : 64;
            slot *ns = mem_reallocarray(l->slots, cap, sizeof *ns);
            if (!ns)
                goto out;
            l->slots = ns;
            l->cap_slot = cap;
        }
        s = l->nslot++;
        l->slots[s].gen = 1;
    } else
        l->free_head = l->slots[s].next_free;
    l->slots[s].e = e;
    l->slots[s].amount = amount;
    e->reserved += amount;
    l->open++;
    *ticket = (uint64_t)l->slots[s].gen << 32 | s;
    rc = 0;
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s ? mem_strndup(s, strlen(s) > 256 ? 256 : strlen(s)) : NULL;
}

void ld_settle(ld_ledger *l, uint64_t ticket, int64_t actual, const ld_note *note)
{
    uint32_t s = (uint32_t)ticket, gen = (uint32_t)(ticket >> 32);
    if (actual < 0)
        actual = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    row r = { .ts_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, .cost = actual };
    if (l->db) {                /* copies made outside the lock */
        r.request = note ? dup_or_null(note->request_id) : NULL;
        r.model = note ? dup_or_null(note->model) : NULL;
    }
    pthread_mutex_lock(&l->mu);
    if (s >= l->nslot || l->slots[s].gen != gen || !l->slots[s].e) {
        pthread_mutex_unlock(&l->mu);
        free(r.request);
        free(r.model);
        return;
    }
    entry *e = l->slots[s].e;
    r.reserved = l->slots[s].amount;
    e->reserved -= l->slots[s].amount;
    e->settled = e->settled > INT64_MAX - actual ? INT64_MAX : e->settled + actual;
    l->slots[s].e = NULL;
    l->slots[s].gen++;
    l->slots[s].next_free = l->free_head;
    l->free_head = s;
    l->open--;
    if (l->db) {
        r.day = e->day;
        r.agent = mem_strndup(e->agent, e->len);
        if (!r.agent || MEM_GROW(l->rows, l->nrows, l->cap_rows)) {
            l->broken = 1;      /* a row that cannot be recorded: fail closed from now on */
            free_rows(&r, 1);
        } else {
            l->rows[l->nrows++] = r;
            l->queued++;
            if (l->nrows >= LD_BATCH)
                pthread_cond_signal(&l->wake);
        }
    }
    pthread_mutex_unlock(&l->mu);
}

/* ---------------------------------------------------------------- reading */

static int64_t get(ld_ledger *l, const rv_spendkey *k, int what)
{
    pthread_mutex_lock(&l->mu);
    entry *e = find(l, k->agent, k->agent_len, k->day, 0);
    int64_t v = !e ? 0 : what == 0 ? e->settled + e->reserved : what == 1 ? e->settled : e->reserved;
    pthread_mutex_unlock(&l->mu);
    return v;
}

int64_t ld_spent(ld_ledger *l, const rv_spendkey *k)
{
    return get(l, k, 0);
}

int64_t ld_settled(ld_ledger *l, const rv_spendkey *k)
{
    return get(l, k, 1);
}

int64_t ld_reserved(ld_ledger *l, const rv_spendkey *k)
{
    return get(l, k, 2);
}

uint32_t ld_open_tickets(ld_ledger *l)
{
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->open;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int ld_flush(ld_ledger *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t want = l->queued;
    if (l->has_writer) {
        pthread_cond_signal(&l->wake);
        while (l->written < want && !l->broken)
            pthread_cond_wait(&l->flushed, &l->mu);
    }
    int rc = l->broken ? -1 : 0;
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void ld_each(ld_ledger *l, void (*cb)(void *ud, const char *agent, int64_t day, int64_t settled, int64_t reserved),
             void *ud)
{
    pthread_mutex_lock(&l->mu);
    for (int b = 0; b < NBUCKET; b++)
        for (entry *e = l->buckets[b]; e; e = e->next)
            cb(ud, e->agent, e->day, e->settled, e->reserved);
    pthread_mutex_unlock(&l->mu);
}
