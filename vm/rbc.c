/* .rbc files: rv_program to bytes and back.

   rbc_write() serializes every table of an rv_program into its own section
   (layout in rbc.h), appends a SHA-256 digest and, given a key, an Ed25519
   signature.  rbc_load() treats its input as hostile: it checks the header,
   the digest, the signature, the section table and every count against the
   bytes that remain before it allocates anything, rebuilds the tables, and
   hands the result to ver_program() (vm/verify.c), which checks what the
   tables mean.  Only a program that passes both is returned.  The
   interpreter (vm/interp.c) and the disassembler (vm/disasm.c) then read it.

   Every integer is little-endian and written field by field (never a struct
   dump): u8 fields as 1 byte, u32 as 4, int64 as 8 (two's complement).
   A table section is 'u32 count' followed by 'count' records whose fields
   are written in the order of the rv_* struct in program.h:

     id name        record
      1 strings     special: u32 count, u32 nbytes, count x u32 len, then the
                    nbytes bytes of all strings back to back (no NULs; the
                    loader rebuilds program.h's NUL-separated blob)
      2 consts      u8 type, i64 i, u32 str, u32 first, u32 count
      3 items       u32
      4 regexes     u32 pattern, u32 flags, u32 loc
      5 providers   u32 name, kind, endpoint, region, key_env, loc
      6 models      u32 name, provider, id, system, i64 price_in, price_out,
                    price_cached, price_cache_write, price_reasoning,
                    context, max_output, latency, u32 tier, caps,
                    i64 timeout, backoff, u32 retry, retry_on, onfail_first,
                    onfail_count, i64 rpm, tpm, max_tokens, u32 params_set,
                    i64 params[k] for each k of RV_PARAMS, u32 stop, tags, loc
      7 gactions    u32 kind, dir, regex, text, i64 limit, u32 loc
      8 guards      u32 name, first, count, loc
      9 guard_refs  u32
     10 targets     u32 is_agent, index, on
     11 model_refs  u32
     12 agents      u32 name, guard_first, guard_count, i64 budget_request,
                    budget_day, u32 func, fallback_first, fallback_count,
                    retry, i64 backoff, timeout, u32 retry_on, onfail_first,
                    onfail_count, rule_first, rule_count, i64 worst_cost,
                    u32 loc
     13 rules       u32 agent, number, reason, otherwise, i64 timeout,
                    backoff, u32 retry, retry_on, loc
     14 choices     u32 kind, first, count, where, loc
     15 cascades    u32 first, count, i64 threshold, u32 by, judge, check, loc
     16 arms        i64 share, u32 target
     17 splits      u32 first, count, loc
     18 hooks       u32 url, i64 timeout, u32 loc
     19 funcs       u32 kind, start, end
     20 givens      u32 kind, model, hook, text, i64 confidence
     21 tests       u32 name, agent, request, given_first, given_count,
                    expect, expect_count, loc
     22 code        u32 (one instruction word, see opcodes.h)
     23 srcmap      special: u32 nrun, nrun x { u32 start_pc, u32 loc }: pc_loc
                    as runs; starts strictly increasing from 0, below ncode,
                    each run's loc different from the previous one
     24 locs        u32 file, line, col, len
     25 files       u32 name, text
     26 mtests      u32 key, konst, op, target   (format 1.2)
     27 dispatches  u32 key, vfirst, vcount, cfirst, ccount, end   (format 2.1)
     28 dvalues     u32 value, cls
     29 dclasses    u32 first, count
     30 dpcs        u32

   Format 2.0 added the call settings of models, rules and agents, prices
   per token class, rate limits, call parameters and 'fallback on'
   entries (the fields of models, targets, agents and rules above).
   Format 2.1 added the dispatch sections 27-30.  Format 3.0 added the
   models' tags (a field of models; 'tags', a candidate field) and the
   builtin number().

   Every section is present exactly once, in id order.  The layout is
   canonical: each section starts at the first 4-aligned offset after the
   previous one (the header and section table for the first), padding is
   zero, and each payload is consumed exactly.  So a file the loader accepts
   is byte-for-byte what rbc_write() produces for the loaded program (the
   fuzz harness checks this). */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "mem.h"
#include "rbc.h"
#include "verify.h"

#define RBC_MAGIC     "\x7f" "RBC"
#define RBC_HDR       16u
#define RBC_SECT      12u
#define RBC_DIGEST    32u
#define RBC_SIGLEN    64u
#define RBC_SIGBLOCK  (8u + RBC_SIGLEN)
#define RBC_F_SIGNED  1u

