/* .rbc writer and loader: round trip, determinism, signatures, the
   loader's header and section checks (a table of cases with their
   messages), survival of every allocation failure, and the corruption
   sweep -- every byte flipped two ways, with and without the digest
   recomputed, and every truncation -- which must never crash and may only
   yield programs that verify and re-serialize to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "disasm.h"
#include "rbc.h"
#include "sample.h"
#include "verify.h"

static uint8_t *sample;        /* the sample program as written */
static size_t sample_len;
static char tmpdir[] = "/tmp/rbc_testXXXXXX";

static uint8_t *dup_buf(const uint8_t *b, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (!d)
        exit(2);
    memcpy(d, b, n);
    return d;
}

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* Offset of section 'id' in an image. */
static uint32_t sect_off(const uint8_t *b, uint32_t id)
{
    return rd32(b + 16 + (id - 1) * 12 + 4);
}

/* ============================================================= round trip */

static void test_roundtrip(void)
{
    rv_err err;
    uint8_t *b2, *b3;
    size_t n2, n3;
    rv_program *p = sample_program();
    if (rbc_write(p, NULL, &b2, &n2, &err) < 0) {
        failf("roundtrip", "second write: %s", err.msg);
        rv_program_free(p);
        return;
    }
    rv_program_free(p);
    if (n2 != sample_len || memcmp(b2, sample, n2) != 0)
        failf("deterministic", "two writes of the same program differ");
    else
        pass("deterministic", "%zu bytes", n2);
    free(b2);

    rv_program *q = rbc_load(sample, sample_len, NULL, &err);
    if (!q) {
        failf("roundtrip", "load: %s", err.msg);
        return;
    }
    if (rbc_write(q, NULL, &b3, &n3, &err) < 0) {
        failf("roundtrip", "rewrite: %s", err.msg);
    } else if (n3 != sample_len || memcmp(b3, sample, n3) != 0) {
        failf("roundtrip", "write(load(write(p))) differs from write(p)");
    } else if (q->max_stack != 3 || q->signed_ok) {
        failf("roundtrip", "max_stack %u signed_ok %d", q->max_stack, q->signed_ok);
    } else {
        pass("roundtrip", NULL);
    }
    free(b3);
    rv_program_free(q);
}

/* ============================================================= signatures */

static int write_keypair(const char *priv, const char *pub)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f1 = fopen(priv, "w"), *f2 = fopen(pub, "w");
    int ok = k && f1 && f2 && PEM_write_PrivateKey(f1, k, NULL, NULL, 0, NULL, NULL) &&
             PEM_write_PUBKEY(f2, k);
    if (f1) fclose(f1);
    if (f2) fclose(f2);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* Loads 'b' with 'trust' and checks for success or for 'msg'. */
static void expect_load(const char *name, const uint8_t *b, size_t n,
                        const char *trust, const char *msg)
{
    rv_err err = { "" };
    rv_program *p = rbc_load(b, n, trust, &err);
    if (!msg && !p)
        failf(name, "rejected: %s", err.msg);
    else if (!msg && trust && !p->signed_ok)
        failf(name, "loaded but signed_ok not set");
    else if (msg && p)
        failf(name, "accepted, expected \"%s\"", msg);
    else if (msg && !strstr(err.msg, msg))
        failf(name, "got \"%s\", expected \"%s\"", err.msg, msg);
    else
        pass(name, NULL);
    rv_program_free(p);
}

