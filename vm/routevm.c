/* routevm: runs compiled routing policies.

     routevm explain POLICY (--request REQ.json | --requests FILE.jsonl)
                     [--agent NAME] [--brief] [--trust PUB.pem]
     routevm run     POLICY --request REQ.json [--agent NAME] [--stream]
                     [--trace FILE] [--trust PUB.pem] [timeouts]
     routevm serve   POLICY [--listen HOST:PORT] [--workers N] [--keys FILE] ...

   POLICY is a .rbc file (loaded and verified) or a .route file (compiled
   in memory).  'explain' prints what the policy decides for the request as
   one JSON object -- or one JSON line per request of a .jsonl file --
   without any network access.  Errors are JSON too ({"error": {...}}),
   with exit status 1; usage and I/O errors exit with 2.  'run' decides
   and calls the providers (vm/run.h has its exit statuses). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compiler.h"
#include "envmem.h"
#include "exitcode.h"
#include "explain.h"
#include "jsonw.h"
#include "lines.h"
#include "mem.h"
#include "polload.h"
#include "rbc.h"
#include "run.h"
#include "serve.h"
#include "vm.h"

#define MAX_REQUEST (16u << 20)   /* bytes of one request, from a file, a pipe or a line */

static void usage(FILE *f)
{
    fputs("usage: routevm explain POLICY (--request REQ.json | --requests FILE.jsonl)\n"
          "                       [--agent NAME] [--brief] [--trust PUB.pem] [-I DIR]...\n"
          "       routevm simulate POLICY --replay DATA.jsonl [--json] [--html OUT.html] ...  (routevm simulate -h)\n"
          "       routevm diff OLD NEW --requests TRAFFIC.jsonl [--json] [--fail-on-change]\n"
          "       routevm report TRACES.jsonl [--by model|agent|rule|task|arm] [--json] [--html OUT.html]\n"
          "       routevm run POLICY --request REQ.json [--agent NAME] [--stream] [--trace FILE]\n"
          "                   [--trust PUB.pem] [--deadline MS] [--connect-timeout MS]\n"
          "                   [--first-byte-timeout MS] [--idle-timeout MS] [--endpoint PROVIDER=URL]\n"
          "       routevm serve POLICY [--listen HOST:PORT] [--workers N] [--keys FILE] [--state DIR] ...\n"
          "                     (routevm serve --help for every option)\n"
          "exit status (explain): 0 decided, 1 an error in a request or the policy, 2 usage or I/O error\n"
          "exit status (run): 0 answered, 1 bad policy or request, 2 usage or I/O error,\n"
          "                   3 denied by a guardrail, 4 failed (no model answered, or a stream broke)\n", f);
}

/* Load POLICY (vm/cli.h); a source's imports are also looked for in the
   'nincdir' directories of 'incdirs' (-I, borrowed). */
static rv_program *load_policy(const char *path, const char *trust, const char *const *incdirs, unsigned nincdir,
                               int *rc)
{
    pl_opts o = { .trust = trust, .incdirs = incdirs, .nincdir = nincdir };
    return cli_load(path, &o, rc);
}

static void print_json(json_t *j)
{
    jw_print(stdout, j, 0);
    json_decref(j);
}

/* --brief: one line, straight through the writer (no tree). */
static void print_brief(const rv_program *p, uint32_t agent, rv_status st, const rv_vm *vm)
{
    const rv_result *res = vm_result(vm);
    jw_writer w;
    jw_init(&w, stdout, 0);
    jw_object(&w);
    jw_key(&w, "agent");
    jw_string(&w, rv_str(p, p->agents[agent].name), p->str_len[p->agents[agent].name]);
    if (st == RV_CALL) {
        uint32_t m = p->models[vm_call(vm)->model].name;
        jw_key(&w, "model");
        jw_string(&w, rv_str(p, m), p->str_len[m]);
        jw_key(&w, "rule");
        jw_int(&w, res->rule != RV_NONE ? p->rules[res->rule].number : 0);
    } else {
        jw_key(&w, "decision");
        jw_cstring(&w, st == RV_DENIED ? "denied" : "failed");
    }
    jw_end(&w);
    jw_finish(&w);
}

typedef struct {
    rv_vm *vm;
    ex_cache *cache;
    const rv_program *p;
    const char *agent;
    int brief;
    rv_reqpool *pool;       /* one request at a time: its memory is reused by the next */
} ctx;

