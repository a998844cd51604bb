/* The text measures of vm/builtins.c against tables of cases: tokens() on
   short strings (exact or a range) and, through tests/builtins/cl100k.txt,
   on longer texts against the counts of the real cl100k tokenizer; lang()
   on one paragraph per language in tests/builtins/lang/ (named by the
   expected code) and on texts too short to tell; djb2 against values
   computed in Python; len() on multibyte and invalid text;
   bi_utf8_invalid() on tests/builtins/utf8.cases at every offset and
   against a byte-at-a-time reader on random texts.  Every text is
   copied into a heap buffer of its exact size so the sanitizers see any
   read past its end.  Ends with two INFO lines: tokens() throughput and
   the time of one lang() on 16 KB.
   Usage: builtins_test REPO_ROOT */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builtins.h"
#include "mem.h"

static int failures;

#define PASS(name) printf("PASS %s\n", name)
#define FAIL(name, ...) \
    (failures++, printf("FAIL %s: ", name), printf(__VA_ARGS__), putchar('\n'))

/* An exact-size heap copy of s[0..n) (never NUL-terminated). */
static char *copy(const char *s, size_t n)
{
    char *p = mem_malloc(n);
    if (!p)
        exit(2);
    memcpy(p, s, n);
    return p;
}

/* The contents of 'path' in a heap buffer, its length in '*n'; NULL if
   it cannot be read. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (MEM_GROW(buf, len, cap))
            exit(2);
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    *n = len;
    return buf;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* tokens()                                                            */
/* ------------------------------------------------------------------ */

/* (name, text, lo, hi): tokens() must be within [lo, hi].  Where cl100k's
   count is known it is inside the range. */
#define TOKEN_CASES(X) \
    X("empty", "", 0, 0) \
    X("blank", "  \n\t \r\n", 0, 0) \
    X("hello", "Hello, world!", 4, 4)                       /* cl100k 4 */ \
    X("sentence", "The quick brown fox jumps over the lazy dog.", 10, 10) /* 10 */ \
    X("long_word", "internationalization", 2, 3)            /* cl100k 2 */ \
    X("digits", "1234567", 3, 3)                            /* 123 456 7 */ \
    X("number", "12,345.67", 5, 5) \
    X("code", "if (x->next) { y = x; }", 9, 12) \
    X("arrow_op", "a->b", 3, 3) \
    X("cjk", "日本語のテキスト", 8, 8) \
    X("hangul", "한국어", 3, 4)                              /* cl100k 4 */ \
    X("accented", "Größe", 2, 2)                            /* cl100k 2 */ \
    X("cafe", "café", 1, 2)                                 /* cl100k 2 */ \
    X("cyrillic", "привет", 3, 4)                           /* cl100k 4 */ \
    X("greek", "γεια", 4, 4) \
    X("emoji", "🎉", 2, 3)                                  /* cl100k 3 */ \
    X("emoji_text", "ok 👍", 3, 4) \
    X("symbols", "€ → ©", 3, 3)                             /* cl100k 1 each */ \
    X("invalid_byte", "\xff", 1, 1) \
    X("invalid_bytes", "a\xff\xfe" "b", 4, 4) \
    X("truncated_2", "\xc3", 1, 1) \
    X("truncated_3", "\xe6\x97", 2, 2) \
    X("truncated_4", "\xf0\x9f\x8e", 3, 3) \
    X("surrogate", "ab\xed\xa0\x80", 4, 4) \
    X("overlong", "\xc0\xaf", 2, 2) \
    X("above_max", "\xf4\x90\x80\x80", 4, 4) \
    X("lone_continuation", "\x80\x80", 2, 2)

static void test_token_cases(void)
{
    static const struct { const char *name, *text; int64_t lo, hi; } cases[] = {
#define X(name, text, lo, hi) { "tokens_" name, text, lo, hi },
        TOKEN_CASES(X)
#undef X
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].text);
        char *s = copy(cases[i].text, n);
        int64_t t = bi_tokens(s, n);
        if (t < cases[i].lo || t > cases[i].hi)
            FAIL(cases[i].name, "tokens() = %lld, want [%lld, %lld]", (long long)t,
                 (long long)cases[i].lo, (long long)cases[i].hi);
        else
            PASS(cases[i].name);
        free(s);
    }
}