static void test_signatures(void)
{
    char priv[64], pub[64], pub2[64], priv2[64];
    rv_err err;
    uint8_t *b;
    size_t n;
    snprintf(priv, sizeof priv, "%s/key.pem", tmpdir);
    snprintf(pub, sizeof pub, "%s/pub.pem", tmpdir);
    snprintf(priv2, sizeof priv2, "%s/key2.pem", tmpdir);
    snprintf(pub2, sizeof pub2, "%s/pub2.pem", tmpdir);
    if (write_keypair(priv, pub) < 0 || write_keypair(priv2, pub2) < 0) {
        failf("sign keygen", "cannot generate Ed25519 keys");
        return;
    }
    rv_program *p = sample_program();
    int r = rbc_write(p, priv, &b, &n, &err);
    rv_program_free(p);
    if (r < 0) {
        failf("sign write", "%s", err.msg);
        return;
    }
    pass("sign write", "%zu bytes", n);
    expect_load("sign trusted", b, n, pub, NULL);
    expect_load("sign untrusted load", b, n, NULL, NULL);
    expect_load("sign wrong key", b, n, pub2, "bad signature");

    uint8_t *t = dup_buf(b, n);
    t[sect_off(t, 6) + 9] ^= 1;                     /* a model's field */
    expect_load("sign tampered", t, n, pub, "checksum mismatch");
    memcpy(t, b, n);
    t[sect_off(t, 6) + 9] ^= 1;                     /* same, digest redone */
    unsigned int dl;
    EVP_Digest(t, n - 32 - 72, t + n - 32 - 72, &dl, EVP_sha256(), NULL);
    expect_load("sign tampered, digest redone", t, n, pub, "bad signature");
    memcpy(t, b, n);
    t[n - 1] ^= 0x80;                               /* the signature itself */
    expect_load("sign bad signature bytes", t, n, pub, "bad signature");
    memcpy(t, b, n);
    memcpy(t + n - 72, "SIG2", 4);
    expect_load("sign malformed block", t, n, NULL, "malformed signature block");
    expect_load("sign trust key is private", b, n, priv, "cannot read public key");
    free(t);
    char missing[80];
    snprintf(missing, sizeof missing, "%s/nonexistent.pem", tmpdir);
    expect_load("sign missing key file", b, n, missing, "cannot read key: cannot open");
    free(b);

    expect_load("sign unsigned rejected", sample, sample_len, pub, "file is not signed");
    p = sample_program();
    r = rbc_write(p, pub, &b, &n, &err);          /* a public key cannot sign */
    rv_program_free(p);
    if (r == 0 || !strstr(err.msg, "cannot read private key")) {
        failf("sign with public key", "got %d \"%s\"", r, r ? err.msg : "");
        free(b);
    } else {
        pass("sign with public key", NULL);
    }
}

/* ===================================================== loader rejections */

typedef struct {
    const char *name;
    void (*mutate)(uint8_t *b, size_t *n);
    int fix_digest;
    const char *msg;
} load_case;

static void m_magic(uint8_t *b, size_t *n)     { (void)n; b[1] = 'X'; }
static void m_major(uint8_t *b, size_t *n)     { (void)n; b[4] = RV_FORMAT_MAJOR + 1; b[6] = 3; }
static void m_minor(uint8_t *b, size_t *n)     { (void)n; b[6] = 7; }
static void m_flags(uint8_t *b, size_t *n)     { (void)n; b[8] = 4; }
static void m_digest(uint8_t *b, size_t *n)    { b[*n - 1] ^= 1; }
static void m_short(uint8_t *b, size_t *n)     { (void)b; *n = 20; }
static void m_nsect(uint8_t *b, size_t *n)     { (void)n; wr32(b + 12, 24); }
static void m_badid(uint8_t *b, size_t *n)     { (void)n; wr32(b + 16 + 3 * 12, 99); }
static void m_dupid(uint8_t *b, size_t *n)     { (void)n; wr32(b + 16 + 3 * 12, 3); }
static void m_skipid(uint8_t *b, size_t *n)    { (void)n; wr32(b + 16 + 3 * 12, 6); }
static void m_misalign(uint8_t *b, size_t *n)  { (void)n; wr32(b + 16 + 12 + 4, sect_off(b, 2) + 1); }
static void m_overlap(uint8_t *b, size_t *n)   { (void)n; wr32(b + 16 + 12 + 4, sect_off(b, 2) - 4); }
static void m_gap(uint8_t *b, size_t *n)       { (void)n; wr32(b + 16 + 12 + 4, sect_off(b, 2) + 4); }
static void m_oob(uint8_t *b, size_t *n)       { wr32(b + 16 + 24 * 12 + 8, (uint32_t)*n); }
static void m_count(uint8_t *b, size_t *n)     { (void)n; wr32(b + sect_off(b, 2), 0xffffffffu); }
static void m_strsum(uint8_t *b, size_t *n)    { (void)n; wr32(b + sect_off(b, 1) + 8, 14); }
static void m_strnul(uint8_t *b, size_t *n)
{
    (void)n;
    uint32_t o = sect_off(b, 1), ns = rd32(b + o);
    b[o + 8 + 4 * ns] = 0;          /* first byte of the first string */
}
static void m_trailing(uint8_t *b, size_t *n)
{
    /* grow the last section by 4 zero bytes over the final padding: the
       digest moves, so rebuild the tail */
    uint32_t e = 16 + (rd32(b + 12) - 1) * 12;
    wr32(b + e + 8, rd32(b + e + 8) + 4);
    memmove(b + *n - 32 + 4, b + *n - 32, 32);
    memset(b + *n - 32, 0, 4);
    *n += 4;
}
static void m_srcmap(uint8_t *b, size_t *n)
{
    (void)n;
    uint32_t o = sect_off(b, 23);
    wr32(b + o + 4, 1);             /* first run must start at pc 0 */
}
static void m_srcrepeat(uint8_t *b, size_t *n)
{
    (void)n;
    uint32_t o = sect_off(b, 23);
    wr32(b + o + 4 + 8 + 4, rd32(b + o + 4 + 4));  /* run 1 repeats run 0's loc */
}
static void m_verify(uint8_t *b, size_t *n)
{
    (void)n;
    b[sect_off(b, 22) + 4] = 0xee;  /* first opcode */
}

