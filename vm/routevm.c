/* routevm: runs compiled routing policies.

     routevm explain POLICY (--request REQ.json | --requests FILE.jsonl)
                     [--agent NAME] [--brief] [--trust PUB.pem]

   POLICY is a .rbc file (loaded and verified) or a .route file (compiled
   in memory).  'explain' prints what the policy decides for the request as
   one JSON object -- or one JSON line per request of a .jsonl file --
   without any network access.  Errors are JSON too ({"error": {...}}),
   with exit status 1; usage and I/O errors exit with 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "envmem.h"
#include "exitcode.h"
#include "explain.h"
#include "mem.h"
#include "rbc.h"
#include "vm.h"

#define MAX_REQUEST (16u << 20)

static void usage(FILE *f)
{
    fputs("usage: routevm explain POLICY (--request REQ.json | --requests FILE.jsonl)\n"
          "                       [--agent NAME] [--brief] [--trust PUB.pem]\n"
          "exit status: 0 decided, 1 an error in a request or the policy, 2 usage or I/O error\n", f);
}

/* Load POLICY: .route files are compiled in memory, anything else is read
   as .rbc.  Diagnostics and load errors go to stderr. */
static rv_program *load_policy(const char *path, const char *trust)
{
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".route")) {
        rv_compiler *c = comp_new(NULL);
        if (!c)
            return NULL;
        int r = import_file(c, path);
        if (r != -2)
            comp_check(c);
        diag_sort(&c->diag);
        rv_program *p = NULL;
        char err[512];
        if (r == -2 || diag_failed(&c->diag))
            diag_print(&c->diag, DIAG_TEXT, stderr);
        else if (!(p = cg_program_loaded(c, err, sizeof err)))
            fprintf(stderr, "routevm: %s\n", err);
        comp_free(c);
        return p;
    }
    rbc_file rf;
    rv_err err;
    if (rbc_map_file(path, 256u << 20, &rf, &err)) {
        fprintf(stderr, "routevm: %s\n", err.msg);
        return NULL;
    }
    rv_program *p = rbc_load(rf.buf, rf.len, trust, &err);
    rbc_unmap_file(&rf);
    if (!p)
        fprintf(stderr, "routevm: %s: %s\n", path, err.msg);
    return p;
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
}

typedef struct {
    rv_vm *vm;
    ex_cache *cache;
    const rv_program *p;
    const char *agent;
    int brief;
} ctx;

/* Decide one request; prints its line.  Returns 0, or 1 for a bad request. */
static int one(ctx *x, const char *buf, size_t len)
{
    rv_reqerr rerr;
    rv_reqlimits lim = { MAX_REQUEST, 10000 };
    rv_request *req = req_parse(buf, len, &lim, &rerr);
    if (!req) {
        print_json(ex_error(rerr.msg, rerr.line, rerr.column));
        return 1;
    }
    uint32_t a = x->agent ? vm_agent(x->p, x->agent, strlen(x->agent)) : vm_agent(x->p, req->model.s, req->model.len);
    if (a == RV_NONE) {
        char msg[300];
        const char *want = x->agent ? x->agent : req->model.len ? req->model.s : NULL;
        if (want)
            snprintf(msg, sizeof msg, "no agent named '%.200s' in the policy", want);
        else
            snprintf(msg, sizeof msg, "the request names no agent (\"model\") and the policy has %u", x->p->nagent);
        print_json(ex_error(msg, 0, 0));
        req_free(req);
        return 1;
    }
    if (x->brief) {
        rv_status st = vm_start(x->vm, a, req, NULL);
        while (st == RV_HOOK) {
            rv_outcome none = vm_outcome_init(0);
            none.failure = RV_FAIL_ERROR;
            st = vm_resume(x->vm, &none);
        }
        const rv_program *p = x->p;
        const rv_result *res = vm_result(x->vm);
        if (st == RV_CALL)
            printf("{\"agent\":\"%s\",\"model\":\"%s\",\"rule\":%u}\n", rv_str(p, p->agents[a].name),
                   rv_str(p, p->models[vm_call(x->vm)->model].name),
                   res->rule != RV_NONE ? p->rules[res->rule].number : 0);
        else
            printf("{\"agent\":\"%s\",\"decision\":\"%s\"}\n", rv_str(p, p->agents[a].name),
                   st == RV_DENIED ? "denied" : "failed");
    } else {
        print_json(ex_explain(x->vm, x->cache, a, req));
    }
    req_free(req);
    return 0;
}

static int cmd_explain(int argc, char **argv)
{
    const char *policy = NULL, *request = NULL, *requests = NULL, *trust = NULL, *agent = NULL;
    int brief = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--request") || !strcmp(a, "--requests") || !strcmp(a, "--trust") || !strcmp(a, "--agent")) && !v) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return RC_USAGE;
        }
        if (!strcmp(a, "--request")) request = argv[++i];
        else if (!strcmp(a, "--requests")) requests = argv[++i];
        else if (!strcmp(a, "--trust")) trust = argv[++i];
        else if (!strcmp(a, "--agent")) agent = argv[++i];
        else if (!strcmp(a, "--brief")) brief = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "routevm: unknown option '%s'\n", a);
            return RC_USAGE;
        } else if (!policy) policy = a;
        else {
            fprintf(stderr, "routevm: unexpected argument '%s'\n", a);
            return RC_USAGE;
        }
    }
    if (!policy || !!request == !!requests) {
        usage(stderr);
        return RC_USAGE;
    }
    rv_program *p = load_policy(policy, trust);
    if (!p)
        return RC_FINDINGS;
    rv_image img;
    char err[256];
    if (vm_image_init(&img, p, err, sizeof err)) {
        fprintf(stderr, "routevm: %s\n", err);
        rv_program_free(p);
        return RC_FINDINGS;
    }
    bi_langdet *lang = vm_uses_builtin(p, RV_BI_lang) ? bi_lang_new() : NULL;
    rv_memenv *env = memenv_new(p->nmodel);
    rv_vm *vm = env ? vm_new(&img, memenv_env(env), lang) : NULL;
    ex_cache *cache = ex_cache_new(p);
    int rc = RC_OK;
    if (!vm || !cache) {
        fprintf(stderr, "routevm: out of memory\n");
        rc = RC_USAGE;
        goto out;
    }
    ctx x = { vm, cache, p, agent, brief };
    if (request) {
        /* mapped, so an oversized request costs nothing before it is refused */
        rbc_file rf;
        rv_err ferr;
        if (rbc_map_file(request, (size_t)1 << 40, &rf, &ferr)) {
            fprintf(stderr, "routevm: %s\n", ferr.msg);
            rc = RC_USAGE;
            goto out;
        }
        rc = one(&x, (const char *)rf.buf, rf.len) ? RC_FINDINGS : RC_OK;
        rbc_unmap_file(&rf);
    } else {
        FILE *f = strcmp(requests, "-") ? fopen(requests, "rb") : stdin;
        if (!f) {
            fprintf(stderr, "routevm: %s: %s\n", requests, strerror(errno));
            rc = RC_USAGE;
            goto out;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (n == 0)
                continue;
            if (one(&x, line, (size_t)n))
                rc = RC_FINDINGS;
        }
        free(line);
        if (f != stdin)
            fclose(f);
    }
out:
    ex_cache_free(cache);
    vm_free(vm);
    memenv_free(env);
    bi_lang_free(lang);
    vm_image_free(&img);
    rv_program_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RC_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return RC_OK;
    }
    if (!strcmp(argv[1], "explain"))
        return cmd_explain(argc, argv);
    fprintf(stderr, "routevm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RC_USAGE;
}
