/* Decision benchmark harness for routevm: the anchors' decide.c measurement
   (../shared/anchors/decide/decide.c) with the VM in place of the
   hand-written decision function.

   usage: decide_vm FULL.rbc META.rbc REQS.jsonl [REPEAT] [OUTFILE]

   Loads and verifies both compiled policies (rbc_load), parses every line
   of REQS.jsonl with req_parse_dict() into one pool first, with the
   metadata-only policy's routing dictionary (timed: parse_ns_per_req;
   decide.c likewise fills one array, mapping strings to enums), then
   REPEAT times runs the decision loop over all requests -- vm_start() until
   RV_CALL, the rule number read from vm_result() -- for the full policy and
   for the metadata-only one, and prints decide.c's key=value line (same
   keys, so the two compare) with routevm's own figures after it:

     vm_bytes          sizeof(rv_vm) + its value stack: the per-request VM state
     vm_alloc_bytes    everything vm_new() allocates (state, scratch, pcre2 match data)
     allocs_per_decision  malloc/calloc/realloc calls during the timed loops,
                       per decision (counted by the malloc below)

   Env DECIDE_VM_LOOP=full or =meta times only that policy (the other's
   figures are then 0), for profiling one loop; DECIDE_VM_VIEW=0 parses
   without the dictionary (no routing views: every key looked up).

   With OUTFILE, writes the full policy's rule numbers to OUTFILE and the
   metadata-only policy's to OUTFILE.meta, one per line like decide.c.  The
   meta policy omits four rules, so its rule numbers are mapped to the full
   policy's: the rule with the same reason string.

   Built by bench/decide.sh:
     cc -O2 -Ivm -Icompiler -Ibuild/gen bench/decide_vm.c build/libcompiler.a build/libvm.a \
        -lpcre2-8 -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lm */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rbc.h"
#include "request.h"
#include "vm.h"
#include "vmstate.h"   /* sizeof the per-request state */

/* ------------------------------------------------ allocation counting */

/* Every malloc of the process (the VM, jansson, pcre2) comes here; while
   'counting' is set, calls and bytes are counted. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int counting;
static unsigned long n_alloc, n_alloc_bytes;

void *malloc(size_t n)
{
    if (counting) { n_alloc++; n_alloc_bytes += n; }
    return __libc_malloc(n);
}
void *calloc(size_t c, size_t n)
{
    if (counting) { n_alloc++; n_alloc_bytes += c * n; }
    return __libc_calloc(c, n);
}
void *realloc(void *p, size_t n)
{
    if (counting) { n_alloc++; n_alloc_bytes += n; }
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

/* ------------------------------------------------ */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    rv_program *p;
    rv_image img;
    rv_vm *vm;
    uint32_t agent;
} policy;

static void load(policy *pol, const char *path)
{
    uint8_t *buf;
    size_t len;
    rv_err err;
    if (rbc_read_file(path, 256u << 20, &buf, &len, &err)) {
        fprintf(stderr, "decide_vm: %s\n", err.msg);
        exit(1);
    }
    pol->p = rbc_load(buf, len, NULL, &err);    /* parses and verifies */
    free(buf);
    if (!pol->p) {
        fprintf(stderr, "decide_vm: %s: %s\n", path, err.msg);
        exit(1);
    }
    char e[256];
    if (vm_image_init(&pol->img, pol->p, e, sizeof e)) {
        fprintf(stderr, "decide_vm: %s: %s\n", path, e);
        exit(1);
    }
    pol->agent = vm_agent(pol->p, "decide", 6);
    if (pol->agent == RV_NONE) {
        fprintf(stderr, "decide_vm: %s: no agent 'decide'\n", path);
        exit(1);
    }
    pol->vm = vm_new(&pol->img, NULL, NULL);
    if (!pol->vm) {
        fprintf(stderr, "decide_vm: out of memory\n");
        exit(1);
    }
}