/* tokens() never exceeds the bytes (builtins.h; the guardrails' token
   limits skip counting texts no longer than the limit in bytes): every
   token case, then random strings built from pieces of every class --
   ASCII letters, digits, spaces, punctuation and controls, accented and
   other letters, CJK, symbols and emoji, invalid and truncated UTF-8. */
static void test_tokens_bound(void)
{
    static const char *const pieces[] = {
        "a", "Z", "7", " ", "\t", ".", "}", "\x01", "\x7f", "\xc3\xa9", "\xd0\x96", "\xce\xb1", "\xe4\xb8\xad",
        "\xe3\x81\x82", "\xc2\xa9", "\xe2\x82\xac", "\xef\xbf\xbd", "\xf0\x9f\x98\x80", "\xf3\xa0\x80\x81",
        "\xf4\x8f\xbf\xbf", "\x80", "\xc0", "\xe4\xb8", "\xff", "\xc2\xa0", "\xe2\x80\x8b",
    };
    const size_t np = sizeof pieces / sizeof *pieces;
    static const struct { const char *text; } cases[] = {
#define X(name, text, lo, hi) { text },
        TOKEN_CASES(X)
#undef X
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].text);
        if (bi_tokens(cases[i].text, n) > (int64_t)n) {
            FAIL("tokens_at_most_bytes", "case %zu: %lld tokens for %zu bytes", i,
                 (long long)bi_tokens(cases[i].text, n), n);
            return;
        }
    }
    uint64_t r = 0x243f6a8885a308d3ull;
    char buf[256];
    for (int k = 0; k < 200000; k++) {
        size_t n = 0;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t count = (size_t)(r % 40);
        for (size_t j = 0; j < count; j++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            const char *pc = pieces[r % np];
            size_t pl = strlen(pc);
            memcpy(buf + n, pc, pl);
            n += pl;
        }
        int64_t t = bi_tokens(buf, n);
        if (t > (int64_t)n) {
            FAIL("tokens_at_most_bytes", "%lld tokens for %zu random bytes", (long long)t, n);
            return;
        }
    }
    PASS("tokens_at_most_bytes");
}

/* Every line "path tokens tolerance%" of tests/builtins/cl100k.txt. */
static void test_cl100k(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/builtins/cl100k.txt", root);
    FILE *f = fopen(path, "r");
    if (!f) {
        FAIL("tokens_cl100k", "cannot open %s", path);
        return;
    }
    char line[1024], file[512];
    long want, tol;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%511s %ld %ld", file, &want, &tol) != 3)
            continue;
        char name[600];
        snprintf(name, sizeof name, "tokens_cl100k %s", file);
        snprintf(path, sizeof path, "%s/tests/builtins/%s", root, file);
        size_t n;
        char *s = slurp(path, &n);
        if (!s) {
            FAIL(name, "cannot read %s", path);
            continue;
        }
        int64_t t = bi_tokens(s, n);
        double err = 100.0 * (double)(t - want) / (double)want;
        if (err > tol || err < -tol)
            FAIL(name, "tokens() = %lld, cl100k %ld (%+.0f%%, tolerance %ld%%)",
                 (long long)t, want, err, tol);
        else
            PASS(name);
        free(s);
    }
    fclose(f);
}

/* ------------------------------------------------------------------ */
/* len() and djb2                                                      */
/* ------------------------------------------------------------------ */

