/* Traces read back: where the money and the time went.  'routevm report'
   reads the JSON Lines traces that 'routevm run --trace' writes (format:
   docs/traces.md, writer: vm/trace.c) with this module, and prints what it
   sums up (vm/report_out.c).

   Lines go in one at a time (rpt_add_line); a request's records are
   gathered by 'routevm.request_id', in whatever order requests are
   interleaved, and a request counts once its 'outcome' record has been
   read.  A request with no outcome (a file cut short, a writer still
   running) is counted as incomplete and left out of every figure.
   Optional 'score' records ({"routevm.step": "score", "routevm.request_id":
   ID, "routevm.score": 0..1}), appended by whoever grades the answers,
   give a request a quality score.

   rpt_summarize() then groups the complete requests by a key -- the model
   called, the agent, the rule, the request's task, the A/B arm -- and
   computes each group's cost, tokens by class, latency and time to first
   token percentiles, and error, fallback and escalation rates.

   Untrusted input: every line is parsed strictly (jansson, duplicate keys
   refused) and every field read is type-checked; a bad line leaves the set
   as it was.  Memory is bounded by the request cap (rpt_new), at most
   RPT_MAX_CALLS calls per request and RPT_MAX_NAMES distinct names. */
#ifndef RV_REPORT_H
#define RV_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define RPT_MAX_REQUESTS 1000000    /* default cap on distinct requests */
#define RPT_MAX_CALLS 64            /* call records per request (the VM makes at most RV_MAX_ATTEMPTS) */
#define RPT_MAX_NAMES 65536         /* distinct agents, models, rules, tasks and arms */
#define RPT_NONE UINT32_MAX

typedef struct rpt_set rpt_set;

/* A new empty set of at most 'max_requests' requests (0: the default);
   NULL when out of memory. */
rpt_set *rpt_new(size_t max_requests);
void rpt_free(rpt_set *s);      /* accepts NULL */

/* Read one trace record from 'len' bytes (one line, without its newline;
   only read during the call).  Returns 0; 1 when the line is not a valid
   record (why in 'err'; the set is unchanged); -1 when a cap is reached
   or memory ran out (why in 'err'; stop reading).  'line' is the line's
   number, for messages that point at an earlier line. */
int rpt_add_line(rpt_set *s, const char *buf, size_t len, uint32_t line, char *err, size_t errlen);

typedef enum { RPT_BY_MODEL, RPT_BY_AGENT, RPT_BY_RULE, RPT_BY_TASK, RPT_BY_ARM, RPT_BY__COUNT } rpt_by;
extern const char *const rpt_by_names[RPT_BY__COUNT];  /* "model", "agent", "rule", "task", "arm" */

/* Token classes, as a trace's call records count them. */
enum { RPT_TOK_INPUT, RPT_TOK_UNCACHED, RPT_TOK_CACHE_READ, RPT_TOK_CACHE_WRITE, RPT_TOK_OUTPUT, RPT_TOK_REASONING,
       RPT_TOK__COUNT };
extern const char *const rpt_token_names[RPT_TOK__COUNT];

/* Percentiles of a set of durations, microseconds; n 0: none known. */
typedef struct {
    uint64_t n;
    int64_t p50, p95, p99;
} rpt_pctl;

/* One group's figures.  For the whole and for a request key (agent, rule,
   task, arm) they are about requests: their calls, their cost, their
   latency from start to end, the answering call's time to first token.
   For a model they are about the calls to that model: 'requests' is the
   requests that called it, 'answered' those it answered; latency and time
   to first token are its calls'. */
typedef struct {
    const char *key;            /* borrowed from the set ("(none)" for requests without the key) */
    uint64_t requests, answered, denied, failed;
    uint64_t calls;             /* call records: made or refused */
    uint64_t made, call_errors; /* calls sent; of those, the ones that did not answer */
    uint64_t refused;           /* calls the VM did not make (budget, circuit, deadline) */
    uint64_t retries;           /* calls that were a second or later attempt */
    uint64_t fallbacks;         /* requests answered (or failed) through the agent's fallback */
    uint64_t cascades, escalated;   /* requests routed by a cascade; of those, those that called a second model */
    uint64_t scored;            /* requests with a score */
    double score;               /* their mean score */
    int64_t cost;               /* picodollars (saturates at INT64_MAX) */
    uint64_t tokens[RPT_TOK__COUNT];
    rpt_pctl latency, ttft;
} rpt_group;

typedef struct {
    uint64_t incomplete;        /* requests without an outcome: left out */
    rpt_by by;
    rpt_group total;
    rpt_group *groups;          /* most expensive first, then by key */
    size_t ngroups;
    rpt_group *arms;            /* the A/B arms, by key (none: narms 0), whatever 'by' is */
    size_t narms;
} rpt_summary;

/* The figures of the set's complete requests, grouped by 'by'.  Returns
   0, or -1 when out of memory.  The summary borrows names from the set:
   free it with rpt_summary_free() before rpt_free(). */
int rpt_summarize(rpt_set *s, rpt_by by, rpt_summary *out);
void rpt_summary_free(rpt_summary *sm);

#endif