/* The decision loop: rule indexes (into p->rules) of every request. */
static double run(policy *pol, rv_request **rs, size_t n, uint16_t *out)
{
    rv_vm *vm = pol->vm;
    const uint32_t agent = pol->agent;
    double t = now();
    for (size_t i = 0; i < n; i++) {
        rv_status st = vm_start(vm, agent, rs[i], NULL);
        const rv_result *res = vm_result(vm);
        if (__builtin_expect(st != RV_CALL || res->rule == RV_NONE, 0)) {
            fprintf(stderr, "decide_vm: request %zu: no model call (status %d: %s)\n", i + 1, (int)st,
                    res->error ? res->error : "");
            exit(1);
        }
        out[i] = (uint16_t)res->rule;
    }
    return now() - t;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: decide_vm FULL.rbc META.rbc REQS.jsonl [REPEAT] [OUTFILE]\n");
        return 2;
    }
    int rep = argc > 4 ? atoi(argv[4]) : 5;
    if (rep < 1)
        rep = 1;
    policy full, meta;
    load(&full, argv[1]);
    load(&meta, argv[2]);

    /* the VM state of one request */
    size_t vm_bytes = sizeof(rv_vm) + full.vm->stack_cap * sizeof(rv_value);
    counting = 1;
    n_alloc = n_alloc_bytes = 0;
    rv_vm *probe = vm_new(&full.img, NULL, NULL);
    counting = 0;
    unsigned long vm_alloc_bytes = n_alloc_bytes, vm_allocs = n_alloc;
    vm_free(probe);

    FILE *f = fopen(argv[3], "r");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    size_t cap = 1 << 20, n = 0;
    rv_request **rs = malloc(cap * sizeof *rs);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t ll;
    rv_reqlimits lim = { 16u << 20, 10000, 0 };
    /* all requests in one pool, as decide.c keeps all of its in one array;
       each with its routing view against the metadata-only policy's
       dictionary (request.h; the full policy has no rule plan, so no
       dictionary: it looks its keys up), as a gateway parses for the
       policy it runs -- and as decide.c maps strings to enums while
       parsing */
    rv_reqpool *pool = req_pool_new();
    const char *view = getenv("DECIDE_VM_VIEW");
    const rv_reqdict *dict = view && !strcmp(view, "0") ? NULL : meta.img.dict;
    double t0 = now();
    while ((ll = getline(&line, &lcap, f)) > 0) {
        rv_reqerr err;
        rv_request *r = req_parse_dict(line, (size_t)ll, &lim, &err, pool, dict);
        if (!r) {
            fprintf(stderr, "line %zu: %s\n", n + 1, err.msg);
            return 1;
        }
        if (n == cap)
            rs = realloc(rs, (cap *= 2) * sizeof *rs);
        rs[n++] = r;
    }
    double t_parse = now() - t0;
    fclose(f);
    free(line);
    if (!n) {
        fprintf(stderr, "decide_vm: %s: no requests\n", argv[3]);
        return 1;
    }

    uint16_t *out = malloc(n * sizeof *out), *outm = malloc(n * sizeof *outm);
    double *ts = malloc(rep * sizeof *ts), *tm = malloc(rep * sizeof *tm);
    unsigned long sum = 0, allocs = 0;
    const char *only = getenv("DECIDE_VM_LOOP");
    int do_full = !only || !strcmp(only, "full"), do_meta = !only || !strcmp(only, "meta");
    memset(out, 0, n * sizeof *out);
    memset(outm, 0, n * sizeof *outm);
    for (int k = 0; k < rep; k++) {
        n_alloc = 0;
        counting = 1;
        ts[k] = do_full ? run(&full, rs, n, out) : 0;
        tm[k] = do_meta ? run(&meta, rs, n, outm) : 0;
        counting = 0;
        allocs += n_alloc;
        sum += full.p->rules[out[k % n]].number + meta.p->rules[outm[k % n]].number;
    }
    qsort(ts, rep, sizeof *ts, cmpd);
    qsort(tm, rep, sizeof *tm, cmpd);
    fprintf(stderr,
            "routevm n=%zu parse_ns_per_req=%.1f decide_ns_min=%.1f decide_ns_med=%.1f meta_ns_min=%.1f meta_ns_med=%.1f chk=%lu"
            " vm_bytes=%zu vm_alloc_bytes=%lu vm_allocs=%lu allocs_per_decision=%.6f\n",
            n, t_parse * 1e9 / n, ts[0] * 1e9 / n, ts[rep / 2] * 1e9 / n, tm[0] * 1e9 / n, tm[rep / 2] * 1e9 / n, sum,
            vm_bytes, vm_alloc_bytes, vm_allocs, (double)allocs / ((double)(do_full + do_meta) * rep * n));

    if (argc > 5) {
        /* meta rule -> the full policy's rule with the same reason */
        uint32_t *map = calloc(meta.p->nrule, sizeof *map);
        for (uint32_t m = 0; m < meta.p->nrule; m++) {
            const rv_rule *mr = &meta.p->rules[m];
            map[m] = 1000 + mr->number;     /* no counterpart: shows as a mismatch */
            for (uint32_t r = 0; r < full.p->nrule; r++) {
                const rv_rule *fr = &full.p->rules[r];
                if (mr->reason != RV_NONE && fr->reason != RV_NONE &&
                    !strcmp(rv_str(meta.p, mr->reason), rv_str(full.p, fr->reason)))
                    map[m] = fr->number;
            }
        }
        char p[4096];
        FILE *o = fopen(argv[5], "w");
        if (!o) {
            perror(argv[5]);
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            fprintf(o, "%u\n", full.p->rules[out[i]].number);
        fclose(o);
        snprintf(p, sizeof p, "%s.meta", argv[5]);
        o = fopen(p, "w");
        if (!o) {
            perror(p);
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            fprintf(o, "%u\n", map[outm[i]]);
        fclose(o);
        free(map);
    }
    req_pool_free(pool);
    free(rs);
    free(out);
    free(outm);
    free(ts);
    free(tm);
    for (policy *q = &full; q; q = q == &full ? &meta : NULL) {
        vm_free(q->vm);
        vm_image_free(&q->img);
        rv_program_free(q->p);
    }
    return 0;
}