static const load_case load_cases[] = {
    { "load bad magic", m_magic, 0, "not a .rbc file (bad magic)" },
    { "load version", m_major, 1, "unsupported format version 4.3 (this routevm reads 3.x)" },
    { "load newer minor", m_minor, 1, NULL },
    { "load unknown flags", m_flags, 1, "unknown flags 0x4" },
    { "load checksum", m_digest, 0, "checksum mismatch: file is corrupt or was modified" },
    { "load too short", m_short, 0, "impossible for a .rbc file" },
    { "load section count", m_nsect, 1, "section table has 24 entries" },
    { "load unknown section", m_badid, 1, "unknown section id 99" },
    { "load duplicate section", m_dupid, 1, "out of order or duplicated" },
    { "load missing section", m_skipid, 1, "section regexes missing" },
    { "load misaligned section", m_misalign, 1, "not 4-aligned" },
    { "load overlapping section", m_overlap, 1, "overlaps" },
    { "load gap before section", m_gap, 1, "unexpected bytes before it" },
    { "load section out of bounds", m_oob, 1, "outside the file" },
    { "load count too large", m_count, 1, "records do not fit" },
    { "load string lengths", m_strsum, 1, "lengths add up to" },
    { "load string with NUL", m_strnul, 1, "contains a NUL byte" },
    { "load trailing bytes", m_trailing, 1, "unexpected trailing bytes" },
    { "load srcmap start", m_srcmap, 1, "run 0 starts at pc 1" },
    { "load srcmap repeat", m_srcrepeat, 1, "repeats location" },
    { "load runs the verifier", m_verify, 1, "verify: code[0]: unknown opcode 238" },
};

static void test_load_cases(void)
{
    for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++) {
        const load_case *c = &load_cases[i];
        size_t n = sample_len;
        uint8_t *b = malloc(sample_len + 64);
        if (!b)
            exit(2);
        memcpy(b, sample, sample_len);
        c->mutate(b, &n);
        if (c->fix_digest)
            sample_fix_digest(b, n);
        expect_load(c->name, b, n, NULL, c->msg);
        free(b);
    }
}

/* ===================================================== allocation failure */

static void test_oom(void)
{
    rv_err err;
    long n;
    int bad = 0;
    for (n = 0; !bad; n++) {
        mem_fail_after(n);
        rv_program *p = rbc_load(sample, sample_len, NULL, &err);
        mem_fail_after(-1);
        if (p) {
            rv_program_free(p);
            break;
        }
        if (strcmp(err.msg, "out of memory") != 0) {
            failf("oom load", "failure %ld: \"%s\"", n, err.msg);
            bad = 1;
        }
    }
    if (!bad)
        pass("oom load", "%ld allocation points survived", n);

    rv_program *p = sample_program();
    bad = 0;
    for (n = 0; !bad; n++) {
        uint8_t *b;
        size_t len;
        mem_fail_after(n);
        int r = rbc_write(p, NULL, &b, &len, &err);
        mem_fail_after(-1);
        if (r == 0) {
            free(b);
            break;
        }
        if (strcmp(err.msg, "out of memory") != 0) {
            failf("oom write", "failure %ld: \"%s\"", n, err.msg);
            bad = 1;
        }
    }
    if (!bad)
        pass("oom write", "%ld allocation points survived", n);
    bad = 0;
    for (n = 0; !bad; n++) {
        mem_fail_after(n);
        int r = ver_program(p, &err);
        mem_fail_after(-1);
        if (r == 0)
            break;
        if (strcmp(err.msg, "out of memory") != 0) {
            failf("oom verify", "failure %ld: \"%s\"", n, err.msg);
            bad = 1;
        }
    }
    if (!bad)
        pass("oom verify", "%ld allocation points survived", n);
    rv_program_free(p);
}

/* ============================================================= read file */

static void test_read_file(void)
{
    char path[80];
    rv_err err;
    uint8_t *b;
    size_t n;
    snprintf(path, sizeof path, "%s/sample.rbc", tmpdir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(sample, 1, sample_len, f) != sample_len) {
        failf("read file", "cannot write %s", path);
        if (f) fclose(f);
        return;
    }
    fclose(f);
    if (rbc_read_file(path, sample_len, &b, &n, &err) < 0)
        failf("read file", "%s", err.msg);
    else if (n != sample_len || memcmp(b, sample, n) != 0)
        failf("read file", "contents differ");
    else
        pass("read file", NULL);
    free(b);
    if (rbc_read_file(path, sample_len - 1, &b, &n, &err) == 0 || !strstr(err.msg, "larger than"))
        failf("read file cap", "accepted or \"%s\"", err.msg);
    else
        pass("read file cap", NULL);
    snprintf(path, sizeof path, "%s/missing.rbc", tmpdir);
    if (rbc_read_file(path, 1 << 20, &b, &n, &err) == 0 || !strstr(err.msg, "cannot open"))
        failf("read file missing", "accepted or \"%s\"", err.msg);
    else
        pass("read file missing", NULL);
}

