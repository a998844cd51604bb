/* The spend ledger behind the gateway's budgets: per agent and UTC day,
   what was spent (settled calls) and what is reserved (calls in flight),
   in picodollars, exact integers.

   Reservations are held in memory under one mutex; settled calls are
   rows in SQLite (WAL mode, one row per settled call) under --state DIR.
   Why not a SQLite transaction per reservation: a reservation is taken
   before every budgeted call and released after it, on the event loop's
   thread; a mutex costs tens of nanoseconds where a write transaction
   costs tens of microseconds (the gateway's whole budget per request is
   50), and a reservation means nothing after the process that held it is
   gone -- its call died with it.  What must survive is what was spent,
   and that is what the table holds.  The check and the increment happen
   under the same lock, so concurrent requests cannot both pass a budget
   that has room for one (the check-then-increment race other gateways
   have).

   Rows are written by a writer thread in batches (one transaction every
   LD_FLUSH_MS or LD_BATCH rows), so no request waits for the disk; the
   in-memory totals are updated at once.  A crash can lose the rows of the
   last LD_FLUSH_MS; a clean stop (ld_close, SIGTERM) writes everything.
   On open, the day's spend (and the day before's) is summed from the
   table, so a restart keeps it.  A write that fails makes every later
   reservation fail (fail closed: no budgeted call runs while spend cannot
   be recorded).

   The store is behind this interface, and the gateway's environment
   (vm/serve/env.h) behind the VM's rv_env, so a store shared by several
   gateway processes can replace this one.

   Threads: every function may be called from any thread. */
#ifndef RV_SERVE_LEDGER_H
#define RV_SERVE_LEDGER_H

#include <stdint.h>

#include "vm.h"

#define LD_FLUSH_MS 20
#define LD_BATCH 512
#define LD_MAX_AGENT 256            /* bytes of an agent name kept */

typedef struct ld_ledger ld_ledger;

/* Open (creating) DIR/spend.db; 'dir' NULL keeps the ledger in memory
   only.  NULL with a message in 'err'. */
ld_ledger *ld_open(const char *dir, char *err, size_t errlen);
/* Write what is pending, stop the writer, close.  Accepts NULL. */
void ld_close(ld_ledger *l);

/* rv_env's reserve: 0 and a ticket when reserved, 1 when 'limit' refuses,
   -1 on an error (out of memory, the store failed). */
int ld_reserve(ld_ledger *l, const rv_spendkey *k, int64_t amount, int64_t limit, uint64_t *ticket);

/* What a settled row records besides the cost; borrowed during the call. */
typedef struct {
    const char *request_id;     /* NULL: none */
    const char *model;          /* NULL: none */
} ld_note;

/* rv_env's settle: the reservation becomes 'actual' spent (a row when the
   ledger has a store).  An unknown ticket is ignored. */
void ld_settle(ld_ledger *l, uint64_t ticket, int64_t actual, const ld_note *note);

/* Settled plus reserved for the key. */
int64_t ld_spent(ld_ledger *l, const rv_spendkey *k);
/* Settled only, and reserved only. */
int64_t ld_settled(ld_ledger *l, const rv_spendkey *k);
int64_t ld_reserved(ld_ledger *l, const rv_spendkey *k);
/* Open reservations. */
uint32_t ld_open_tickets(ld_ledger *l);

/* Wait until every settled row is in the store.  0, or -1 when the store
   failed. */
int ld_flush(ld_ledger *l);

/* Every (agent, day) known, for metrics: 'cb' under the ledger's lock
   (it must not call the ledger). */
void ld_each(ld_ledger *l, void (*cb)(void *ud, const char *agent, int64_t day, int64_t settled, int64_t reserved),
             void *ud);

/* The UTC day of a wall-clock time in microseconds since the epoch. */
int64_t ld_day(int64_t now_us);

#endif