static void fail(rv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(rv_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static const char *const OOM = "out of memory";

/* ================================================================ tables */

/* One field of a record: where it lives in the struct and its width. */
typedef struct { uint16_t off; uint8_t size; } rbc_field;
#define F(T, m) { offsetof(T, m), sizeof(((T *)0)->m) }

static const rbc_field f_u32[] = { { 0, 4 } };
static const rbc_field f_const[] = {
    F(rv_const, type), F(rv_const, i), F(rv_const, str), F(rv_const, first),
    F(rv_const, count) };
static const rbc_field f_regex[] = {
    F(rv_regex, pattern), F(rv_regex, flags), F(rv_regex, loc) };
static const rbc_field f_provider[] = {
    F(rv_provider, name), F(rv_provider, kind), F(rv_provider, endpoint),
    F(rv_provider, region), F(rv_provider, key_env), F(rv_provider, loc) };
static const rbc_field f_model[] = {
    F(rv_model, name), F(rv_model, provider), F(rv_model, id),
    F(rv_model, system), F(rv_model, price_in), F(rv_model, price_out),
    F(rv_model, price_cached), F(rv_model, price_cache_write),
    F(rv_model, price_reasoning),
    F(rv_model, context), F(rv_model, max_output), F(rv_model, latency),
    F(rv_model, tier), F(rv_model, caps), F(rv_model, timeout),
    F(rv_model, backoff), F(rv_model, retry), F(rv_model, retry_on),
    F(rv_model, onfail_first), F(rv_model, onfail_count), F(rv_model, rpm),
    F(rv_model, tpm), F(rv_model, max_tokens), F(rv_model, params_set),
#define X(n, s, t, lo, hi) F(rv_model, params[RV_PARAM_##n]),
    RV_PARAMS(X)
#undef X
    F(rv_model, stop), F(rv_model, tags), F(rv_model, loc) };
static const rbc_field f_gaction[] = {
    F(rv_gaction, kind), F(rv_gaction, dir), F(rv_gaction, regex),
    F(rv_gaction, text), F(rv_gaction, limit), F(rv_gaction, loc) };
static const rbc_field f_guard[] = {
    F(rv_guardrail, name), F(rv_guardrail, first), F(rv_guardrail, count),
    F(rv_guardrail, loc) };
static const rbc_field f_target[] = {
    F(rv_target, is_agent), F(rv_target, index), F(rv_target, on) };
static const rbc_field f_agent[] = {
    F(rv_agent, name), F(rv_agent, guard_first), F(rv_agent, guard_count),
    F(rv_agent, budget_request), F(rv_agent, budget_day), F(rv_agent, func),
    F(rv_agent, fallback_first), F(rv_agent, fallback_count),
    F(rv_agent, retry), F(rv_agent, backoff), F(rv_agent, timeout),
    F(rv_agent, retry_on), F(rv_agent, onfail_first), F(rv_agent, onfail_count),
    F(rv_agent, rule_first), F(rv_agent, rule_count), F(rv_agent, worst_cost),
    F(rv_agent, loc) };
static const rbc_field f_rule[] = {
    F(rv_rule, agent), F(rv_rule, number), F(rv_rule, reason),
    F(rv_rule, otherwise), F(rv_rule, timeout), F(rv_rule, backoff),
    F(rv_rule, retry), F(rv_rule, retry_on), F(rv_rule, loc) };
static const rbc_field f_choice[] = {
    F(rv_choice, kind), F(rv_choice, first), F(rv_choice, count),
    F(rv_choice, where), F(rv_choice, loc) };
static const rbc_field f_cascade[] = {
    F(rv_cascade, first), F(rv_cascade, count), F(rv_cascade, threshold),
    F(rv_cascade, by), F(rv_cascade, judge), F(rv_cascade, check),
    F(rv_cascade, loc) };
static const rbc_field f_arm[] = { F(rv_arm, share), F(rv_arm, target) };
static const rbc_field f_split[] = {
    F(rv_split, first), F(rv_split, count), F(rv_split, loc) };
static const rbc_field f_hook[] = {
    F(rv_hook, url), F(rv_hook, timeout), F(rv_hook, loc) };
static const rbc_field f_func[] = {
    F(rv_func, kind), F(rv_func, start), F(rv_func, end) };
static const rbc_field f_given[] = {
    F(rv_given, kind), F(rv_given, model), F(rv_given, hook),
    F(rv_given, text), F(rv_given, confidence) };
static const rbc_field f_test[] = {
    F(rv_test, name), F(rv_test, agent), F(rv_test, request),
    F(rv_test, given_first), F(rv_test, given_count), F(rv_test, expect),
    F(rv_test, expect_count), F(rv_test, loc) };
static const rbc_field f_loc[] = {
    F(rv_loc, file), F(rv_loc, line), F(rv_loc, col), F(rv_loc, len) };
static const rbc_field f_file[] = { F(rv_file, name), F(rv_file, text) };
static const rbc_field f_mtest[] = {
    F(rv_mtest, key), F(rv_mtest, konst), F(rv_mtest, op), F(rv_mtest, target) };
static const rbc_field f_dispatch[] = {
    F(rv_dispatch, key), F(rv_dispatch, vfirst), F(rv_dispatch, vcount), F(rv_dispatch, cfirst),
    F(rv_dispatch, ccount), F(rv_dispatch, end) };
static const rbc_field f_dvalue[] = { F(rv_dvalue, value), F(rv_dvalue, cls) };
static const rbc_field f_dclass[] = { F(rv_dclass, first), F(rv_dclass, count) };

enum { SEC_STRINGS = 1, SEC_SRCMAP = 23, SEC__COUNT = 30 };

/* A section: its table in rv_program ('arr' and 'cnt' are offsets of the
   array pointer and of its count) and the record layout.  The two special
   sections have no fields. */
typedef struct {
    const char *name;
    size_t arr, cnt, elem;
    const rbc_field *f;
    unsigned nf;
} rbc_section;

#define T(name, arr, cnt, type, flds) \
    { name, offsetof(rv_program, arr), offsetof(rv_program, cnt), \
      sizeof(type), flds, sizeof flds / sizeof flds[0] }
static const rbc_section sections[SEC__COUNT + 1] = {
    [SEC_STRINGS] = { "strings", 0, 0, 0, NULL, 0 },
    [2]  = T("consts", consts, nconst, rv_const, f_const),
    [3]  = T("items", items, nitem, uint32_t, f_u32),
    [4]  = T("regexes", regexes, nregex, rv_regex, f_regex),
    [5]  = T("providers", providers, nprovider, rv_provider, f_provider),
    [6]  = T("models", models, nmodel, rv_model, f_model),
    [7]  = T("gactions", gactions, ngaction, rv_gaction, f_gaction),
    [8]  = T("guards", guards, nguard, rv_guardrail, f_guard),
    [9]  = T("guard_refs", guard_refs, nguard_ref, uint32_t, f_u32),
    [10] = T("targets", targets, ntarget, rv_target, f_target),
    [11] = T("model_refs", model_refs, nmodel_ref, uint32_t, f_u32),
    [12] = T("agents", agents, nagent, rv_agent, f_agent),
    [13] = T("rules", rules, nrule, rv_rule, f_rule),
    [14] = T("choices", choices, nchoice, rv_choice, f_choice),
    [15] = T("cascades", cascades, ncascade, rv_cascade, f_cascade),
    [16] = T("arms", arms, narm, rv_arm, f_arm),
    [17] = T("splits", splits, nsplit, rv_split, f_split),
    [18] = T("hooks", hooks, nhook, rv_hook, f_hook),
    [19] = T("funcs", funcs, nfunc, rv_func, f_func),
    [20] = T("givens", givens, ngiven, rv_given, f_given),
    [21] = T("tests", tests, ntest, rv_test, f_test),
    [22] = T("code", code, ncode, uint32_t, f_u32),
    [SEC_SRCMAP] = { "srcmap", 0, 0, 0, NULL, 0 },
    [24] = T("locs", locs, nloc, rv_loc, f_loc),
    [25] = T("files", files, nfile, rv_file, f_file),
    [26] = T("mtests", mtests, nmtest, rv_mtest, f_mtest),
    [27] = T("dispatches", dispatches, ndispatch, rv_dispatch, f_dispatch),
    [28] = T("dvalues", dvalues, ndvalue, rv_dvalue, f_dvalue),
    [29] = T("dclasses", dclasses, ndclass, rv_dclass, f_dclass),
    [30] = T("dpcs", dpcs, ndpc, uint32_t, f_u32),
};
#undef T

static void **table_arr(const rv_program *p, const rbc_section *s)
{
    return (void **)((char *)p + s->arr);
}

static uint32_t *table_cnt(const rv_program *p, const rbc_section *s)
{
    return (uint32_t *)((char *)p + s->cnt);
}

static size_t record_size(const rbc_section *s)
{
    size_t n = 0;
    for (unsigned i = 0; i < s->nf; i++)
        n += s->f[i].size;
    return n;
}

static uint32_t get_le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static uint32_t align4(uint32_t n) { return (n + 3u) & ~3u; }

/* ================================================================ writer */

typedef struct {
    uint8_t *b;
    size_t len, cap;
    int oom;
} rbc_buf;

static void put_bytes(rbc_buf *w, const void *src, size_t n)
{
    if (w->oom)
        return;
    if (w->cap - w->len < n) {
        size_t ncap = w->cap ? w->cap : 1024;
        while (ncap - w->len < n && ncap < SIZE_MAX / 2)
            ncap *= 2;
        uint8_t *nb = ncap - w->len < n ? NULL : mem_realloc(w->b, ncap);
        if (!nb) {
            w->oom = 1;
            return;
        }
        w->b = nb;
        w->cap = ncap;
    }
    memcpy(w->b + w->len, src, n);
    w->len += n;
}

static void put_le(rbc_buf *w, uint64_t v, unsigned size)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(w, b, size);
}

static void put_u32(rbc_buf *w, uint32_t v) { put_le(w, v, 4); }

static void put_align(rbc_buf *w)
{
    static const uint8_t zero[4];
    put_bytes(w, zero, (4 - w->len % 4) % 4);
}

static void set_le32(rbc_buf *w, size_t at, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        w->b[at + i] = (uint8_t)(v >> (8 * i));
}

/* Reads one field of a record as an unsigned 64-bit pattern. */
static uint64_t field_get(const char *rec, rbc_field f)
{
    uint8_t u8; uint32_t u32; int64_t i64;
    switch (f.size) {
    case 1: memcpy(&u8, rec + f.off, 1); return u8;
    case 4: memcpy(&u32, rec + f.off, 4); return u32;
    default: memcpy(&i64, rec + f.off, 8); return (uint64_t)i64;
    }
}

static void write_table(rbc_buf *w, const rv_program *p, const rbc_section *s)
{
    const char *arr = *table_arr(p, s);
    uint32_t n = *table_cnt(p, s);
    put_u32(w, n);
    for (uint32_t i = 0; i < n; i++)
        for (unsigned k = 0; k < s->nf; k++)
            put_le(w, field_get(arr + (size_t)i * s->elem, s->f[k]), s->f[k].size);
}

static void write_strings(rbc_buf *w, const rv_program *p)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < p->nstr; i++)
        total += p->str_len[i];     /* fits: checked by writable_strings() */
    put_u32(w, p->nstr);
    put_u32(w, total);
    for (uint32_t i = 0; i < p->nstr; i++)
        put_u32(w, p->str_len[i]);
    for (uint32_t i = 0; i < p->nstr; i++)
        put_bytes(w, p->blob + p->str_off[i], p->str_len[i]);
}