/* ============================================================= corruption */

/* Loads a damaged image.  Returns 1 if rejected, 0 if accepted; an
   accepted program must verify again, print, and re-serialize to the same
   bytes (the format is canonical, except that any minor version of the
   major one this build reads loads). */
static int try_load(const char *name, const uint8_t *b, size_t n, FILE *devnull)
{
    rv_err err;
    rv_program *p = rbc_load(b, n, NULL, &err);
    if (!p)
        return 1;
    uint8_t *w;
    size_t wn;
    if (ver_program(p, &err) < 0)
        failf(name, "accepted program fails verification: %s", err.msg);
    dis_program(p, devnull);
    if (rbc_write(p, NULL, &w, &wn, &err) < 0) {
        failf(name, "accepted program cannot be written: %s", err.msg);
    } else {
        if (wn >= 8 && n >= 8 && memcmp(w + 6, b + 6, 2) != 0) {
            memcpy(w + 6, b + 6, 2);    /* any minor version loads */
            sample_fix_digest(w, wn);
        }
        if (wn != n || memcmp(w, b, n) != 0)
            failf(name, "accepted image is not canonical (%zu bytes, rewritten %zu)", n, wn);
        free(w);
    }
    rv_program_free(p);
    return 0;
}

static void test_corruption(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    uint8_t *b = dup_buf(sample, sample_len);
    static const char *const names[4] = {
        "corrupt xor", "corrupt +1", "corrupt xor, digest redone", "corrupt +1, digest redone" };
    if (!devnull)
        exit(2);
    for (int mode = 0; mode < 4; mode++) {
        size_t rejected = 0, before = (size_t)test_failures;
        for (size_t i = 0; i < sample_len; i++) {
            memcpy(b, sample, sample_len);
            b[i] = mode & 1 ? (uint8_t)(b[i] + 1) : b[i] ^ 0xff;
            if (mode >= 2)
                sample_fix_digest(b, sample_len);
            rejected += (size_t)try_load(names[mode], b, sample_len, devnull);
        }
        if (mode < 2 && rejected != sample_len)
            failf(names[mode], "only %zu of %zu rejected", rejected, sample_len);
        else if ((size_t)test_failures == before)
            pass(names[mode], "%zu of %zu rejected", rejected, sample_len);
    }
    for (int fix = 0; fix < 2; fix++) {
        const char *name = fix ? "truncate, digest redone" : "truncate";
        size_t rejected = 0, before = (size_t)test_failures;
        for (size_t n = 0; n < sample_len; n++) {
            uint8_t *t = dup_buf(sample, n);  /* exact size: ASan sees overreads */
            if (fix)
                sample_fix_digest(t, n);
            rejected += (size_t)try_load(name, t, n, devnull);
            free(t);
        }
        if (rejected != sample_len)
            failf(name, "only %zu of %zu rejected", rejected, sample_len);
        else if ((size_t)test_failures == before)
            pass(name, "%zu of %zu rejected", rejected, sample_len);
    }
    free(b);
    fclose(devnull);
}

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    rv_err err;
    if (!mkdtemp(tmpdir)) {
        printf("FAIL rbc setup: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    rv_program *p = sample_program();
    if (ver_program(p, &err) < 0) {
        printf("FAIL sample verifies: %s\n", err.msg);
        return 1;
    }
    pass("sample verifies", "max stack %u", p->max_stack);
    if (rbc_write(p, NULL, &sample, &sample_len, &err) < 0) {
        printf("FAIL write: %s\n", err.msg);
        return 1;
    }
    rv_program_free(p);
    pass("write", "%zu bytes", sample_len);
    if (getenv("RBC_SAMPLE_OUT")) {     /* seeds the fuzz corpus */
        FILE *f = fopen(getenv("RBC_SAMPLE_OUT"), "wb");
        if (f) {
            fwrite(sample, 1, sample_len, f);
            fclose(f);
        }
    }
    test_roundtrip();
    test_signatures();
    test_load_cases();
    test_oom();
    test_read_file();
    test_corruption();
    free(sample);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "rbc_test: could not remove %s\n", tmpdir);
    return test_failures ? 1 : 0;
}
