/* jsmn (libjsmn-dev): a tokenizer into a caller's token array, no tree
   and no unescaping; lax (it validates neither escapes nor UTF-8 nor
   number syntax), listed for its speed. */
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "cand.h"

static int eq(const char *buf, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && !memcmp(buf + t->start, s, n);
}

/* The index of the token after token i and everything inside it. */
static int skip(const jsmntok_t *t, int i)
{
    int todo = 1;
    while (todo > 0) {
        todo--;
        todo += t[i].type == JSMN_OBJECT ? 2 * t[i].size : t[i].type == JSMN_ARRAY ? t[i].size : 0;
        i++;
    }
    return i;
}

size_t cand_jsmn(const char *buf, size_t len)
{
    static jsmntok_t *tok;
    static unsigned cap;
    jsmn_parser p;
    int n;
    if (!tok)
        tok = malloc((cap = 256) * sizeof *tok);
    for (;;) {
        jsmn_init(&p);
        n = jsmn_parse(&p, buf, len, tok, cap);
        if (n != JSMN_ERROR_NOMEM)
            break;
        cap = cap ? cap * 2 : 256;
        tok = realloc(tok, cap * sizeof *tok);
    }
    if (n < 1 || tok[0].type != JSMN_OBJECT)
        return (size_t)-1;
    size_t sum = 0;
    int i = 1;
    for (int k = 0; k < tok[0].size; k++) {
        const jsmntok_t *key = &tok[i++];
        if (eq(buf, key, "messages") && tok[i].type == JSMN_ARRAY) {
            int nm = tok[i].size, j = i + 1;
            for (int m = 0; m < nm; m++) {
                int nk = tok[j].size, q = j + 1;
                for (int f = 0; f < nk; f++) {
                    if (eq(buf, &tok[q], "content") && tok[q + 1].type == JSMN_STRING)
                        sum += (size_t)(tok[q + 1].end - tok[q + 1].start);
                    q = skip(tok, q + 1);
                }
                j = q;
            }
        } else if (eq(buf, key, "metadata") && tok[i].type == JSMN_OBJECT) {
            int nk = tok[i].size, q = i + 1;
            for (int f = 0; f < nk; f++) {
                sum += tok[q + 1].type == JSMN_STRING && tok[q + 1].end > tok[q + 1].start;
                q = skip(tok, q + 1);
            }
        } else if (eq(buf, key, "user")) {
            sum += (size_t)(tok[i].end - tok[i].start);
        } else if (eq(buf, key, "stream")) {
            sum += buf[tok[i].start] == 't';
        } else if (eq(buf, key, "max_tokens")) {
            sum += (size_t)strtol(buf + tok[i].start, NULL, 10);
        }
        i = skip(tok, i);
    }
    return sum;
}