static void write_srcmap(rbc_buf *w, const rv_program *p)
{
    uint32_t nrun = 0;
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        nrun += pc == 0 || p->pc_loc[pc] != p->pc_loc[pc - 1];
    put_u32(w, nrun);
    for (uint32_t pc = 0; pc < p->ncode; pc++)
        if (pc == 0 || p->pc_loc[pc] != p->pc_loc[pc - 1]) {
            put_u32(w, pc);
            put_u32(w, p->pc_loc[pc]);
        }
}

/* The writer reads only what the program's counts promise; check the
   promises it depends on so a broken program is an error, not a crash. */
static int writable(const rv_program *p, rv_err *err)
{
    uint64_t total = 0;
    if (p->nstr && (!p->blob || !p->str_off || !p->str_len)) {
        fail(err, "cannot write: string table missing");
        return -1;
    }
    for (uint32_t i = 0; i < p->nstr; i++) {
        uint64_t end = (uint64_t)p->str_off[i] + p->str_len[i];
        if (end >= p->blob_len || p->blob[end] != 0 ||
            memchr(p->blob + p->str_off[i], 0, p->str_len[i])) {
            fail(err, "cannot write: string %u: inconsistent blob layout", i);
            return -1;
        }
        total += p->str_len[i];
    }
    if (total > UINT32_MAX) {
        fail(err, "cannot write: strings exceed 4 GiB");
        return -1;
    }
    if (p->ncode && !p->pc_loc) {
        fail(err, "cannot write: program has no source map");
        return -1;
    }
    for (unsigned id = 1; id <= SEC__COUNT; id++)
        if (sections[id].nf && *table_cnt(p, &sections[id]) &&
            !*table_arr(p, &sections[id])) {
            fail(err, "cannot write: table %s missing", sections[id].name);
            return -1;
        }
    return 0;
}