static void test_len(void)
{
    static const struct { const char *name, *text; int64_t want; } cases[] = {
        { "len_empty", "", 0 },
        { "len_ascii", "abc", 3 },
        { "len_latin", "Größe", 5 },
        { "len_cjk", "日本語", 3 },
        { "len_emoji", "🎉!", 2 },
        { "len_invalid", "\xff\xfe", 2 },
        { "len_truncated", "a\xe6\x97", 3 },
        { "len_surrogate", "\xed\xa0\x80", 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].text);
        char *s = copy(cases[i].text, n);
        int64_t got = bi_len(s, n);
        if (got != cases[i].want)
            FAIL(cases[i].name, "len() = %lld, want %lld", (long long)got, (long long)cases[i].want);
        else
            PASS(cases[i].name);
        free(s);
    }
}

static void test_djb2(void)
{
    /* h = h*33 + byte from 5381 mod 2^32, computed in Python */
    static const struct { const char *text; uint32_t hash; int64_t bucket; } cases[] = {
        { "", 5381u, 81 },
        { "a", 177670u, 70 },
        { "user-42", 1170314839u, 39 },
        { "user-43", 1170314840u, 40 },
        { "alice@example.com", 2685055580u, 80 },
        { "Größe", 1967282238u, 38 },
        { "日本語", 3052633221u, 21 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[64];
        snprintf(name, sizeof name, "djb2 \"%s\"", cases[i].text);
        size_t n = strlen(cases[i].text);
        uint32_t h = bi_djb2(cases[i].text, n);
        int64_t b = bi_bucket(cases[i].text, n);
        if (h != cases[i].hash || b != cases[i].bucket)
            FAIL(name, "hash %u bucket %lld, want %u bucket %lld", h, (long long)b,
                 cases[i].hash, (long long)cases[i].bucket);
        else
            PASS(name);
    }
}

/* number() and numbers(): each text's numbers, in order, as value
   (millionths) and span; ok 0 for a whole part that does not fit. */
static void test_numbers(void)
{
    static const struct { const char *text; int n; int64_t v[4]; int ok[4]; size_t start[4], end[4]; } cases[] = {
        { "no digits", 0, { 0 }, { 0 }, { 0 }, { 0 } },
        { "#### 18", 1, { 18000000 }, { 1 }, { 5 }, { 7 } },
        { "1,234.5 and -3", 2, { 1234500000, -3000000 }, { 1, 1 }, { 0, 12 }, { 7, 14 } },
        { "3-4", 2, { 3000000, 4000000 }, { 1, 1 }, { 0, 2 }, { 1, 3 } },
        { "$12.", 1, { 12000000 }, { 1 }, { 1 }, { 3 } },
        { "1,23 1,2345", 4, { 1000000, 23000000, 1000000, 2345000000 }, { 1, 1, 1, 1 }, { 0, 2, 5, 7 }, { 1, 4, 6, 11 } },
        { "0.1234567", 1, { 123456 }, { 1 }, { 0 }, { 9 } },
        { "x-5 a1", 2, { 5000000, 1000000 }, { 1, 1 }, { 2, 5 }, { 3, 6 } },
        { "99999999999999999999 7", 2, { 0, 7000000 }, { 0, 1 }, { 0, 21 }, { 20, 22 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[80];
        snprintf(name, sizeof name, "numbers \"%s\"", cases[i].text);
        const char *t = cases[i].text;
        size_t pos = 0, st, en;
        int64_t v;
        int ok, k = 0, bad = 0;
        while (bi_next_number(t, strlen(t), &pos, &v, &ok, &st, &en)) {
            if (k >= cases[i].n || ok != cases[i].ok[k] || (ok && v != cases[i].v[k]) || st != cases[i].start[k] ||
                en != cases[i].end[k]) {
                FAIL(name, "number %d: value %lld ok %d span [%zu, %zu)", k, (long long)v, ok, st, en);
                bad = 1;
                break;
            }
            k++;
        }
        if (!bad && k != cases[i].n)
            FAIL(name, "%d numbers, want %d", k, cases[i].n);
        else if (!bad)
            PASS(name);
    }
}

/* decimal(): exact decimals in millionths, or missing (-1) */
static void test_decimal(void)
{
    static const struct { const char *text; int ok; int64_t want; } cases[] = {
        { "2", 1, 2000000 }, { "-0.25", 1, -250000 }, { "+7", 1, 7000000 }, { "1.5e3", 1, 1500000000 },
        { "1E-6", 1, 1 }, { "0.000001", 1, 1 }, { "12.50", 1, 12500000 }, { "0", 1, 0 }, { "-0", 1, 0 },
        { "9223372036854.775807", 1, INT64_MAX }, { "0e-999999", 1, 0 }, { "100e-2", 1, 1000000 },
        { "0.0000001", 0, 0 }, { "1e-7", 0, 0 }, { "9223372036855", 0, 0 }, { "1e13", 0, 0 },
        { "99999999999999999999999999999999999999", 0, 0 }, { "", 0, 0 }, { "-", 0, 0 }, { ".", 0, 0 },
        { "2x", 0, 0 }, { " 2", 0, 0 }, { "2 ", 0, 0 }, { "1e", 0, 0 }, { "1e+", 0, 0 }, { "0x10", 0, 0 },
        { "1.2.3", 0, 0 }, { "three", 0, 0 }, { "NaN", 0, 0 }, { "inf", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[80];
        snprintf(name, sizeof name, "decimal \"%s\"", cases[i].text);
        int64_t v = -42;
        int r = bi_decimal(cases[i].text, strlen(cases[i].text), &v);
        if ((r == 0) != cases[i].ok || (cases[i].ok && v != cases[i].want))
            FAIL(name, "got %d, %lld; want %s %lld", r, (long long)v, cases[i].ok ? "a number" : "none",
                 (long long)cases[i].want);
        else
            PASS(name);
    }
}

/* ------------------------------------------------------------------ */
/* lang()                                                              */
/* ------------------------------------------------------------------ */

static void expect_lang(bi_langdet *d, const char *name, const char *s, size_t n, const char *want)
{
    char out[4] = "?";
    bi_lang(d, s, n, out);
    if (strcmp(out, want) != 0)
        FAIL(name, "lang() = \"%s\", want \"%s\"", out, want);
    else
        PASS(name);
}

/* Each tests/builtins/lang/XX.txt must come out as "XX". */
static void test_lang_files(bi_langdet *d, const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/builtins/lang", root);
    DIR *dp = opendir(dir);
    if (!dp) {
        FAIL("lang_files", "cannot open %s", dir);
        return;
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".txt") != 0 || dot - e->d_name >= 4)
            continue;
        char want[4] = { 0 }, name[64], path[4400];
        memcpy(want, e->d_name, (size_t)(dot - e->d_name));
        snprintf(name, sizeof name, "lang_%s", want);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n;
        char *s = slurp(path, &n);
        if (!s) {
            FAIL(name, "cannot read %s", path);
            continue;
        }
        expect_lang(d, name, s, n, want);
        free(s);
        count++;
    }
    closedir(dp);
    if (count < 20)
        FAIL("lang_files", "%d paragraphs, want at least 20", count);
    else
        PASS("lang_files");
}

static void test_lang_short(bi_langdet *d)
{
    static const struct { const char *name, *text; } cases[] = {
        { "lang_short_empty", "" },
        { "lang_short_word", "hello" },
        { "lang_short_phrase", "ok thanks" },
        { "lang_short_digits", "12345 67890 !!! ???" },
        { "lang_short_cjk", "日本" },
        { "lang_short_invalid", "\xff\xfe\xfd" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].text);
        char *s = copy(cases[i].text, n);
        expect_lang(d, cases[i].name, s, n, "");
        free(s);
    }
}

/* A 16 KB text made of copies of the paragraph in 'file', cut anywhere
   (possibly inside a code point). */
static char *repeat_file(const char *root, const char *file, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/builtins/%s", root, file);
    size_t n;
    char *para = slurp(path, &n);
    if (!para || n == 0)
        exit(2);
    char *s = mem_malloc(size);
    if (!s)
        exit(2);
    for (size_t i = 0; i < size; i++)
        s[i] = para[i % n];
    free(para);
    return s;
}

/* The cache must not answer for a different text at the same address,
   and a long text is judged by a sample cut on a code-point boundary. */
static void test_lang_cache(bi_langdet *d, const char *root)
{
    enum { N = 16384 };
    char *de = repeat_file(root, "lang/de.txt", N);
    char *ru = repeat_file(root, "lang/ru.txt", N);
    char *buf = copy(de, N);
    expect_lang(d, "lang_long_de", buf, N, "de");
    expect_lang(d, "lang_cached_de", buf, N, "de");
    memcpy(buf, ru, N);
    expect_lang(d, "lang_reused_address", buf, N, "ru");
    free(buf);
    free(de);
    free(ru);

    char out[4] = "?";
    bi_lang(NULL, "Der schnelle braune Fuchs", 25, out);
    if (out[0])
        FAIL("lang_no_detector", "lang() = \"%s\", want \"\"", out);
    else
        PASS("lang_no_detector");
}

static void test_lang_oom(void)
{
    mem_fail_after(0);
    bi_langdet *d = bi_lang_new();
    mem_fail_after(-1);
    if (d) {
        FAIL("lang_new_oom", "bi_lang_new() succeeded without memory");
        bi_lang_free(d);
    } else {
        PASS("lang_new_oom");
    }
    bi_lang_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Timing (information only)                                           */
/* ------------------------------------------------------------------ */

static void measure(bi_langdet *d, const char *root)
{
    enum { N = 16384, ROUNDS = 2000 };
    static const char *files[] = { "tokens/prose_en.txt", "tokens/code_c.c.txt", "lang/ja.txt", "lang/ru.txt" };
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char *s = repeat_file(root, files[f], N);
        int64_t sum = 0;
        double t0 = now_ns();
        for (int r = 0; r < ROUNDS; r++)
            sum += bi_tokens(s, N - (size_t)(r & 1));   /* defeat hoisting */
        double ns = now_ns() - t0;
        printf("INFO tokens() on 16 KB of %s: %.2f bytes/ns (%.1f us per call, %lld tokens)\n",
               files[f], (double)N * ROUNDS / ns, ns / ROUNDS / 1e3, (long long)(sum / ROUNDS));
        free(s);
    }

    char *a = repeat_file(root, "tokens/prose_en.txt", N);
    char *b = repeat_file(root, "lang/de.txt", N);
    char out[4];
    double t0 = now_ns();
    for (int r = 0; r < 50; r++)    /* alternate texts: no cache hits */
        bi_lang(d, r & 1 ? b : a, N, out);
    double ns = now_ns() - t0;
    printf("INFO lang() on 16 KB: %.0f us per call\n", ns / 50 / 1e3);
    free(a);
    free(b);
}

/* The offset of the first byte of s[0..n) that begins no complete,
   well-formed sequence (RFC 3629, table 3-7), read one byte at a time. */
static size_t utf8_reference(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        if (!len || len > n - i)
            return i;
        for (size_t k = 1; k < len; k++) {
            unsigned char lo = 0x80, hi = 0xBF;
            if (k == 1) {
                if (b == 0xE0) lo = 0xA0;
                if (b == 0xED) hi = 0x9F;
                if (b == 0xF0) lo = 0x90;
                if (b == 0xF4) hi = 0x8F;
            }
            if (s[i + k] < lo || s[i + k] > hi)
                return i;
        }
        i += len;
    }
    return n;
}

