/* Allocation failure in the gateway's request path, SQLite-style: the
   whole gateway application of tests/fuzz/fuzz_gateway.c (included here:
   its upstream, policy, keys and ledger, and its checks; its
   fuzz_gateway_fail_at sets mem_fail_after just before the client's
   bytes are handled and clears it before the checks and the teardown)
   answers a few fixed inputs with the N-th allocation made after the
   connection arrives failing (and every one after it, or only that
   one), for N = 1, 2, ... until a run makes fewer allocations than that.  Every run must end
   cleanly: the harness's checks (an answer with a documented status, or
   the connection closed, within 20 s; valid HTTP framing; no reservation
   left open in the ledger; no sanitizer report, no leak), and here
   besides: an error answer carries an OpenAI-style error body; the
   gateway's failure is a 5xx (never a 4xx that blames the client); a
   whole 200 answer is the right one (a stream up to its [DONE] has every
   chunk); what the output guardrail redacts never reaches the client;
   and once nothing fails, the same input is answered as it should be
   (nothing a failure left behind changes the next request).

   Inputs: seeds of tests/fuzz/corpus/gateway/ (their format: the
   harness's comment), with the status each is answered with when no
   allocation fails; two of them again with the upstream calls made
   through libcurl instead of the engine's own transport.  Each is swept
   twice: with the N-th allocation and every one after it failing
   (memory stays short), and with only the N-th failing ("/once":
   memory comes back, and nothing must use what was not made).  To look at one run: GATEWAY_OOM_ONLY="SEED N"
   (allocation N failing), with FUZZ_GATEWAY_SHOW=1 for what the client
   got; GATEWAY_OOM_SHOW=1 prints a line per run. */
#include "../fuzz/fuzz_gateway.c"

#include <signal.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

static const struct {
    const char *name;           /* the seed's, and "/libcurl" for the engine's libcurl transport */
    int status;                 /* the (first) answer with every allocation made */
    const char *text;           /* the (first) answer's text, when 200 */
    const char *redacted;       /* what the policy's output guardrail takes out, or NULL */
    const char *what;
} inputs[] = {
    { "json-answer", 200, "Hi there [ssn]", "123-45-6789", "a JSON chat request, a valid OpenAI JSON answer" },
    { "stream-answer", 200, "one two 123-45 -6789 ", NULL, "a streamed request, a valid SSE stream" },
    { "guardrail-deny", 400, NULL, NULL, "a request a guardrail refuses" },
    { "rate-limited", 502, NULL, NULL, "an upstream 429 to every call" },
    { "server-error", 502, NULL, NULL, "an upstream 500 to every call of a streamed request" },
    { "keepalive-two", 200, "Hi there [ssn]", "123-45-6789", "two requests on one connection, a JSON answer and a stream" },
    { "key-budget", 200, "Hi there 123-45-6789", NULL, "a key with a daily budget of its own (a second ledger row)" },
    { "models-and-metrics", 200, NULL, NULL, "GET /v1/models, /metrics and /healthz on one connection" },
    /* the upstream calls through libcurl (ROUTEVM_HTTP_CLIENT=curl), as
       https:// endpoints and proxies are */
    { "json-answer/libcurl", 200, "Hi there [ssn]", "123-45-6789", "a JSON answer through libcurl" },
    { "stream-answer/libcurl", 200, "one two 123-45 -6789 ", NULL, "a stream through libcurl" },
};

/* What the client got in the last run: the first response's status (0:
   none); whether an error response's body is not an OpenAI error; the
   text of the first response when a 200 answer (the "content" strings
   of a JSON answer or of a stream's events, which here have no escapes)
   and whether it was whole (a JSON answer, or a stream up to its
   [DONE]); whether any holds 'redacted' (the run's input's). */
static const char *redacted;
static int got_status, got_bad_error, got_whole, got_redacted;
static char got_why[200], got_text[4096], got_error[120];
static size_t got_tlen;

static void contents(const char *b, size_t n)
{
    const char *p = b, *end = b + n, *q;
    while ((p = memmem(p, (size_t)(end - p), "\"content\":\"", 11)) && (q = memchr(p + 11, '"', (size_t)(end - p - 11)))) {
        p += 11;
        if ((size_t)(q - p) < sizeof got_text - got_tlen) {
            memcpy(got_text + got_tlen, p, (size_t)(q - p));
            got_tlen += (size_t)(q - p);
        }
        p = q;
    }
}