#define MAX_KEY_FILE (64u << 10)   /* a PEM key is a few hundred bytes */

static EVP_PKEY *read_key(const char *path, int private, rv_err *err)
{
    uint8_t *text;
    size_t len;
    rv_err rerr;
    int r = rbc_read_file(path, MAX_KEY_FILE, &text, &len, &rerr);
    if (r) {
        fail(err, "cannot read key: %s", rerr.msg);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k = !bio ? NULL : private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                                        : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(text, len);     /* a private key's text */
    free(text);
    if (!k) {
        fail(err, "cannot read %s key from '%s' (PEM expected)",
             private ? "private" : "public", path);
        return NULL;
    }
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        fail(err, "key '%s' is not an Ed25519 key", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

int rbc_check_key(const char *path, rv_err *err)
{
    EVP_PKEY *k = read_key(path, 0, err);
    EVP_PKEY_free(k);
    return k ? 0 : -1;
}

static int sign(const char *key_pem, const uint8_t *msg, size_t len,
                uint8_t sig[RBC_SIGLEN], rv_err *err)
{
    EVP_PKEY *k = read_key(key_pem, 1, err);
    if (!k)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = RBC_SIGLEN;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
             siglen == RBC_SIGLEN;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    if (!ok)
        fail(err, "signing with '%s' failed", key_pem);
    return ok ? 0 : -1;
}

static int sha256(const uint8_t *b, size_t n, uint8_t out[RBC_DIGEST])
{
    unsigned int len = 0;
    return EVP_Digest(b, n, out, &len, EVP_sha256(), NULL) == 1 &&
           len == RBC_DIGEST ? 0 : -1;
}

int rbc_write(const rv_program *p, const char *sign_key_pem,
              uint8_t **out, size_t *outlen, rv_err *err)
{
    rbc_buf w = { NULL, 0, 0, 0 };
    uint8_t digest[RBC_DIGEST], sig[RBC_SIGLEN];

    *out = NULL;
    *outlen = 0;
    if (writable(p, err) < 0)
        return -1;
    put_bytes(&w, RBC_MAGIC, 4);
    put_le(&w, RV_FORMAT_MAJOR, 2);
    put_le(&w, RV_FORMAT_MINOR, 2);
    put_u32(&w, sign_key_pem ? RBC_F_SIGNED : 0);
    put_u32(&w, SEC__COUNT);
    for (unsigned i = 0; i < SEC__COUNT * 3; i++)
        put_u32(&w, 0);                 /* section table, filled below */
    for (unsigned id = 1; id <= SEC__COUNT; id++) {
        put_align(&w);
        size_t start = w.len;
        if (id == SEC_STRINGS)
            write_strings(&w, p);
        else if (id == SEC_SRCMAP)
            write_srcmap(&w, p);
        else
            write_table(&w, p, &sections[id]);
        if (w.oom)
            break;
        if (w.len > UINT32_MAX - 4 - RBC_DIGEST - RBC_SIGBLOCK) {
            free(w.b);
            fail(err, "cannot write: program too large for the .rbc format");
            return -1;
        }
        size_t at = RBC_HDR + (id - 1) * RBC_SECT;
        set_le32(&w, at, id);
        set_le32(&w, at + 4, (uint32_t)start);
        set_le32(&w, at + 8, (uint32_t)(w.len - start));
    }
    put_align(&w);
    if (!w.oom) {
        if (sha256(w.b, w.len, digest) < 0) {
            free(w.b);
            fail(err, "SHA-256 failed");
            return -1;
        }
        put_bytes(&w, digest, RBC_DIGEST);
    }
    if (!w.oom && sign_key_pem) {
        if (sign(sign_key_pem, w.b, w.len, sig, err) < 0) {
            free(w.b);
            return -1;
        }
        put_bytes(&w, "SIG1", 4);
        put_u32(&w, RBC_SIGLEN);
        put_bytes(&w, sig, RBC_SIGLEN);
    }
    if (w.oom) {
        free(w.b);
        fail(err, "%s", OOM);
        return -1;
    }
    *out = w.b;
    *outlen = w.len;
    return 0;
}

/* ================================================================ reader */

/* A cursor over one section's payload. */
typedef struct {
    const uint8_t *b;
    size_t left;
} rbc_cur;

static uint64_t take_le(rbc_cur *c, unsigned size)
{
    uint64_t v = 0;
    if (size == 4) {            /* the common widths without a byte loop */
        uint32_t x;
        memcpy(&x, c->b, 4);
        v = le32toh(x);
    } else if (size == 8) {
        memcpy(&v, c->b, 8);
        v = le64toh(v);
    } else {
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)c->b[i] << (8 * i);
    }
    c->b += size;
    c->left -= size;
    return v;
}

static void field_set(char *rec, rbc_field f, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint32_t u32 = (uint32_t)v;
    int64_t i64 = (int64_t)v;
    switch (f.size) {
    case 1: memcpy(rec + f.off, &u8, 1); break;
    case 4: memcpy(rec + f.off, &u32, 4); break;
    default: memcpy(rec + f.off, &i64, 8); break;
    }
}

/* Reads a count and checks that 'count' records of 'rsize' bytes fit in
   what is left. */
static int take_count(rbc_cur *c, const char *name, size_t rsize,
                      uint32_t *count, rv_err *err)
{
    if (c->left < 4) {
        fail(err, "section %s: truncated count", name);
        return -1;
    }
    *count = (uint32_t)take_le(c, 4);
    if ((uint64_t)*count * rsize > c->left) {
        fail(err, "section %s: %u records do not fit in %zu bytes", name,
             *count, c->left);
        return -1;
    }
    return 0;
}

static int read_table(rbc_cur *c, rv_program *p, const rbc_section *s,
                      rv_err *err)
{
    uint32_t n;
    if (take_count(c, s->name, record_size(s), &n, err) < 0)
        return -1;
    char *arr = mem_calloc(n, s->elem);
    if (!arr) {
        fail(err, "%s", OOM);
        return -1;
    }
    *table_arr(p, s) = arr;
    *table_cnt(p, s) = n;
    for (uint32_t i = 0; i < n; i++)
        for (unsigned k = 0; k < s->nf; k++)
            field_set(arr + (size_t)i * s->elem, s->f[k],
                      take_le(c, s->f[k].size));
    return 0;
}

static int read_strings(rbc_cur *c, rv_program *p, rv_err *err)
{
    uint32_t n, nbytes;
    if (take_count(c, "strings", 4, &n, err) < 0)
        return -1;
    if (c->left < 4) {
        fail(err, "section strings: truncated byte count");
        return -1;
    }
    nbytes = (uint32_t)take_le(c, 4);
    if ((uint64_t)n * 4 + nbytes > c->left) {
        fail(err, "section strings: %u strings of %u bytes do not fit in %zu bytes",
             n, nbytes, c->left);
        return -1;
    }
    if ((uint64_t)nbytes + n > UINT32_MAX) {
        fail(err, "section strings: string table too large");
        return -1;
    }
    p->str_off = mem_calloc(n, sizeof *p->str_off);
    p->str_len = mem_calloc(n, sizeof *p->str_len);
    p->blob = mem_malloc((size_t)nbytes + n);
    if (!p->str_off || !p->str_len || !p->blob) {
        fail(err, "%s", OOM);
        return -1;
    }
    p->nstr = n;
    p->blob_len = nbytes + n;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        p->str_len[i] = (uint32_t)take_le(c, 4);
        p->str_off[i] = (uint32_t)(sum + i);
        sum += p->str_len[i];
    }
    if (sum != nbytes) {
        fail(err, "section strings: lengths add up to %llu bytes, not %u",
             (unsigned long long)sum, nbytes);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        char *d = p->blob + p->str_off[i];
        if (memchr(c->b, 0, p->str_len[i])) {
            fail(err, "section strings: string %u contains a NUL byte", i);
            return -1;
        }
        memcpy(d, c->b, p->str_len[i]);
        d[p->str_len[i]] = 0;
        c->b += p->str_len[i];
        c->left -= p->str_len[i];
    }
    return 0;
}

static int read_srcmap(rbc_cur *c, rv_program *p, rv_err *err)
{
    uint32_t n, prev_loc = 0;
    if (take_count(c, "srcmap", 8, &n, err) < 0)
        return -1;
    if ((n == 0) != (p->ncode == 0)) {
        fail(err, "section srcmap: %u runs for %u instructions", n, p->ncode);
        return -1;
    }
    p->pc_loc = mem_calloc(p->ncode, sizeof *p->pc_loc);
    if (!p->pc_loc) {
        fail(err, "%s", OOM);
        return -1;
    }
    uint32_t start = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)take_le(c, 4), loc = (uint32_t)take_le(c, 4);
        if (i == 0 ? s != 0 : s <= start || s >= p->ncode) {
            fail(err, "section srcmap: run %u starts at pc %u (expected %s)",
                 i, s, i == 0 ? "0" : "increasing starts below the code size");
            return -1;
        }
        if (i > 0 && loc == prev_loc) {
            fail(err, "section srcmap: run %u repeats location %u", i, loc);
            return -1;
        }
        for (uint32_t pc = start; i > 0 && pc < s; pc++)
            p->pc_loc[pc] = prev_loc;
        start = s;
        prev_loc = loc;
    }
    for (uint32_t pc = start; n > 0 && pc < p->ncode; pc++)
        p->pc_loc[pc] = prev_loc;
    return 0;
}

