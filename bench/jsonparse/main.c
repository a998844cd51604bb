/* JSON parser benchmark: the candidates for the request model's parser,
   side by side on the same requests (bench/jsonparse.sh).

   usage: jsonparse REQS.jsonl [REPEAT] [CANDIDATE...]

   Reads every line of REQS.jsonl into memory, then for each candidate
   (all of cand.h by default) runs REPEAT timed passes over all lines, each
   line parsed and its routing fields extracted (cand.h), and prints one
   line per candidate:

     NAME n=LINES bytes_per_req=B ns_min=... ns_med=... mb_s=... sum=CHECKSUM agree=0|1

   ns per request, min and median over the passes; 'agree' says whether
   the candidate's checksum equals jansson's (the same fields found). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cand.h"

static const struct { const char *name; size_t (*fn)(const char *, size_t); } cands[] = {
    { "jansson", cand_jansson },     { "yajl", cand_yajl },   { "jsonfast", cand_jsonfast }, { "cjson", cand_cjson },
    { "jsonc", cand_jsonc },         { "jsonparser", cand_jsonparser }, { "jsmn", cand_jsmn },
    { "routevm", cand_routevm },
};

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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: jsonparse REQS.jsonl [REPEAT] [CANDIDATE...]\n");
        return 2;
    }
    int rep = argc > 2 ? atoi(argv[2]) : 5;
    if (rep < 1)
        rep = 1;
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t n = 0, cap = 1024, total = 0;
    char **line = malloc(cap * sizeof *line);
    size_t *len = malloc(cap * sizeof *len);
    char *l = NULL;
    size_t lcap = 0;
    ssize_t ll;
    while ((ll = getline(&l, &lcap, f)) > 0) {
        if (l[ll - 1] == '\n')
            ll--;
        if (n == cap) {
            cap *= 2;
            line = realloc(line, cap * sizeof *line);
            len = realloc(len, cap * sizeof *len);
        }
        line[n] = malloc((size_t)ll + 1);
        memcpy(line[n], l, (size_t)ll + 1);
        len[n++] = (size_t)ll;
        total += (size_t)ll;
    }
    fclose(f);
    free(l);
    if (!n) {
        fprintf(stderr, "jsonparse: %s is empty\n", argv[1]);
        return 2;
    }
    size_t ref = 0;
    for (size_t i = 0; i < n; i++)
        ref += cand_jansson(line[i], len[i]);
    double *t = malloc((size_t)rep * sizeof *t);
    for (size_t c = 0; c < sizeof cands / sizeof *cands; c++) {
        int want = argc <= 3;
        for (int a = 3; a < argc; a++)
            want |= !strcmp(argv[a], cands[c].name);
        if (!want)
            continue;
        size_t sum = 0;
        for (size_t i = 0; i < n; i++)      /* warm-up, and the checksum */
            sum += cands[c].fn(line[i], len[i]);
        for (int r = 0; r < rep; r++) {
            size_t s = 0;
            double t0 = now();
            for (size_t i = 0; i < n; i++)
                s += cands[c].fn(line[i], len[i]);
            t[r] = now() - t0;
            if (s != sum)
                fprintf(stderr, "jsonparse: %s: checksum changed between passes\n", cands[c].name);
        }
        qsort(t, (size_t)rep, sizeof *t, cmpd);
        printf("%s n=%zu bytes_per_req=%.0f ns_min=%.1f ns_med=%.1f mb_s=%.0f sum=%zu agree=%d\n", cands[c].name, n,
               (double)total / n, t[0] * 1e9 / n, t[rep / 2] * 1e9 / n, total / t[rep / 2] / 1e6, sum, sum == ref);
        fflush(stdout);
    }
    return 0;
}