/* One case of utf8.cases: 'pad' ASCII bytes, the case, 'tail' more. */
static int utf8_at(const unsigned char *bytes, size_t nb, long want, size_t pad, size_t tail)
{
    size_t n = pad + nb + tail;
    char *t = mem_malloc(n ? n : 1);
    if (!t)
        exit(2);
    memset(t, 'a', pad);
    memcpy(t + pad, bytes, nb);
    memset(t + pad + nb, 'b', tail);
    size_t got = bi_utf8_invalid(t, n), exp = want < 0 ? n : pad + (size_t)want;
    free(t);
    return got == exp;
}

static void test_utf8_cases(const char *root)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/tests/builtins/utf8.cases", root);
    FILE *f = fopen(path, "r");
    if (!f) {
        FAIL("utf8 cases", "cannot open %s", path);
        return;
    }
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        if (line[0] == '#' || line[0] == '\n' || !bar2)
            continue;
        *bar1 = *bar2 = 0;
        char name[128];
        snprintf(name, sizeof name, "utf8 %.100s", line);
        for (char *e = name + strlen(name); e > name && e[-1] == ' ';)
            *--e = 0;
        unsigned char bytes[64];
        size_t nb = 0;
        for (char *q = bar1 + 1; nb < sizeof bytes;) {
            char *end;
            unsigned long v = strtoul(q, &end, 16);
            if (end == q)
                break;
            bytes[nb++] = (unsigned char)v;
            q = end;
        }
        long want = strstr(bar2 + 1, "valid") ? -1 : strtol(bar2 + 1, NULL, 10);
        int ok = utf8_reference(bytes, nb) == (want < 0 ? nb : (size_t)want);
        for (size_t pad = 0; pad <= 80 && ok; pad++)
            ok = utf8_at(bytes, nb, want, pad, 0) && utf8_at(bytes, nb, want, pad, 1) && utf8_at(bytes, nb, want, pad, 20);
        if (ok && !utf8_at(bytes, nb, want, (4u << 20) - nb, 0))
            ok = 0;
        if (ok)
            PASS(name);
        else
            FAIL(name, "bi_utf8_invalid disagrees with the case or the byte-at-a-time reader");
        n++;
    }
    fclose(f);
    if (n < 20)
        FAIL("utf8 cases", "only %d cases read", n);
}