/* Decide one request; prints its line.  Returns 0, or 1 for a bad request. */
static int one(ctx *x, const char *buf, size_t len)
{
    rv_reqerr rerr;
    rv_reqlimits lim = { MAX_REQUEST, 10000, 0 };
    rv_request *req = req_parse_dict(buf, len, &lim, &rerr, x->pool, vm_image(x->vm)->dict);
    if (!req) {
        print_json(ex_error(rerr.msg, rerr.line, rerr.column));
        return 1;
    }
    uint32_t a = x->agent ? vm_agent(x->p, x->agent, strlen(x->agent)) : vm_agent(x->p, req->model.s, req->model.len);
    if (a == RV_NONE) {
        char msg[300];
        /* (the request's model is a view into its body: not NUL-terminated) */
        const char *want = x->agent ? x->agent : req->model.len ? req->model.s : NULL;
        int wlen = x->agent ? (int)strlen(x->agent) : (int)req->model.len;
        if (want)
            snprintf(msg, sizeof msg, "no agent named '%.*s' in the policy", wlen > 200 ? 200 : wlen, want);
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
        print_brief(x->p, a, st, x->vm);
    } else {
        print_json(ex_explain(x->vm, x->cache, a, req));
    }
    req_free(req);
    return 0;
}

static int too_large(size_t len)
{
    char msg[160];
    snprintf(msg, sizeof msg, "request too large: %s%zu bytes (the limit is %u)",
             len > MAX_REQUEST ? "more than " : "", (size_t)MAX_REQUEST, MAX_REQUEST);
    print_json(ex_error(msg, 0, 0));
    return RC_FINDINGS;
}

/* --request FILE ("-": standard input): a regular file is mapped, so an
   oversized one costs nothing before it is refused; a pipe is read up to
   the cap and no further. */
static int explain_file(ctx *x, const char *path)
{
    rbc_file rf;
    rv_err err;
    int r = rbc_map_file(path, MAX_REQUEST, &rf, &err);
    if (r == RBC_TOO_LARGE)
        return too_large(MAX_REQUEST + 1);
    if (r) {
        fprintf(stderr, "routevm: %s\n", err.msg);
        return RC_USAGE;
    }
    int rc = one(x, (const char *)rf.buf, rf.len) ? RC_FINDINGS : RC_OK;
    rbc_unmap_file(&rf);
    return rc;
}

/* --requests FILE ("-": standard input): one request per line, each line
   within the cap (a longer one is an error and is skipped). */
static int explain_lines(ctx *x, const char *path)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) {
        fprintf(stderr, "routevm: cannot open '%s': %s\n", path, strerror(errno));
        return RC_USAGE;
    }
    ln_reader *lr = ln_open(fd, MAX_REQUEST);
    int rc = RC_OK;
    if (!lr) {
        fprintf(stderr, "routevm: out of memory\n");
        rc = RC_USAGE;
    }
    for (ln_status st = LN_LINE; lr && st != LN_END;) {
        const char *line;
        size_t len;
        st = ln_next(lr, &line, &len);
        if (st == LN_LINE && len > 0 && one(x, line, len))
            rc = RC_FINDINGS;
        else if (st == LN_TOO_LONG)
            rc = too_large(len);
        else if (st == LN_ERROR) {
            fprintf(stderr, "routevm: cannot read '%s': %s\n", path, strerror(errno));
            rc = RC_USAGE;
            break;
        }
    }
    ln_close(lr);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

static int cmd_explain(int argc, char **argv)
{
    const char *policy = NULL, *request = NULL, *requests = NULL, *trust = NULL, *agent = NULL;
    const char *incdirs[32];
    unsigned nincdir = 0;
    int brief = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--request") || !strcmp(a, "--requests") || !strcmp(a, "--trust") || !strcmp(a, "--agent") ||
             !strcmp(a, "-I")) && !v) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return RC_USAGE;
        }
        if (!strncmp(a, "-I", 2)) {     /* -I DIR or -IDIR: where imports are looked for */
            if (nincdir == sizeof incdirs / sizeof *incdirs) {
                fprintf(stderr, "routevm: too many -I\n");
                return RC_USAGE;
            }
            incdirs[nincdir++] = a[2] ? a + 2 : argv[++i];
        } else if (!strcmp(a, "--request")) request = argv[++i];
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
    rv_err kerr;
    if (trust && rbc_check_key(trust, &kerr)) {
        fprintf(stderr, "routevm: %s\n", kerr.msg);
        return RC_USAGE;
    }
    int rc = RC_OK;
    rv_program *p = load_policy(policy, trust, incdirs, nincdir, &rc);
    if (!p)
        return rc;
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
    rv_reqpool *pool = req_pool_new();
    if (!vm || !cache || !pool) {
        fprintf(stderr, "routevm: out of memory\n");
        rc = RC_USAGE;
        goto out;
    }
    ctx x = { vm, cache, p, agent, brief, pool };
    if (request)
        rc = explain_file(&x, request);
    else
        rc = explain_lines(&x, requests);