/* Header, digest and signature.  Sets '*end' to the offset of the digest. */
static int check_envelope(const uint8_t *buf, size_t len, const char *trust_pem,
                          rv_program *p, size_t *end, rv_err *err)
{
    if (len < RBC_HDR || memcmp(buf, RBC_MAGIC, 4) != 0) {
        fail(err, "not a .rbc file (bad magic)");
        return -1;
    }
    unsigned major = buf[4] | buf[5] << 8, minor = buf[6] | buf[7] << 8;
    if (major != RV_FORMAT_MAJOR) {
        fail(err, "unsupported format version %u.%u (this routevm reads %d.x)",
             major, minor, RV_FORMAT_MAJOR);
        return -1;
    }
    uint32_t flags = get_le32(buf + 8);
    if (flags & ~RBC_F_SIGNED) {
        fail(err, "unknown flags 0x%x in header", flags);
        return -1;
    }
    size_t tail = RBC_DIGEST + (flags & RBC_F_SIGNED ? RBC_SIGBLOCK : 0);
    if (len < RBC_HDR + tail || len > UINT32_MAX) {
        fail(err, "file size %zu is impossible for a .rbc file", len);
        return -1;
    }
    *end = len - tail;
    uint8_t digest[RBC_DIGEST];
    if (sha256(buf, *end, digest) < 0) {
        fail(err, "SHA-256 failed");
        return -1;
    }
    if (memcmp(digest, buf + *end, RBC_DIGEST) != 0) {
        fail(err, "checksum mismatch: file is corrupt or was modified");
        return -1;
    }
    memcpy(p->digest, digest, RBC_DIGEST);
    const uint8_t *sb = buf + *end + RBC_DIGEST;
    if ((flags & RBC_F_SIGNED) &&
        (memcmp(sb, "SIG1", 4) != 0 || get_le32(sb + 4) != RBC_SIGLEN)) {
        fail(err, "malformed signature block");
        return -1;
    }
    if (!trust_pem)
        return 0;
    if (!(flags & RBC_F_SIGNED)) {
        fail(err, "file is not signed");
        return -1;
    }
    EVP_PKEY *k = read_key(trust_pem, 0, err);
    if (!k)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(ctx, sb + 8, RBC_SIGLEN, buf,
                              *end + RBC_DIGEST) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    if (!ok) {
        fail(err, "bad signature");
        return -1;
    }
    p->signed_ok = 1;
    return 0;
}