/* A chunked body from out[at..n), decoded into a new buffer. */
static char *dechunk(const char *out, size_t n, size_t at, size_t *len)
{
    char *d = malloc(n - at + 1);
    *len = 0;
    while (d && at < n) {
        const char *le = memmem(out + at, n - at, "\r\n", 2);
        size_t sz = strtoul(out + at, NULL, 16);
        if (!le || !sz)
            break;
        at = (size_t)(le - out) + 2;
        if (sz > n - at)
            sz = n - at;
        memcpy(d + *len, out + at, sz);
        *len += sz;
        at += sz + 2;
    }
    return d;
}

/* Each response of 'out' (the harness checked its framing). */
static void seen(const char *out, size_t n)
{
    got_status = got_bad_error = got_whole = 0;
    got_tlen = 0;
    got_error[0] = 0;
    static const char em[] = "{\"error\":{\"message\":";
    const char *e = memmem(out, n, em, sizeof em - 1);     /* the first error's message */
    if (e)
        snprintf(got_error, sizeof got_error, "%.*s", (int)strcspn(e + sizeof em - 1, "}\n"), e + sizeof em - 1);
    got_redacted = redacted && memmem(out, n, redacted, strlen(redacted));
    size_t at = 0;
    while (at + 12 <= n && !memcmp(out + at, "HTTP/1.1 ", 9)) {
        int st = atoi(out + at + 9);
        const char *end = memmem(out + at, n - at, "\r\n\r\n", 4);
        if (!end)
            return;
        size_t body = (size_t)(end - out) + 4;
        if (st == 100) {
            at = body;
            continue;
        }
        int first = !got_status;
        if (first)
            got_status = st;
        const char *cl = memmem(out + at, body - at, "\r\nContent-Length: ", 18);
        if (!cl) {              /* a stream (the harness checked its chunks) */
            size_t len;
            char *d = dechunk(out, n, body, &len);
            if (d && st == 200 && first) {
                contents(d, len);
                got_whole = memmem(d, len, "data: [DONE]\n\n", 14) != NULL;
            }
            free(d);
            return;
        }
        size_t len = strtoul(cl + 18, NULL, 10);
        if (len > n - body)
            len = n - body;
        size_t blen = len && out[body + len - 1] == '\n' ? len - 1 : len;
        if (st >= 400 && (blen < 10 || memcmp(out + body, "{\"error\":{", 10) || out[body + blen - 1] != '}')) {
            got_bad_error = 1;
            snprintf(got_why, sizeof got_why, "a %d answer's body is not an OpenAI error: '%.*s'", st,
                     (int)(len < 80 ? len : 80), out + body);
        }
        if (st == 200 && first) {
            contents(out + body, len);
            got_whole = 1;
        }
        at = body + len;
    }
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char label[80];         /* the input running: its name, and "/once" for a transient failure */
static char context[200];       /* what runs, for a crash or an abort */

static void say_context(void)
{
    ssize_t r = write(2, context, strlen(context));
    (void)r;
}

static void on_abort_signal(int sig)     /* the harness's checks abort() */
{
    say_context();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The seed input 'name' names (up to a '/'). */
static unsigned char *read_seed(const char *root, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/gateway/%.*s", root, (int)strcspn(name, "/"), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *b = malloc(200001), *exact;
    *len = b ? fread(b, 1, 200001, f) : 0;
    fclose(f);
    if (b && (exact = realloc(b, *len ? *len : 1)))    /* exact size: a read past the input is caught */
        b = exact;
    return b;
}

/* One run of input 'i' ('b', 'len') with the allocations after the
   first 'n' failing (-1: none): answered with the input's status when
   'n' < 0, else with it, a 5xx or not at all (the connection closed);
   a whole 200 answer has the input's text; what the guardrail redacts
   never reaches the client.  0, or -1 with a FAIL line printed. */
static int run(size_t i, const unsigned char *b, size_t len, long n)
{
    const char *name = label;
    snprintf(context, sizeof context, "gateway_oom: died on input %s with allocation %ld failing\n", name, n + 1);
    redacted = inputs[i].redacted;
    fuzz_gateway_fail_at = n;
    double t0 = seconds();
    LLVMFuzzerTestOneInput(b, len);
    fuzz_gateway_fail_at = -1;
    if (getenv("GATEWAY_OOM_SHOW"))         /* each run: what failed, what the client got, how long it took */
        fprintf(stderr, "%s %ld: %lu allocations, status %d%s, %.3f s %s\n", name, n + 1, fuzz_gateway_allocs,
                got_status, got_whole ? " (whole)" : "", seconds() - t0, got_error);
    char when[64] = "with no allocation failing";
    if (n >= 0)
        snprintf(when, sizeof when, "with allocation %ld failing", n + 1);
    const char *want_text = inputs[i].text, *red = inputs[i].redacted;
    if (got_bad_error)
        printf("FAIL gateway_oom/%s: %s: %s\n", name, when, got_why);
    else if (red && got_redacted)
        printf("FAIL gateway_oom/%s: %s: the client got '%s', which the guardrail redacts\n", name, when, red);
    else if (got_whole && want_text && (got_tlen != strlen(want_text) || memcmp(got_text, want_text, got_tlen)))
        printf("FAIL gateway_oom/%s: %s: a 200 answer's text is '%.*s', not '%s'\n", name, when, (int)got_tlen,
               got_text, want_text);
    else if (n < 0 && got_status != inputs[i].status)
        printf("FAIL gateway_oom/%s: %s: answered %d, not %d\n", name, when, got_status, inputs[i].status);
    else if (got_status && got_status != inputs[i].status && got_status < 500)   /* a 4xx blames the client */
        printf("FAIL gateway_oom/%s: %s: answered %d (the gateway's failure is a 5xx)\n", name, when, got_status);
    else
        return 0;
    return -1;
}

/* Input 'i' ('b', 'len') with allocation 1, 2, ... failing, then with
   none; 0 and a PASS line, or -1 after a FAIL line. */
static int sweep(size_t i, const unsigned char *b, size_t len)
{
    double t0 = seconds();
    long n = 0;
    int bad = 0;
    /* a new ledger for each input: what the runs before spent would use
       up a day's budget (and its rows would not be made again); the
       first input's is the harness's, made by its set-up at its first run */
    if (base) {
        char err[256];
        ld_ledger *l = ld_open(NULL, err, sizeof err);
        if (!l) {
            printf("FAIL gateway_oom/%s: %s\n", label, err);
            return -1;
        }
        ld_close(app.ledger);
        app.ledger = l;
    }
    /* run n fails the (n+1)-th allocation; done when a run makes no
       more than n (its failure was never reached).  No run with none
       failing comes first: what the first request of a process makes
       once (the ledger's row for the agent and day) fails too. */
    for (;; n++) {
        if ((bad = run(i, b, len, n)) || fuzz_gateway_allocs <= (unsigned long)n)
            break;
        if (n == 100000) {
            printf("FAIL gateway_oom/%s: a run with allocation %ld failing still made more\n", label, n + 1);
            return -1;
        }
    }
    /* the same input with nothing failing: answered as it should be
       (nothing a failure left behind changes the next request) */
    if (bad || run(i, b, len, -1))
        return -1;
    printf("PASS gateway_oom/%s: %s; each of %ld allocations failed in turn (%lu with none failing), %.1f s\n", label,
           inputs[i].what, n, fuzz_gateway_allocs, seconds() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    setenv("ROUTEVM_ROOT", root, 1);
    signal(SIGABRT, on_abort_signal);
#ifdef __SANITIZE_ADDRESS__
    __sanitizer_set_death_callback(say_context);    /* a sanitizer's report */
#endif
    fuzz_gateway_seen = seen;
    setvbuf(stdout, NULL, _IOLBF, 0);      /* each line out before a crash or a leak report */
    int failed = 0;
    const char *only = getenv("GATEWAY_OOM_ONLY");
    /* first every allocation from the N-th on fails (memory stays short),
       then only the N-th (it comes back: what failed must not be used) */
    for (int once = 0; once < 2; once++)
        for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
            const char *name = inputs[i].name;
            if (once && strstr(name, "/libcurl"))
                continue;
            snprintf(label, sizeof label, "%s%s", name, once ? "/once" : "");
            if (only && (strncmp(only, label, strlen(label)) || only[strlen(label)] != ' '))
                continue;
            size_t len;
            unsigned char *b = read_seed(root, name, &len);
            if (!b) {
                printf("FAIL gateway_oom/%s: cannot read the seed\n", label);
                failed = 1;
                continue;
            }
            if (strstr(name, "/libcurl"))   /* read when each run's engine is made */
                setenv("ROUTEVM_HTTP_CLIENT", "curl", 1);
            else
                unsetenv("ROUTEVM_HTTP_CLIENT");
            fuzz_gateway_fail_once = once;
            if (only)
                failed |= run(i, b, len, atol(only + strlen(label) + 1) - 1);
            else
                failed |= sweep(i, b, len);
            free(b);
        }
    context[0] = 0;             /* (a leak is reported at exit, after every run) */
    return failed;
}