/* Random texts of ASCII runs and pieces of sequences, valid or not. */
static void test_utf8_random(void)
{
    static const char *const pieces[] = { "a", "0123456789abcdef", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                          "\x80", "\xc3", "\xe2\x82", "\xff", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                          "\xc0\xaf", "lorem ipsum dolor " };
    uint32_t rng = 99;
    for (int t = 0; t < 20000; t++) {
        char buf[256];
        size_t n = 0;
        int words = (int)((rng = rng * 1103515245u + 12345u) >> 8) % 24;
        for (int w = 0; w < words; w++) {
            rng = rng * 1103515245u + 12345u;
            /* mostly valid pieces, so that the invalid byte falls anywhere */
            const char *p = pieces[(rng >> 8) % 13 >= 5 && (rng >> 20) % 8 ? (rng >> 8) % 5 : (rng >> 8) % 13];
            size_t l = strlen(p);
            if (n + l > sizeof buf)
                break;
            memcpy(buf + n, p, l);
            n += l;
        }
        char *c = copy(buf, n);
        size_t got = bi_utf8_invalid(c, n), want = utf8_reference((const unsigned char *)c, n);
        free(c);
        if (got != want) {
            FAIL("utf8 random", "text %d: %zu, the reader says %zu", t, got, want);
            return;
        }
    }
    PASS("utf8 random: 20000 texts agree with the byte-at-a-time reader");
}

int main(int argc, char **argv)
{
    const char *root = argc > 1 ? argv[1] : ".";
    test_token_cases();
    test_tokens_bound();
    test_cl100k(root);
    test_len();
    test_utf8_cases(root);
    test_utf8_random();
    test_djb2();
    test_numbers();
    test_decimal();
    test_lang_oom();

    double t0 = now_ns();
    bi_langdet *d = bi_lang_new();
    double init_ms = (now_ns() - t0) / 1e6;
    if (!d) {
        FAIL("lang_new", "cannot load the libexttextcat models");
    } else {
        PASS("lang_new");
        printf("INFO bi_lang_new(): %.1f ms\n", init_ms);
        test_lang_files(d, root);
        test_lang_short(d);
        test_lang_cache(d, root);
        measure(d, root);
        bi_lang_free(d);
    }
    return failures ? 1 : 0;
}
