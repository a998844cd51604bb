/* Backtests: a policy replayed over recorded traffic (vm/replay.h), and
   the figures that say whether it is worth deploying.  Used by 'routevm
   simulate'; no network.

   Each record is decided by the VM exactly as a live request would be
   (vm.h's driver contract, the in-memory environment of vm/envmem.h); a
   model call is answered from the record's outcome for that model's
   provider id: its text (so a cascade's 'check' runs on what the model
   really said), its usage (else the VM's estimate from the texts), its
   latency, or its recorded failure.  A call the record cannot answer --
   a model with no outcome for the request, or a judge's rating, which
   recordings do not hold -- stops that request: it is reported as
   missing, never guessed, and left out of every figure.  Hooks are not
   asked (their default decides, as in 'explain').

   Quality is the share of requests answered correctly where correctness
   is recorded (a denied or failed request counts as not correct), and
   the mean recorded score where scores are recorded.  The comparisons
   (docs/simulate.md defines them):
   - single-model baselines: every replayed request sent to one model
     (each data model the policy declares), priced by the policy;
   - random routing at the policy's strong share: the expected accuracy
     and cost of sending that share of requests, at random, to the strong
     model and the rest to the weak one;
   - the best-of-both ceiling: a request is right when any of the models
     was right, at the cost of the cheapest model that was;
   - the router metrics of the literature over the strong-share axis:
     CPT(50%) and CPT(80%), APGR.

   Ownership: sim_new borrows the program and the data, which must outlive
   the context; results are owned by the caller (sim_result_free). */
#ifndef RV_SIMULATE_H
#define RV_SIMULATE_H

#include <stddef.h>
#include <stdint.h>

#include "replay.h"
#include "vm.h"

typedef struct {
    uint32_t agent;             /* RV_NONE: each record's "model", else the only agent */
    int64_t output_tokens;      /* output tokens of an outcome with neither usage nor text */
} sim_opts;

typedef struct {
    uint64_t calls;             /* calls made for answers (failures included) */
    uint64_t judge_calls;
    uint64_t answers;           /* requests this model's answer ended */
    int64_t cost;               /* picodollars */
    uint64_t missing;           /* requests stopped: no outcome recorded for it */
    /* baseline: every replayed request sent to this model */
    int data;                   /* its provider id appears in the data */
    uint64_t base_n, base_scored, base_correct, base_nscore;
    int64_t base_cost, base_score;
} sim_model;

#define SIM_EXAMPLES 5

typedef struct {
    uint64_t records;           /* records in the data */
    uint64_t requests;          /* replayed to the end (records minus missing and unrouted) */
    uint64_t answered, denied, failed;
    uint64_t missing, unrouted; /* stopped (no outcome), no agent for the record */
    uint64_t scored, correct;   /* correctness known (answered with 'correct', or denied/failed); right */
    uint64_t nscore;            /* answers with a recorded score */
    int64_t score;              /* their sum (millionths) */
    int64_t cost;               /* picodollars, every billed call */
    uint64_t calls;             /* calls made, all models */
    sim_model *models;          /* per program model */
    uint32_t nmodel;
    /* latency of whole requests (the calls' recorded latencies and
       backoffs, in sequence), for requests where every call has one */
    int64_t *latency;
    uint64_t nlatency;
    /* strong/weak: program models (RV_NONE when the data has fewer than
       two of the policy's models) */
    uint32_t strong, weak;
    uint64_t strong_requests;   /* replayed requests that called the strong model */
    /* best of both: replayed requests any data model answered correctly,
       and the cost of the cheapest right answer (else the cheapest) */
    uint64_t best_correct, best_scored;
    int64_t best_cost;
    /* examples of missing and unrouted records: "line N (id)" */
    char examples[SIM_EXAMPLES][192];
    uint32_t nexamples;
} sim_result;

typedef struct sim_ctx sim_ctx;

/* A context for replaying 'data' through 'p'; NULL with a message when
   the program cannot run (a regex that will not compile) or out of
   memory.  'strong' and 'weak' name program models to compare (RV_NONE:
   chosen as the docs say). */
sim_ctx *sim_new(const rv_program *p, const rp_set *data, uint32_t strong, uint32_t weak, char *err, size_t errlen);
void sim_free(sim_ctx *x);

/* Replay every record.  Returns 0, or -1 when out of memory. */
int sim_run(sim_ctx *x, const sim_opts *o, sim_result *r);
void sim_result_free(sim_result *r);

/* ---------------------------------------------------------------- metrics */

/* A point of the cost-quality plane: share of requests that called the
   strong model, accuracy, cost per request (picodollars). */
typedef struct { double share, accuracy, cost; } sim_point;

typedef struct {
    double cpt50, cpt80;        /* shares (0..1); -1 when undefined */
    double apgr;                /* -1 when undefined */
} sim_router;

/* The router metrics of a set of configurations' points against the weak
   and strong baselines (docs/simulate.md): the frontier through the
   points and the two baselines, CPT at 50 % and 80 % of the gap, APGR.
   Undefined (-1) when the strong model is not more accurate than the
   weak one. */
sim_router sim_router_metrics(const sim_point *pts, size_t n, double acc_weak, double acc_strong);

/* Accuracy of a result (correct / scored), or -1 when nothing is scored;
   the accuracy of model 'm''s baseline likewise. */
double sim_accuracy(const sim_result *r);
double sim_base_accuracy(const sim_result *r, uint32_t m);
/* The share of replayed requests that called the strong model. */
double sim_strong_share(const sim_result *r);

/* What beats the policy, if anything: a single model at no more cost
   with a higher accuracy, or random routing at the same strong share with
   a higher expected accuracy.  Exact (integer) comparisons.  Returns the
   number of findings written to 'why' (one line each). */
int sim_beaten(const sim_result *r, const rv_program *p, char *why, size_t n);

/* The latency percentile 'q' (0..100) of the requests with a known
   latency, microseconds; -1 when none.  Sorts r->latency. */
int64_t sim_latency(sim_result *r, int q);

#endif