/* The section table: every id once, in order, laid out canonically before
   'end'.  Fills 'off' and 'size' indexed by id. */
static int check_sections(const uint8_t *buf, size_t end, uint32_t *off,
                          uint32_t *size, rv_err *err)
{
    uint32_t n = get_le32(buf + 12);
    if (n != SEC__COUNT) {
        fail(err, "section table has %u entries, expected %d", n, SEC__COUNT);
        return -1;
    }
    uint64_t pos = RBC_HDR + (uint64_t)n * RBC_SECT;
    if (pos > end) {
        fail(err, "section table runs past the end of the file");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = buf + RBC_HDR + i * RBC_SECT;
        uint32_t id = get_le32(e), o = get_le32(e + 4), sz = get_le32(e + 8);
        if (id == 0 || id > SEC__COUNT) {
            fail(err, "unknown section id %u", id);
            return -1;
        }
        if (id != i + 1) {
            fail(err, "section %s %s", sections[i + 1].name,
                 id < i + 1 ? "out of order or duplicated" : "missing");
            return -1;
        }
        const char *name = sections[id].name;
        if (o % 4) {
            fail(err, "section %s: offset %u is not 4-aligned", name, o);
            return -1;
        }
        if (o < pos) {
            fail(err, "section %s overlaps the header or the previous section", name);
            return -1;
        }
        if ((uint64_t)o + sz > end) {
            fail(err, "section %s: bytes [%u, %llu) outside the file", name, o,
                 (unsigned long long)o + sz);
            return -1;
        }
        if (o != align4((uint32_t)pos)) {
            fail(err, "section %s: unexpected bytes before it", name);
            return -1;
        }
        for (uint64_t k = pos; k < o; k++)
            if (buf[k]) {
                fail(err, "section %s: non-zero padding", name);
                return -1;
            }
        off[id] = o;
        size[id] = sz;
        pos = (uint64_t)o + sz;
    }
    if (align4((uint32_t)pos) != end) {
        fail(err, "unexpected bytes after the last section");
        return -1;
    }
    for (uint64_t k = pos; k < end; k++)
        if (buf[k]) {
            fail(err, "non-zero padding after the last section");
            return -1;
        }
    return 0;
}

