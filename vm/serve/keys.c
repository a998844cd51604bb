/* The gateway's keys file; see keys.h.  Parsing is line by line over the
   file's bytes (no allocation per byte, every field length checked);
   lookup hashes the presented token once and compares it with every
   stored digest, whatever matches, in constant time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "keys.h"
#include "mem.h"

struct ky_key {
    unsigned char digest[32];
    int all;                    /* '*' */
    char **agents;
    uint32_t nagents;
    char name[24];
    char ledger[24];            /* "key:" + 16 hex digits (keys.h) */
    int64_t budget_day, budget_request;     /* picodollars, 0 none */
};

struct ky_set {
    ky_key *keys;
    uint32_t n;
};

void ky_free(ky_set *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++) {
        for (uint32_t a = 0; a < s->keys[i].nagents; a++)
            free(s->keys[i].agents[a]);
        free(s->keys[i].agents);
    }
    OPENSSL_cleanse(s->keys, s->n * sizeof *s->keys);
    free(s->keys);
    free(s);
}

uint32_t ky_count(const ky_set *s)
{
    return s->n;
}

const char *ky_name(const ky_key *k)
{
    return k->name;
}

int ky_caller(const ky_key *k, rv_caller *out)
{
    if (!k->budget_day && !k->budget_request)
        return 0;
    *out = (rv_caller){ k->ledger, (uint32_t)strlen(k->ledger), k->budget_request, k->budget_day };
    return 1;
}

/* The ledger row: a SHA-256 of a fixed label and the key's digest. */
static void ledger_name(ky_key *k)
{
    static const char label[] = "routevm key ledger\n";
    unsigned char buf[sizeof label - 1 + 32], d[32];
    memcpy(buf, label, sizeof label - 1);
    memcpy(buf + sizeof label - 1, k->digest, 32);
    SHA256(buf, sizeof buf, d);
    memcpy(k->ledger, "key:", 4);
    for (int i = 0; i < 8; i++)
        snprintf(k->ledger + 4 + 2 * i, 3, "%02x", d[i]);
    OPENSSL_cleanse(buf, sizeof buf);
}

/* "$5", "$0.125": dollars with at most 12 decimals, up to $9,000,000, as
   picodollars; -1 when malformed. */
static int64_t parse_money(const char *s, size_t n)
{
    if (n < 2 || s[0] != '$')
        return -1;
    int64_t whole = 0, frac = 0;
    size_t i = 1, nd = 0, nf = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        whole = whole * 10 + (s[i] - '0');
        if (whole > 9000000)
            return -1;
    }
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nf++) {
            if (nf == 12)
                return -1;
            frac = frac * 10 + (s[i] - '0');
        }
    if (i != n || nd == 0 || (nf == 0 && s[n - 1] == '.'))
        return -1;
    while (nf++ < 12)
        frac *= 10;
    return whole * 1000000000000LL + frac;
}

