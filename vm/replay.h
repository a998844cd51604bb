/* Recorded traffic for backtests: JSON Lines files of requests and what
   each model answered, read into memory for 'routevm simulate'.

   One record per line (docs/simulate.md has the full format):

       {"id": "gsm8k/0", "domain": "gsm8k",
        "messages": [{"role": "user", "content": "..."}],
        "results": {"MODEL-ID": {"correct": true, "text": "...",
                                 "usage": {"input_tokens": 80, "output_tokens": 120},
                                 "latency_ms": 950, "ttft_ms": 200,
                                 "score": 0.8, "confidence": 0.9,
                                 "finish": "stop", "error": "429"}}}

   The request is the record without 'results': the OpenAI request fields
   the request model reads (messages, model, user, tools, max_tokens,
   stream, metadata) are kept, and every other top-level field with a
   scalar value (id, domain, ...) becomes request metadata, as text.
   'results' maps the provider's model id (a policy model's 'id') to its
   recorded outcome; every field of an outcome is optional.

   Bad input.  A line that is not a valid record is reported with its line
   number and skipped, or ends the read in strict mode.  Lines are capped
   (RP_MAX_LINE by default: a longer line is skipped without being held in
   memory), and so is the number of records; a file cut short ends in a
   malformed last line, reported like any other.

   Memory.  The set owns everything: requests, ids, texts (in blocks of
   its own) and the table of model ids; rp_free releases it all.  Views
   (rv_sv) into a set live as long as the set. */
#ifndef RV_REPLAY_H
#define RV_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "lines.h"
#include "request.h"
#include "vm.h"

#define RP_MAX_LINE (16u << 20)         /* bytes per line */
#define RP_MAX_RECORDS 1000000u         /* records per file */
#define RP_MAX_MODELS 256u              /* distinct model ids per file */
#define RP_MAX_OUTCOMES 64u             /* outcomes per record */

/* What one model did for one request.  Unrecorded numbers are -1. */
typedef struct {
    uint32_t model;             /* index into rp_set.models */
    int8_t correct;             /* 1 right, 0 wrong, -1 not recorded */
    uint8_t has_text;
    rv_sv text;                 /* the answer ("" when not recorded) */
    rv_sv finish;               /* "" when not recorded */
    int64_t score;              /* quality from 0 to 1 (num, millionths), -1 */
    int64_t confidence;         /* num, -1 */
    rv_usage usage;             /* -1 per class when not recorded */
    int64_t latency_us, ttft_us;
    rv_failure failure;         /* RV_FAIL_NONE: answered */
    int http_status;            /* a failure recorded as an HTTP status, else 0 */
} rp_outcome;

typedef struct {
    rv_sv id;                   /* the record's "id" as text, "" if none */
    uint32_t line;              /* 1-based line in its file */
    rv_request *req;            /* owned by the set */
    uint32_t first, count;      /* outcomes [first, first + count) of rp_set.outcomes */
} rp_record;

typedef struct rp_set {
    rp_record *recs;   size_t nrec, caprec;
    rp_outcome *outs;  size_t nout, capout;
    rv_sv *models;     uint32_t nmodel;  /* distinct model ids, in order of first appearance */
    struct rp_block *blocks;             /* texts and ids */
    size_t max_records;
} rp_set;

typedef struct {
    size_t max_line;            /* 0: RP_MAX_LINE */
    size_t max_records;         /* 0: RP_MAX_RECORDS */
    int strict;                 /* the first bad line ends the read */
} rp_limits;

typedef ln_stats rp_stats;      /* lines read, records kept, lines skipped */

/* A new empty set; NULL when out of memory.  'max_records' 0 is the
   default cap. */
rp_set *rp_new(size_t max_records);
void rp_free(rp_set *s);

/* Parse one record from 'len' bytes (one line, without its newline) and
   add it.  Returns 0, or -1 with a message in 'err' (the set is unchanged
   and still usable).  'buf' is only read during the call. */
int rp_add_line(rp_set *s, const char *buf, size_t len, uint32_t line, char *err, size_t errlen);

/* Read every line of 'path' ("-" is standard input).  Bad lines are
   reported to 'log' as "PATH:LINE: message" and skipped, or, with
   lim->strict, end the read.  Returns 0; 1 when strict mode stopped at a
   bad line or the record cap was reached (reported); -1 when the file
   cannot be read (reported). */
int rp_read_file(rp_set *s, const char *path, const rp_limits *lim, FILE *log, rp_stats *st);

/* The request of one line -- a replay record or a plain OpenAI request
   body -- built as rp_add_line builds a record's (extra scalar fields
   become metadata): a new request the caller frees with req_free(), or
   NULL with a message in 'err'.  'diff' reads its traffic with it. */
rv_request *rp_request(const char *buf, size_t len, char *err, size_t errlen);

/* The outcome 'r' recorded for model id 'model' (an index into
   s->models), or NULL. */
const rp_outcome *rp_find(const rp_set *s, const rp_record *r, uint32_t model);
/* The index of model id 'id' in s->models, or RV_NONE. */
uint32_t rp_model(const rp_set *s, const char *id, size_t len);

#endif