out:
    ex_cache_free(cache);
    req_pool_free(pool);
    vm_free(vm);
    memenv_free(env);
    bi_lang_free(lang);
    vm_image_free(&img);
    rv_program_free(p);
    return rc;
}

/* A duration option in milliseconds. */
static int ms_arg(const char *opt, const char *v, int64_t *out)
{
    char *end;
    long long ms = strtoll(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || ms <= 0 || ms > 86400000) {
        fprintf(stderr, "routevm: %s takes milliseconds (1 to 86400000), not '%s'\n", opt, v);
        return -1;
    }
    *out = ms * 1000;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *policy = NULL, *request = NULL, *trust = NULL, *trace = NULL;
    run_opts o = { 0 };
    o.out = stdout;
    const char *endpoints[16];
    static const char *const valued[] = { "--request", "--trust", "--agent", "--trace", "--deadline", "--endpoint",
                                          "--connect-timeout", "--first-byte-timeout", "--idle-timeout", NULL };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 0;
        for (int k = 0; valued[k]; k++)
            takes |= !strcmp(a, valued[k]);
        if (takes && !v) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return RUN_USAGE;
        }
        if (takes)
            i++;
        if (!strcmp(a, "--request")) request = v;
        else if (!strcmp(a, "--trust")) trust = v;
        else if (!strcmp(a, "--agent")) o.agent = v;
        else if (!strcmp(a, "--trace")) trace = v;
        else if (!strcmp(a, "--deadline")) { if (ms_arg(a, v, &o.deadline_us)) return RUN_USAGE; }
        else if (!strcmp(a, "--connect-timeout")) { if (ms_arg(a, v, &o.connect_timeout_us)) return RUN_USAGE; }
        else if (!strcmp(a, "--first-byte-timeout")) { if (ms_arg(a, v, &o.first_byte_timeout_us)) return RUN_USAGE; }
        else if (!strcmp(a, "--idle-timeout")) { if (ms_arg(a, v, &o.idle_timeout_us)) return RUN_USAGE; }
        else if (!strcmp(a, "--endpoint")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1] || o.nendpoints == 16) {
                fprintf(stderr, "routevm: --endpoint takes PROVIDER=URL (at most 16), not '%s'\n", v);
                return RUN_USAGE;
            }
            endpoints[o.nendpoints++] = v;
            o.endpoints = endpoints;
        }
        else if (!strcmp(a, "--stream")) o.stream = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "routevm: unknown option '%s'\n", a);
            return RUN_USAGE;
        } else if (!policy) policy = a;
        else {
            fprintf(stderr, "routevm: unexpected argument '%s'\n", a);
            return RUN_USAGE;
        }
    }
    if (!policy || !request) {
        usage(stderr);
        return RUN_USAGE;
    }
    rbc_file rf;
    rv_err ferr;
    if (rbc_map_file(request, MAX_REQUEST, &rf, &ferr)) {
        fprintf(stderr, "routevm: %s\n", ferr.msg);
        return RUN_USAGE;
    }
    if (trace && !(o.trace = fopen(trace, "a"))) {
        fprintf(stderr, "routevm: %s: %s\n", trace, strerror(errno));
        rbc_unmap_file(&rf);
        return RUN_USAGE;
    }
    int lrc;
    rv_program *p = load_policy(policy, trust, NULL, 0, &lrc);
    int rc = p ? run_request(p, (const char *)rf.buf, rf.len, &o) : lrc == RC_USAGE ? RUN_USAGE : RUN_BAD;
    rv_program_free(p);
    rbc_unmap_file(&rf);
    if (o.trace && fclose(o.trace)) {
        fprintf(stderr, "routevm: %s: %s\n", trace, strerror(errno));
        rc = rc ? rc : RUN_USAGE;
    }
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
    if (!strcmp(argv[1], "simulate"))
        return cli_simulate(argc, argv);
    if (!strcmp(argv[1], "diff"))
        return cli_diff(argc, argv);
    if (!strcmp(argv[1], "report"))
        return cli_report(argc, argv);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv);
    if (!strcmp(argv[1], "serve"))
        return sv_main(argc - 1, argv + 1);
    fprintf(stderr, "routevm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RC_USAGE;
}