/* The next space-separated word of s[*i..n). */
static size_t next_word(const char *s, size_t n, size_t *i, const char **w)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r'))
        (*i)++;
    *w = s + *i;
    size_t b = *i;
    while (*i < n && !(s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r'))
        (*i)++;
    return *i - b;
}

/* After the agent list: "budget MONEY per day|request", repeated. */
static int parse_budgets(ky_key *k, const char *s, size_t n, char *err, size_t errlen, unsigned line)
{
    size_t i = 0;
    const char *w[4];
    size_t wl[4];
    for (;;) {
        wl[0] = next_word(s, n, &i, &w[0]);
        if (!wl[0])
            return 0;
        for (int j = 1; j < 4; j++)
            wl[j] = next_word(s, n, &i, &w[j]);
        int64_t v = wl[1] ? parse_money(w[1], wl[1]) : -1;
        int day = wl[3] == 3 && !memcmp(w[3], "day", 3), req = wl[3] == 7 && !memcmp(w[3], "request", 7);
        if (wl[0] != 6 || memcmp(w[0], "budget", 6) || wl[2] != 3 || memcmp(w[2], "per", 3) || !(day || req)) {
            snprintf(err, errlen, "line %u: after the agent list, expected 'budget $AMOUNT per day' or "
                     "'budget $AMOUNT per request'", line);
            return -1;
        }
        if (v <= 0) {
            snprintf(err, errlen, "line %u: a budget is a positive amount of dollars like $5 or $0.25 "
                     "(at most 12 decimals, at most $9000000)", line);
            return -1;
        }
        int64_t *slot = day ? &k->budget_day : &k->budget_request;
        if (*slot) {
            snprintf(err, errlen, "line %u: two budgets per %s", line, day ? "day" : "request");
            return -1;
        }
        *slot = v;
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A key field: 'sha256:' and 64 hex digits, or the key itself. */
static int parse_key(ky_key *k, const char *s, size_t n, char *err, size_t errlen, unsigned line)
{
    if (n > 7 && !memcmp(s, "sha256:", 7)) {
        if (n != 7 + 64) {
            snprintf(err, errlen, "line %u: a sha256: key needs exactly 64 hex digits", line);
            return -1;
        }
        for (int i = 0; i < 32; i++) {
            int hi = hexval(s[7 + 2 * i]), lo = hexval(s[8 + 2 * i]);
            if (hi < 0 || lo < 0) {
                snprintf(err, errlen, "line %u: a sha256: key needs exactly 64 hex digits", line);
                return -1;
            }
            k->digest[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    if (n > KY_MAX_TOKEN) {
        snprintf(err, errlen, "line %u: a key may be at most %u bytes", line, KY_MAX_TOKEN);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
            snprintf(err, errlen, "line %u: a key must be printable ASCII", line);
            return -1;
        }
    SHA256((const unsigned char *)s, n, k->digest);
    return 0;
}

static int add_agent(ky_key *k, const char *s, size_t n, char *err, size_t errlen, unsigned line)
{
    if (n == 0) {
        snprintf(err, errlen, "line %u: an empty agent name in the list", line);
        return -1;
    }
    if (n == 1 && *s == '*') {
        k->all = 1;
        return 0;
    }
    if (k->nagents >= KY_MAX_AGENTS) {
        snprintf(err, errlen, "line %u: more than %u agents", line, KY_MAX_AGENTS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z'))) {
            snprintf(err, errlen, "line %u: '%.*s' is not an agent name", line, (int)(n > 64 ? 64 : n), s);
            return -1;
        }
    }
    char **a = mem_reallocarray(k->agents, k->nagents + 1, sizeof *a);
    char *d = a ? mem_strndup(s, n) : NULL;
    if (a)
        k->agents = a;
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->agents[k->nagents++] = d;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int parse_line(ky_set *set, const char *s, size_t n, unsigned line, size_t *cap, char *err, size_t errlen)
{
    const char *hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    size_t i = 0;
    while (i < n && is_space(s[i]))
        i++;
    if (i == n)
        return 0;
    size_t k0 = i;
    while (i < n && !is_space(s[i]))
        i++;
    size_t klen = i - k0;
    while (i < n && is_space(s[i]))
        i++;
    size_t a0 = i;
    while (i < n && !is_space(s[i]))
        i++;
    size_t alen = i - a0;
    while (i < n && is_space(s[i]))
        i++;
    if (alen == 0) {
        snprintf(err, errlen, "line %u: expected 'KEY AGENT[,AGENT...]' or 'KEY *'", line);
        return -1;
    }
    if (set->n >= KY_MAX_KEYS) {
        snprintf(err, errlen, "line %u: more than %u keys", line, KY_MAX_KEYS);
        return -1;
    }
    if (MEM_GROW(set->keys, set->n, *cap)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ky_key *k = &set->keys[set->n++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "key@%u", line);
    if (parse_key(k, s + k0, klen, err, errlen, line))
        return -1;
    for (uint32_t j = 0; j + 1 < set->n; j++)
        if (!CRYPTO_memcmp(set->keys[j].digest, k->digest, 32)) {
            snprintf(err, errlen, "line %u: the same key as %s", line, set->keys[j].name);
            return -1;
        }
    const char *a = s + a0, *end = a + alen;
    while (a <= end) {
        const char *comma = memchr(a, ',', (size_t)(end - a));
        const char *e = comma ? comma : end;
        if (add_agent(k, a, (size_t)(e - a), err, errlen, line))
            return -1;
        a = e + 1;
    }
    if (k->all && k->nagents) {
        snprintf(err, errlen, "line %u: '*' and agent names together", line);
        return -1;
    }
    ledger_name(k);
    return parse_budgets(k, s + i, n - i, err, errlen, line);
}

ky_set *ky_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (len > KY_MAX_FILE) {
        snprintf(err, errlen, "the keys file is larger than %u bytes", KY_MAX_FILE);
        return NULL;
    }
    ky_set *set = mem_calloc(1, sizeof *set);
    if (!set) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t cap = 0;
    unsigned line = 1;
    for (size_t at = 0; at < len; line++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        if (memchr(text + at, 0, n)) {
            snprintf(err, errlen, "line %u: a NUL byte", line);
            ky_free(set);
            return NULL;
        }
        if (parse_line(set, text + at, n, line, &cap, err, errlen)) {
            ky_free(set);
            return NULL;
        }
        at += n + 1;
    }
    return set;
}

/* The whole file, at most 'cap' bytes (one more is read to tell). */
static char *read_capped(const char *path, size_t cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = mem_malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > cap) {
        snprintf(err, errlen, "%s: %s", path, !buf ? "out of memory" : bad ? "read error" : "larger than 1 MiB");
        if (buf)
            OPENSSL_cleanse(buf, n);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

ky_set *ky_load(const char *path, int *unreadable, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = read_capped(path, KY_MAX_FILE, &len, err, errlen);
    if (unreadable)
        *unreadable = !buf;
    if (!buf)
        return NULL;
    ky_set *s = ky_parse(buf, len, err, errlen);
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (!s) {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s: %s", path, err);
        snprintf(err, errlen, "%s", tmp);
    }
    return s;
}

const ky_key *ky_find(const ky_set *s, const char *token, size_t len)
{
    if (len == 0 || len > KY_MAX_TOKEN)
        return NULL;
    unsigned char d[32];
    SHA256((const unsigned char *)token, len, d);
    const ky_key *hit = NULL;
    for (uint32_t i = 0; i < s->n; i++) {
        int eq = CRYPTO_memcmp(s->keys[i].digest, d, 32) == 0;
        if (eq)
            hit = &s->keys[i];
    }
    OPENSSL_cleanse(d, sizeof d);
    return hit;
}

int ky_allows(const ky_key *k, const char *name, size_t len)
{
    if (k->all)
        return 1;
    for (uint32_t i = 0; i < k->nagents; i++)
        if (strlen(k->agents[i]) == len && !memcmp(k->agents[i], name, len))
            return 1;
    return 0;
}
