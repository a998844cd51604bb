/* Compiling and deciding are reentrant: several threads at once compile
   the example policies (each its own compiler) and decide the example
   requests with one shared image (each its own VM, environment and
   language detector).  Every thread must get the bytes and the decisions
   the main thread got alone.  make check also builds this test with
   ThreadSanitizer (build/tsan, tests/suites/tsan.sh), which reports any
   data race between the threads as a failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "envmem.h"
#include "mem.h"
#include "rbc.h"
#include "verify.h"
#include "vm.h"

#define THREADS 4
#define ROUNDS 20

static const char *root;
static const char *const policies[] = { "examples/support.route", "examples/ab_split.route",
                                        "examples/cost_optimized.route", "tests/compile/clean.route" };
#define NPOL (sizeof policies / sizeof *policies)
static const char *const requests[] = {
    "{\"model\":\"support\",\"messages\":[{\"role\":\"user\",\"content\":\"my order is late, I want a refund\"}],"
    "\"metadata\":{\"intent\":\"complaint\"},\"user\":\"u-1\"}",
    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":"
    "\"Bonjour, ma commande est en retard. Mon email est a@b.fr\"}],\"user\":\"u-2\",\"metadata\":{\"task\":\"classify\"}}",
    "{\"messages\":[{\"role\":\"user\",\"content\":\"My SSN is 123-45-6789\"}]}",
};
#define NREQ (sizeof requests / sizeof *requests)

/* What one pass produces: each policy's .rbc bytes (as a digest of
   them) and each decision's status, model, rule and cost. */
typedef struct {
    uint64_t bytes[NPOL];
    char decisions[2048];
} outcome;

static const rv_image *shared;      /* examples/support.route, made once */

static uint64_t fnv(const uint8_t *b, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int compile_all(outcome *o)
{
    for (size_t i = 0; i < NPOL; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, policies[i]);
        rv_compiler *c = comp_new(NULL);
        rv_program *p = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        rv_err err;
        if (c && import_file(c, path) == 0 && comp_check(c) == 0)
            p = cg_program(c);
        comp_free(c);
        if (!p || ver_program(p, &err) || rbc_write(p, NULL, &buf, &len, &err)) {
            rv_program_free(p);
            return -1;
        }
        o->bytes[i] = fnv(buf, len);
        free(buf);
        rv_program_free(p);
    }
    return 0;
}

static int decide_all(outcome *o)
{
    const rv_program *p = shared->p;
    bi_langdet *lang = bi_lang_new();
    rv_memenv *env = memenv_new(p->nmodel);
    rv_vm *vm = env ? vm_new(shared, memenv_env(env), lang) : NULL;
    size_t used = 0;
    int r = vm ? 0 : -1;
    if (env)
        memenv_set_time(env, 1700000000000000);     /* the same clock in every thread */
    for (size_t i = 0; vm && i < NREQ && r == 0; i++) {
        rv_reqerr rerr;
        rv_request *req = req_parse(requests[i], strlen(requests[i]), NULL, &rerr);
        if (!req) {
            r = -1;
            break;
        }
        for (uint32_t a = 0; a < p->nagent; a++) {
            rv_status st = vm_start(vm, a, req, NULL);
            for (int k = 0; k < 16 && (st == RV_CALL || st == RV_HOOK); k++) {
                rv_outcome out = vm_outcome_init(k % 3 != 1);
                out.failure = RV_FAIL_SERVER;
                out.confidence = 900000;
                out.text.s = "fine, email me at x@y.z";
                out.text.len = (uint32_t)strlen(out.text.s);
                st = vm_resume(vm, &out);
            }
            const rv_result *res = vm_result(vm);
            used += (size_t)snprintf(o->decisions + used, sizeof o->decisions - used, "%u:%u:%u:%lld;",
                                     (unsigned)st, res->model, res->rule, (long long)res->cost);
            if (used >= sizeof o->decisions)
                r = -1;
        }
        req_free(req);
    }
    vm_free(vm);
    memenv_free(env);
    bi_lang_free(lang);
    return r;
}

static const outcome *reference;
static int mismatches;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    for (int round = 0; round < ROUNDS; round++) {
        outcome o;
        memset(&o, 0, sizeof o);
        int bad = compile_all(&o) || decide_all(&o) || memcmp(&o, reference, sizeof o) != 0;
        if (bad) {
            pthread_mutex_lock(&lock);
            mismatches++;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    root = argc > 1 ? argv[1] : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, policies[0]);
    rv_compiler *c = comp_new(NULL);
    rv_program *p = NULL;
    rv_err err;
    if (c && import_file(c, path) == 0 && comp_check(c) == 0)
        p = cg_program(c);
    comp_free(c);
    rv_image img;
    char ierr[256];
    if (!p || ver_program(p, &err) || vm_image_init(&img, p, ierr, sizeof ierr)) {
        printf("FAIL threads: cannot make the image of %s\n", path);
        return 1;
    }
    shared = &img;

    static outcome ref;
    if (compile_all(&ref) || decide_all(&ref)) {
        printf("FAIL threads: the single-threaded pass failed\n");
        return 1;
    }
    reference = &ref;
    pthread_t t[THREADS];
    int started = 0;
    for (int i = 0; i < THREADS; i++)
        started += pthread_create(&t[i], NULL, worker, NULL) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    if (started != THREADS)
        printf("FAIL threads: %d of %d threads started\n", started, THREADS);
    else if (mismatches)
        printf("FAIL threads: %d of %d passes differ from the single-threaded one\n", mismatches,
               THREADS * ROUNDS);
    else
        printf("PASS threads (%d threads x %d rounds: %zu policies compiled, %zu requests decided "
               "for every agent, the same as alone)\n", THREADS, ROUNDS, NPOL, NREQ);
    vm_image_free(&img);
    rv_program_free(p);
    return mismatches || started != THREADS;
}