static int read_sections(const uint8_t *buf, const uint32_t *off,
                         const uint32_t *size, rv_program *p, rv_err *err)
{
    for (unsigned id = 1; id <= SEC__COUNT; id++) {
        rbc_cur c = { buf + off[id], size[id] };
        int r = id == SEC_STRINGS ? read_strings(&c, p, err)
              : id == SEC_SRCMAP  ? read_srcmap(&c, p, err)
              : read_table(&c, p, &sections[id], err);
        if (r < 0)
            return -1;
        if (c.left) {
            fail(err, "section %s: %zu unexpected trailing bytes",
                 sections[id].name, c.left);
            return -1;
        }
    }
    return 0;
}

rv_program *rbc_load(const uint8_t *buf, size_t len, const char *trust_pem,
                     rv_err *err)
{
    uint32_t off[SEC__COUNT + 1], size[SEC__COUNT + 1];
    size_t end;
    rv_program *p = rv_program_new();
    if (!p) {
        fail(err, "%s", OOM);
        return NULL;
    }
    if (check_envelope(buf, len, trust_pem, p, &end, err) < 0 ||
        check_sections(buf, end, off, size, err) < 0 ||
        read_sections(buf, off, size, p, err) < 0 ||
        ver_program(p, err) < 0) {
        rv_program_free(p);
        return NULL;
    }
    return p;
}

