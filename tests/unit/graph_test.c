/* routec graph's pieces below the command line (compiler/graph.h):
   - graph_quote() on bytes a policy cannot carry (the compiler checks
     UTF-8), a table of inputs and their exact DOT: NUL and control bytes,
     invalid and overlong UTF-8, surrogates, quotes, backslashes, '&';
   - graph_dot() with each allocation failing in turn: -1 or a whole
     graph, never a crash or a leak (ASan);
   - dotsvg_render() against stand-ins for Graphviz's dot in PATH: one
     that never finishes is killed at the deadline, one that is missing
     is named; and the real dot when it is installed. */
#define _GNU_SOURCE 1     /* memmem() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "mem.h"

static int failures;

static void result(const char *name, int ok, const char *why)
{
    if (ok) {
        printf("PASS graph %s\n", name);
    } else {
        printf("FAIL graph %s: %s\n", name, why);
        failures++;
    }
}

static void quote_cases(void)
{
    static const struct { const char *name, *in; size_t n; const char *want; } cases[] = {
        { "plain", "gpt_4o", 6, "\"gpt_4o\"" },
        { "quote-backslash", "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
        { "graphviz-escapes-stay-text", "\\N\\G\\l", 6, "\"\\\\N\\\\G\\\\l\"" },
        { "line-break", "one\ntwo", 7, "\"one\\ntwo\"" },
        { "tab", "a\tb", 3, "\"a b\"" },
        { "entity", "&lt;&", 5, "\"&amp;lt;&amp;\"" },
        { "markup", "<b>x</b>", 8, "\"<b>x</b>\"" },
        { "nul", "a\0b", 3, "\"a\xEF\xBF\xBD" "b\"" },
        { "control", "\x01\x1f\x7f\r", 4, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"" },
        { "utf8", "Gr\xC3\xBC\xC3\x9F \xF0\x9F\x91\x8B", 11, "\"Gr\xC3\xBC\xC3\x9F \xF0\x9F\x91\x8B\"" },
        { "stray-continuation", "\x80x", 2, "\"\xEF\xBF\xBDx\"" },
        { "overlong", "\xC0\xAF", 2, "\"\xEF\xBF\xBD\xEF\xBF\xBD\"" },
        { "surrogate", "\xED\xA0\x80", 3, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"" },
        { "cut-at-end", "ok\xE2\x82", 4, "\"ok\xEF\xBF\xBD\xEF\xBF\xBD\"" },
        { "empty", "", 0, "\"\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            result(cases[i].name, 0, "open_memstream");
            continue;
        }
        graph_quote(f, cases[i].in, cases[i].n);
        fclose(f);
        char name[64];
        snprintf(name, sizeof name, "quote/%s", cases[i].name);
        result(name, buf && !strcmp(buf, cases[i].want), buf ? buf : "(nothing)");
        free(buf);
    }
}

static const char policy[] =
    "provider p { kind openai  endpoint \"http://127.0.0.1:1/v1\"  key env(\"K\") }\n"
    "model a from p { id \"a\"  price in $1/Mtok, out $2/Mtok  context 8k tokens  tier 1 }\n"
    "model b from p { id \"b\"  price in $3/Mtok, out $4/Mtok  context 8k tokens  tier 2\n"
    "                 fallback on [timeout] -> a }\n"
    "guardrail g { deny input matches /x\"y/ \"no \\\"x\\\"\"  limit output 1k tokens }\n"
    "agent back { route -> cheapest [a, b] where tier >= 1 }\n"
    "agent front {\n"
    "  guard g\n"
    "  route {\n"
    "    when meta.k == \"v\" -> split 50% -> a, 50% -> back by user \"half & half\"\n"
    "    otherwise -> cascade [a, b] until confidence >= 0.5 by judge b\n"
    "  }\n"
    "  fallback back\n"
    "}\n";

/* Every allocation of graph_dot() fails in turn. */
static void oom_cases(void)
{
    rv_compiler *c = comp_new(NULL);
    if (!c || import_text(c, "oom.route", policy, sizeof policy - 1) || comp_check(c)) {
        if (c) {
            diag_sort(&c->diag);
            diag_print(&c->diag, DIAG_TEXT, stdout);
        }
        result("oom", 0, "the policy does not compile");
        comp_free(c);
        return;
    }
    char *full = NULL;
    size_t fulllen = 0;
    FILE *f = open_memstream(&full, &fulllen);
    int ok = f && graph_dot(c, NULL, f) == 0;
    if (f)
        fclose(f);
    ok = ok && full && strstr(full, "agent front") && strstr(full, "half &amp; half") && strstr(full, "judge");
    result("dot-of-policy", ok, full ? full : "no output");
    int survived = 1;
    unsigned long n;
    for (n = 0; n < 64; n++) {
        char *buf = NULL;
        size_t len = 0;
        f = open_memstream(&buf, &len);
        if (!f)
            break;
        mem_fail_after((long)n);
        int r = graph_dot(c, NULL, f);
        mem_fail_after(-1);
        fclose(f);
        if (r == 0 && (!buf || !full || strcmp(buf, full)))
            survived = 0;   /* a success must be the whole graph */
        free(buf);
        if (r == 0)
            break;
    }
    result("oom-each-allocation", survived && n < 64, "a failed allocation gave a partial graph as a success");
    free(full);
    comp_free(c);
}

static char dir[64];

/* A stand-in 'dot' with this shell body, first in PATH (the system's
   directories after it, for its commands). */
static void fake_dot(const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "%s/dot", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "#!/bin/sh\n%s\n", body);
        fclose(f);
        chmod(path, 0755);
    }
    char path_env[128];
    snprintf(path_env, sizeof path_env, "%s:/usr/bin:/bin", dir);
    setenv("PATH", path_env, 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void dot_cases(void)
{
    static const char dot[] = "digraph { a -> b }\n";
    char *svg, err[256], *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    size_t svglen;
    snprintf(dir, sizeof dir, "%s", "/tmp/graph_test.XXXXXX");
    if (!mkdtemp(dir)) {
        result("dot-setup", 0, "mkdtemp");
        free(old);
        return;
    }

    fake_dot("exec sleep 30");
    double t0 = now();
    int r = dotsvg_render(dot, sizeof dot - 1, 300, &svg, &svglen, err, sizeof err);
    double took = now() - t0;
    result("dot-deadline", r == -1 && strstr(err, "did not finish") && took < 5 && !svg, err);

    fake_dot("cat > /dev/null; exit 7");
    r = dotsvg_render(dot, sizeof dot - 1, 10000, &svg, &svglen, err, sizeof err);
    result("dot-exit-status", r == -1 && strstr(err, "exit status 7"), err);

    char path[128];
    snprintf(path, sizeof path, "%s/dot", dir);
    unlink(path);
    setenv("PATH", dir, 1);   /* no dot anywhere in it */
    r = dotsvg_render(dot, sizeof dot - 1, 10000, &svg, &svglen, err, sizeof err);
    result("dot-missing", r == -1 && strstr(err, "not found in PATH"), err);
    rmdir(dir);

    if (old)
        setenv("PATH", old, 1);
    free(old);
    if (system("command -v dot > /dev/null 2>&1") == 0) {
        r = dotsvg_render(dot, sizeof dot - 1, 60000, &svg, &svglen, err, sizeof err);
        result("dot-real", r == 0 && svg && svglen > 100 && memmem(svg, svglen, "<svg", 4), r ? err : "no <svg");
        free(svg);
    } else {
        result("dot-real", 0, "Graphviz's dot is not installed (mk/deps.sh installs graphviz)");
    }
}

int main(void)
{
    quote_cases();
    oom_cases();
    dot_cases();
    return failures != 0;
}
