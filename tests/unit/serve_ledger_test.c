/* The spend ledger (vm/serve/ledger.c): reservations that hold under
   concurrency (RELIABILITY.md case 23: 64 clients against one $1 budget),
   exact integer counters, a restart that keeps the day's spend, and rows
   in SQLite that add up to the totals. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"

#define DOLLAR 1000000000000LL          /* picodollars */
#define THREADS 64
#define ROUNDS 400

static int failed;

static void report(const char *name, int ok, const char *why)
{
    if (ok)
        printf("PASS serve_ledger/%s\n", name);
    else {
        printf("FAIL serve_ledger/%s: %s\n", name, why);
        failed = 1;
    }
}

typedef struct {
    ld_ledger *l;
    rv_spendkey key;
    unsigned seed;
    int64_t settled, over;      /* what this thread settled; the worst settled+reserved it saw over the limit */
    int reserved, refused;
} worker;

static void *race(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        /* a call's worst case: $0.01 to $0.20; it costs 0 to 100% of that */
        int64_t worst = (1 + rand_r(&w->seed) % 20) * DOLLAR / 100;
        uint64_t t;
        int rc = ld_reserve(w->l, &w->key, worst, DOLLAR, &t);
        int64_t seen = ld_spent(w->l, &w->key);
        if (seen > DOLLAR && seen - DOLLAR > w->over)
            w->over = seen - DOLLAR;
        if (rc == 1) {
            w->refused++;
            continue;
        }
        if (rc != 0) {
            w->over = -1;
            return NULL;
        }
        w->reserved++;
        int64_t actual = worst * (rand_r(&w->seed) % 101) / 100;
        if (rand_r(&w->seed) % 4 == 0)
            usleep(50);         /* a call in flight */
        ld_settle(w->l, t, actual, &(ld_note){ "req-test", "pricey" });
        w->settled += actual;
    }
    return NULL;
}

static int64_t db_sum(const char *dir, int64_t *rows)
{
    char path[512];
    snprintf(path, sizeof path, "%s/spend.db", dir);
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t sum = -1;
    *rows = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COALESCE(SUM(cost), 0), COUNT(*) FROM spend", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            sum = sqlite3_column_int64(st, 0);
            *rows = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return sum;
}

static int64_t today(void)
{
    return ld_day((int64_t)time(NULL) * 1000000);
}

static void budget_race(const char *dir)
{
    char err[256];
    ld_ledger *l = ld_open(dir, err, sizeof err);
    report("open", l != NULL, err);
    if (!l)
        return;
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ l, { "capped", 6, today() }, (unsigned)i * 7919u + 1, 0, 0, 0, 0 };
        pthread_create(&th[i], NULL, race, &w[i]);
    }
    int64_t settled = 0, over = 0;
    int calls = 0, refused = 0, broken = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        settled += w[i].settled;
        calls += w[i].reserved;
        refused += w[i].refused;
        if (w[i].over < 0)
            broken = 1;
        else if (w[i].over > over)
            over = w[i].over;
    }
    rv_spendkey k = { "capped", 6, today() };
    char why[300];
    snprintf(why, sizeof why, "settled %lld, limit %lld, settled+reserved passed the limit by %lld, errors %d",
             (long long)ld_settled(l, &k), (long long)DOLLAR, (long long)over, broken);
    report("64 clients never pass a $1 budget", !broken && over == 0 && ld_settled(l, &k) <= DOLLAR, why);
    snprintf(why, sizeof why, "%d calls reserved, %d refused", calls, refused);
    report("the race both reserved and refused", calls > 0 && refused > 0, why);
    snprintf(why, sizeof why, "ledger %lld, threads %lld", (long long)ld_settled(l, &k), (long long)settled);
    report("settled equals the sum of the calls", ld_settled(l, &k) == settled, why);
    report("no reservation left open", ld_reserved(l, &k) == 0 && ld_open_tickets(l) == 0, "reservations left");
    report("flush", ld_flush(l) == 0, "the store failed");
    int64_t rows, sum = db_sum(dir, &rows);
    snprintf(why, sizeof why, "rows %lld (calls %d), sum %lld (settled %lld)", (long long)rows, calls,
             (long long)sum, (long long)settled);
    report("one row per settled call, summing to the spend", rows == calls && sum == settled, why);
    ld_close(l);

    /* a restart keeps the day's spend */
    l = ld_open(dir, err, sizeof err);
    snprintf(why, sizeof why, "after the restart: %lld, before: %lld", l ? (long long)ld_settled(l, &k) : -1LL,
             (long long)settled);
    report("restart keeps the day's spend", l && ld_settled(l, &k) == settled, why);
    if (l) {
        uint64_t t;
        int64_t room = DOLLAR - settled;
        report("the remaining room can be reserved", room <= 0 || ld_reserve(l, &k, room, DOLLAR, &t) == 0,
               "refused");
        if (room > 0)
            ld_settle(l, t, 0, NULL);
        report("one picodollar more is refused", ld_reserve(l, &k, room + 1, DOLLAR, &t) == 1, "reserved");
    }
    ld_close(l);
}

static void tickets(void)
{
    char err[256];
    ld_ledger *l = ld_open(NULL, err, sizeof err);
    rv_spendkey a = { "a", 1, 100 }, b = { "b", 1, 100 }, a2 = { "a", 1, 101 };
    uint64_t t1, t2;
    int ok = ld_reserve(l, &a, 60, 100, &t1) == 0 && ld_reserve(l, &a, 41, 100, &t2) == 1 &&
             ld_reserve(l, &a, 40, 100, &t2) == 0;
    report("reserve up to the limit exactly", ok, "wrong answers");
    report("agents and days are apart", ld_reserve(l, &b, 100, 100, &t2) == 0 && ld_reserve(l, &a2, 100, 100, &t2) == 0,
           "another key was refused");
    ld_settle(l, t1, 10, NULL);
    ld_settle(l, t1, 10, NULL);                 /* twice: ignored */
    ld_settle(l, t1 ^ (1ull << 32), 10, NULL);  /* a forged generation: ignored */
    ld_settle(l, 999999, 10, NULL);             /* no such slot: ignored */
    report("a ticket settles once", ld_settled(l, &a) == 10 && ld_reserved(l, &a) == 40, "settled twice");
    report("no limit: always reserved", ld_reserve(l, &a, INT64_MAX / 2, 0, &t2) == 0, "refused");
    report("a call larger than the limit is refused", ld_reserve(l, &b, 1000, 100, &t2) == 1, "reserved");
    report("day numbers", ld_day(0) == 0 && ld_day(86400LL * 1000000 - 1) == 0 && ld_day(86400LL * 1000000) == 1 &&
                          ld_day(-1) == -1, "wrong day");
    ld_close(l);
}

int main(void)
{
    char dir[] = "/tmp/rv-ledger-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL serve_ledger/setup: mkdtemp\n");
        return 1;
    }
    budget_race(dir);
    tickets();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        return 1;
    return failed;
}