/* Reads all of 'fd' (which it closes unless it is standard input), at
   most 'max' bytes: never more than max + 1 bytes are read, so an endless
   pipe costs nothing beyond the cap. */
static int read_fd(int fd, const char *path, size_t max, uint8_t **out, size_t *len, rv_err *err)
{
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    *out = NULL;
    *len = 0;
    for (;;) {
        if (n == cap) {
            size_t limit = max < SIZE_MAX ? max + 1 : SIZE_MAX;
            size_t ncap = cap ? (cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX) : 65536;
            if (ncap > limit)
                ncap = limit;
            uint8_t *nb = ncap > cap ? mem_realloc(b, ncap) : NULL;
            if (!nb) {
                fail(err, "%s", OOM);
                r = -1;
                break;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fail(err, "cannot read '%s': %s", path, strerror(errno));
            r = -1;
            break;
        }
        n += (size_t)got;
        if (n > max) {
            fail(err, "'%s' is larger than %zu bytes", path, max);
            r = RBC_TOO_LARGE;
            break;
        }
        if (got == 0)
            break;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (r) {
        free(b);
        return r;
    }
    *out = b;
    *len = n;
    return 0;
}

/* Whether 'fd' is a named FIFO (one in the file system), not a pipe a
   shell made (its <(...) is /dev/fd/N, a link to "pipe:[inode]"). */
static int named_fifo(int fd)
{
    char link[64], target[16];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target);
    return !(n >= 5 && !memcmp(target, "pipe:", 5));
}

/* Opens 'path', "-" being standard input.  A named FIFO is opened without
   waiting for a writer, which then has RBC_FIFO_WAIT_MS to come (and
   write or close); the descriptor returned blocks as usual. */
static int open_input(const char *path, rv_err *err)
{
    if (!strcmp(path, "-"))
        return STDIN_FILENO;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        fail(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (!fstat(fd, &st) && S_ISFIFO(st.st_mode) && named_fifo(fd)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;
        while ((r = poll(&p, 1, RBC_FIFO_WAIT_MS)) < 0 && errno == EINTR) {
        }
        if (r <= 0) {
            fail(err, "cannot read '%s': a FIFO that no writer opened within %d s", path, RBC_FIFO_WAIT_MS / 1000);
            close(fd);
            return -1;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
        fail(err, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int rbc_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                  rv_err *err)
{
    *out = NULL;
    *len = 0;
    int fd = open_input(path, err);
    return fd < 0 ? -1 : read_fd(fd, path, max, out, len, err);
}

int rbc_map_file(const char *path, size_t max, rbc_file *f, rv_err *err)
{
    int fd = open_input(path, err);
    struct stat st;
    memset(f, 0, sizeof *f);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > max) {
            if (fd != STDIN_FILENO)
                close(fd);
            fail(err, "'%s' is larger than %zu bytes", path, max);
            return RBC_TOO_LARGE;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) {
            if (fd != STDIN_FILENO)
                close(fd);
            f->buf = p;
            f->len = (size_t)st.st_size;
            f->mapped = 1;
            return 0;
        }
    }
    uint8_t *b;
    int r = read_fd(fd, path, max, &b, &f->len, err);
    if (r)
        return r;
    f->buf = b;
    return 0;
}

void rbc_unmap_file(rbc_file *f)
{
    if (f->mapped)
        munmap((void *)f->buf, f->len);
    else
        free((void *)f->buf);
    memset(f, 0, sizeof *f);
}
