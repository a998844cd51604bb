/* The text measures behind the builtins of policy expressions: the token
   estimate of tokens(), the code-point count of len(), the djb2 hash of
   bucket() and split, and language detection for lang().  The rules are
   the header's comment (vm/builtins.h); this file only implements them.

   The interpreter (vm/interp.c) calls these on views into the parsed request
   (vm/request.h); nothing here allocates except the detector, which holds
   libexttextcat's n-gram models for the life of a thread.  Text from a
   request is valid UTF-8, but every scan here is also safe on invalid
   bytes: a byte that does not start a complete, well-formed sequence is
   taken alone. */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <libexttextcat/textcat.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "builtins.h"
#include "mem.h"

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* Decodes the sequence at s[0..n) (n >= 1, s[0] >= 0x80) into '*cp' and
   returns its length, or 0 when s[0] does not start a well-formed
   sequence (overlong, surrogate, above U+10FFFF, truncated).  Reads no
   byte at or past s[n]. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    if (b >= 0xC2 && b <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = (uint32_t)(b & 0x1F) << 6 | (s[1] & 0x3F);
        return 2;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((b == 0xE0 && s[1] < 0xA0) || (b == 0xED && s[1] > 0x9F))
            return 0;   /* overlong; surrogate */
        *cp = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((b == 0xF0 && s[1] < 0x90) || (b == 0xF4 && s[1] > 0x8F))
            return 0;   /* overlong; above U+10FFFF */
        *cp = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12
            | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
        return 4;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* tokens()                                                            */
/* ------------------------------------------------------------------ */

/* Character classes.  Letters and digits form runs that are counted when
   they end; the others count on the spot. */
enum {
    K_SPACE,    /* folded into the next token: costs nothing */
    K_LETTER,   /* ASCII letter: a quarter token within its run */
    K_DIGIT,    /* a third of a token within its run */
    K_PUNCT,    /* one token */
    K_HIGH,     /* byte >= 0x80: decode and look up the script */
    /* scripts of non-ASCII code points (script_of) */
    K_HALF,     /* accented Latin, Cyrillic letter: half a token within a run */
    K_FULL,     /* letter of another script: one token within a run */
    K_CJK,      /* ideograph, kana, hangul, CJK punctuation: one token */
    K_SYMBOL,   /* emoji and other symbols: two tokens */
    K_INVALID   /* a byte that is not well-formed UTF-8: one token */
};

/* Classes of the 256 byte values; filled in by rows so the table reads as
   the ASCII chart. */
#define R4(k) k, k, k, k
#define R8(k) R4(k), R4(k)
#define R16(k) R8(k), R8(k)
static const unsigned char byte_class[256] = {
    /* 0x00 controls; \t \n \v \f \r are space */
    R8(K_PUNCT), K_PUNCT, K_SPACE, K_SPACE, K_SPACE, K_SPACE, K_SPACE, K_PUNCT, K_PUNCT,
    R16(K_PUNCT),
    /* 0x20 ' ' then !"#$%&'()*+,-./ */
    K_SPACE, K_PUNCT, R8(K_PUNCT), R4(K_PUNCT), K_PUNCT, K_PUNCT,
    /* 0x30 0-9 then :;<=>? */
    R8(K_DIGIT), K_DIGIT, K_DIGIT, R4(K_PUNCT), K_PUNCT, K_PUNCT,
    /* 0x40 @ A-O */
    K_PUNCT, K_LETTER, K_LETTER, K_LETTER, R4(K_LETTER), R8(K_LETTER),
    /* 0x50 P-Z [\]^_ */
    R8(K_LETTER), K_LETTER, K_LETTER, K_LETTER, K_PUNCT, K_PUNCT, K_PUNCT, K_PUNCT, K_PUNCT,
    /* 0x60 ` a-o */
    K_PUNCT, K_LETTER, K_LETTER, K_LETTER, R4(K_LETTER), R8(K_LETTER),
    /* 0x70 p-z {|}~ DEL */
    R8(K_LETTER), K_LETTER, K_LETTER, K_LETTER, K_PUNCT, K_PUNCT, K_PUNCT, K_PUNCT, K_PUNCT,
    /* 0x80..0xFF */
    R16(K_HIGH), R16(K_HIGH), R16(K_HIGH), R16(K_HIGH),
    R16(K_HIGH), R16(K_HIGH), R16(K_HIGH), R16(K_HIGH),
};
#undef R4
#undef R8
#undef R16

/* Scripts of the non-ASCII code points: each row covers [lo, next row's
   lo).  Sorted; looked up by binary search. */
static const struct { uint32_t lo; unsigned char k; } scripts[] = {
    { 0x0080, K_PUNCT },    /* C1 controls */
    { 0x00A0, K_SPACE },    /* no-break space */
    { 0x00A1, K_PUNCT },    /* Latin-1 punctuation and signs: ¡ £ © ° ± ... */
    { 0x00C0, K_HALF },     /* Latin-1 letters */
    { 0x00D7, K_PUNCT },    /* × */
    { 0x00D8, K_HALF },
    { 0x00F7, K_PUNCT },    /* ÷ */
    { 0x00F8, K_HALF },     /* Latin Extended, IPA, combining marks */
    { 0x0370, K_FULL },     /* Greek */
    { 0x0400, K_HALF },     /* Cyrillic */
    { 0x0530, K_FULL },     /* Armenian, Hebrew, Arabic, Indic, Thai,
                               Georgian, Ethiopic, ... */
    { 0x1E00, K_HALF },     /* Latin Extended Additional (Vietnamese) */
    { 0x1F00, K_FULL },     /* Greek Extended */
    { 0x2000, K_SPACE },    /* en quad .. zero-width joiner */
    { 0x2010, K_PUNCT },    /* dashes, quotes, bullets, ellipsis */
    { 0x2028, K_SPACE },    /* line and paragraph separators */
    { 0x2030, K_PUNCT },
    { 0x205F, K_SPACE },    /* medium math space .. invisible operators */
    { 0x2070, K_PUNCT },    /* super/subscripts, currency (€), letterlike,
                               number forms, arrows, math operators */
    { 0x2300, K_SYMBOL },   /* technical, box drawing, shapes, misc
                               symbols, dingbats */
    { 0x2C00, K_FULL },    /* Glagolitic, Coptic, Georgian, Tifinagh, ... */
    { 0x2E00, K_PUNCT },    /* supplemental punctuation */
    { 0x2E80, K_CJK },      /* radicals, CJK punctuation, kana, bopomofo,
                               hangul jamo, enclosed CJK, ext. A, unified
                               ideographs, Yi */
    { 0xA4D0, K_FULL },    /* Lisu, Vai, Cyrillic Ext-B, ... */
    { 0xAC00, K_CJK },      /* hangul syllables */
    { 0xD7B0, K_FULL },    /* hangul jamo ext-B */
    { 0xE000, K_SYMBOL },   /* private use */
    { 0xF900, K_CJK },      /* compatibility ideographs */
    { 0xFB00, K_FULL },    /* presentation forms */
    { 0xFE00, K_SPACE },    /* variation selectors */
    { 0xFE10, K_CJK },      /* vertical forms, CJK compatibility forms */
    { 0xFE70, K_FULL },    /* Arabic presentation forms-B */
    { 0xFEFF, K_SPACE },    /* byte order mark */
    { 0xFF00, K_CJK },      /* halfwidth and fullwidth forms */
    { 0xFFF0, K_SYMBOL },   /* specials */
    { 0x10000, K_FULL },   /* historic scripts, math alphanumerics */
    { 0x1F000, K_SYMBOL },  /* mahjong, cards, emoji, pictographs */
    { 0x20000, K_CJK },     /* ideographs ext. B..H */
    { 0x40000, K_SYMBOL },  /* unassigned, tags, private use planes */
    { 0xE0000, K_SPACE },   /* tags and variation selectors supplement */
    { 0xF0000, K_SYMBOL },
};

static unsigned char script_of(uint32_t cp)
{
    size_t lo = 0, hi = sizeof scripts / sizeof *scripts;
    while (hi - lo > 1) {   /* invariant: scripts[lo].lo <= cp */
        size_t mid = (lo + hi) / 2;
        if (scripts[mid].lo <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return scripts[lo].k;
}

/* Weights of letters within a run, in eighths of a token: a run of up to
   eight ASCII letters is one token (cl100k has most English words whole),
   Cyrillic and accented Latin letters cost half a token, letters of other
   alphabets a whole one.  Digits group by three, punctuation by two ("},",
   "->", ");"). */
enum { W_ASCII = 1, W_HALF = 4, W_FULL = 8, DIGITS_PER_TOKEN = 3, PUNCT_PER_TOKEN = 2 };

/* The end of the run of ASCII letters starting at s[i]: eight bytes at a
   time (a word's length is what a branch predictor cannot guess). */
static size_t letter_run(const unsigned char *s, size_t i, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        uint64_t x = (v | 0x20 * ones) & ~high;             /* lower case, 7 bits */
        uint64_t ge_a = (x + (0x80 - 'a') * ones) & high;    /* x >= 'a' */
        uint64_t gt_z = (x + (0x80 - 'z' - 1) * ones) & high; /* x > 'z' */
        uint64_t other = ~(ge_a & ~gt_z & ~v) & high;        /* not an ASCII letter */
        if (other) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)(__builtin_ctzll(other) >> 3);
#else
            break;
#endif
        }
        i += 8;
    }
    while (i < n && byte_class[s[i]] == K_LETTER)
        i++;
    return i;
}

int64_t bi_tokens(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    int64_t t = 0;      /* tokens of finished runs and single characters */
    size_t w = 0;       /* eighths of a token of the current letter run */
    size_t d = 0;       /* digits of the current digit run */
    size_t p = 0;       /* characters of the current punctuation run */
    size_t i = 0;

/* End the letter, digit and punctuation runs in progress, adding their
   tokens; FLUSH() ends all three. */
#define FLUSH_W() (w ? (t += (int64_t)((w + 7) / 8), w = 0) : 0)
#define FLUSH_D() (d ? (t += (int64_t)((d + DIGITS_PER_TOKEN - 1) / DIGITS_PER_TOKEN), d = 0) : 0)
#define FLUSH_P() (p ? (t += (int64_t)((p + PUNCT_PER_TOKEN - 1) / PUNCT_PER_TOKEN), p = 0) : 0)
#define FLUSH() (FLUSH_W(), FLUSH_D(), FLUSH_P())

    while (i < n) {
        unsigned k = byte_class[s[i]];
        switch (k) {
        case K_LETTER: {
            FLUSH_D(), FLUSH_P();
            size_t j = letter_run(s, i + 1, n);
            w += (j - i) * W_ASCII;
            /* prose: words and single spaces, without going round the switch */
            while (j + 1 < n && s[j] == ' ' && byte_class[s[j + 1]] == K_LETTER) {
                FLUSH_W();
                i = j + 1;
                j = letter_run(s, i + 1, n);
                w += (j - i) * W_ASCII;
            }
            i = j;
            continue;
        }
        case K_SPACE:
            FLUSH();
            i++;
            while (i < n && byte_class[s[i]] == K_SPACE)
                i++;
            continue;
        case K_DIGIT: {
            size_t j = i + 1;
            FLUSH_W(), FLUSH_P();
            while (j < n && byte_class[s[j]] == K_DIGIT)
                j++;
            d += j - i;
            i = j;
            continue;
        }
        case K_PUNCT:
            FLUSH_W(), FLUSH_D();
            p++;
            i++;
            continue;
        default:
            break;
        }
        /* K_HIGH: a non-ASCII code point, or an invalid byte */
        uint32_t cp = 0;
        size_t len = utf8_decode(s + i, n - i, &cp);
        k = len ? script_of(cp) : K_INVALID;
        i += len ? len : 1;
        switch (k) {
        case K_HALF:
        case K_FULL:
            FLUSH_D(), FLUSH_P();
            w += k == K_HALF ? W_HALF : W_FULL;
            break;
        case K_SPACE:
            FLUSH();
            break;
        case K_PUNCT:
            FLUSH_W(), FLUSH_D();
            p++;
            break;
        case K_SYMBOL:
            FLUSH();
            t += 2;
            break;
        default:    /* K_CJK, K_INVALID */
            FLUSH();
            t++;
            break;
        }
    }
    FLUSH();
#undef FLUSH
#undef FLUSH_W
#undef FLUSH_D
#undef FLUSH_P
    return t;
}

/* ------------------------------------------------------------------ */
/* len() and bucket()                                                  */
/* ------------------------------------------------------------------ */

int bi_decimal(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0, digits = 0, dot = 0, frac = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    __int128 v = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (v > (__int128)INT64_MAX * 1000000)   /* already too large for any exponent that keeps it exact */
                return -1;
            v = v * 10 + (s[i] - '0');
            digits++;
            frac += dot;
        } else if (s[i] == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!digits)
        return -1;
    int64_t e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, ed = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        if (!ed)
            return -1;
        if (eneg)
            e = -e;
    }
    if (i != n)
        return -1;
    for (int64_t shift = 6 - frac + e; shift != 0; shift += shift < 0 ? 1 : -1) {
        if (shift > 0) {
            if (v == 0)
                break;
            v *= 10;
            if (v > INT64_MAX)
                return -1;
        } else {
            if (v % 10)
                return -1;      /* more precise than a millionth */
            v /= 10;
            if (v == 0)
                break;
        }
    }
    if (v > INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int64_t bi_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    int64_t count = 0;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
            count += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
        } else {
            uint32_t cp;
            size_t len = utf8_decode(s + i, n - i, &cp);
            i += len ? len : 1;     /* an invalid byte counts as one */
        }
        count++;
    }
    return count;
}

size_t bi_utf8_invalid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
#ifdef __SSE2__
        /* ASCII 64 bytes at a time, then 16, on to the first byte that is
           not (a short text goes straight to the eight-byte steps) */
        if (n - i >= 16) {
            while (n - i >= 64) {
                const __m128i *v = (const __m128i *)(const void *)(s + i);
                __m128i any = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                                           _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
                if (_mm_movemask_epi8(any))
                    break;
                i += 64;
            }
            while (n - i >= 16) {
                unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
                if (m) {
                    i += (unsigned)__builtin_ctz(m);
                    break;
                }
                i += 16;
            }
        }
#endif
        while (i + 8 <= n) {    /* ASCII eight bytes at a time */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (!len)
            return i;
        i += len;
    }
    return n;
}

size_t bi_utf8_char(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t cp;
    if (!n)
        return 0;
    return s[0] < 0x80 ? 1 : utf8_decode(s, n, &cp);
}

int bi_utf8_cut(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char b = s[0];
    size_t need = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!need || n >= need)
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char lo = 0x80, hi = 0xBF;
        if (i == 1) {   /* the second byte's range excludes overlongs, surrogates, > U+10FFFF */
            if (b == 0xE0) lo = 0xA0;
            else if (b == 0xED) hi = 0x9F;
            else if (b == 0xF0) lo = 0x90;
            else if (b == 0xF4) hi = 0x8F;
        }
        if (s[i] < lo || s[i] > hi)
            return 0;
    }
    return 1;
}

uint32_t bi_djb2(const char *s, size_t n)
{
    uint32_t h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)s[i];
    return h;
}

/* ------------------------------------------------------------------ */
/* lang()                                                              */
/* ------------------------------------------------------------------ */

#ifndef RV_TEXTCAT_DIR
#define RV_TEXTCAT_DIR "/usr/share/libexttextcat/"
#endif

/* The detector sees at most this many bytes from the start of the text
   (cut back to a code-point boundary): n-gram statistics settle within a
   few hundred bytes, and the cost of a guess grows with its input. */
enum { LANG_SAMPLE = 1024, LANG_MIN_LETTERS = 24 };

struct bi_langdet {
    void *tc;               /* textcat handle */
    /* cache: the last text asked about (its address, length and the hash
       of its sample, so a new text at a reused address is not mistaken
       for it) and the answer */
    const char *last_s;
    size_t last_n;
    uint32_t last_hash;
    char last[4];
};

/* The languages lang() can answer: the ISO 639-1 code in front of a model
   name of fpdb.conf ("de--utf8", "zh-CN-utf8", "uz-Cyrl-utf8").  Models
   named by a longer code (Scots "sco", Bhojpuri "bho") and the two-letter
   models of languages rarely seen in LLM traffic whose profiles attract
   short English text (Tsonga "ts", Tswana "tn", Fijian "fj", ...) are
   passed over in favour of textcat's next candidate.  Sorted. */
static const char iso639_1[][3] = {
    "af", "am", "ar", "az", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs",
    "cy", "da", "de", "el", "en", "eo", "es", "et", "eu", "fa", "fi", "fo",
    "fr", "fy", "ga", "gd", "gl", "gu", "he", "hi", "hr", "ht", "hu", "hy",
    "id", "is", "it", "ja", "ka", "kk", "km", "kn", "ko", "ky", "la", "lb",
    "lo", "lt", "lv", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "nb",
    "ne", "nl", "nn", "oc", "pa", "pl", "pt", "rm", "ro", "ru", "sa", "sd",
    "si", "sk", "sl", "so", "sq", "sr", "sv", "sw", "ta", "tg", "th", "tk",
    "tl", "tr", "tt", "ug", "uk", "ur", "uz", "vi", "xh", "yi", "yo", "zh",
    "zu",
};

/* The ISO 639-1 code of the textcat category 'name' (length 'len'), or
   NULL when it has none. */
static const char *iso_code(const char *name, size_t len)
{
    if (len < 3 || name[2] != '-')
        return NULL;
    size_t lo = 0, hi = sizeof iso639_1 / sizeof *iso639_1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(iso639_1[mid], name, 2);
        if (c == 0)
            return iso639_1[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bi_langdet *bi_lang_new(void)
{
    bi_langdet *d = mem_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->tc = special_textcat_Init(RV_TEXTCAT_DIR "fpdb.conf", RV_TEXTCAT_DIR);
    if (!d->tc) {
        free(d);
        return NULL;
    }
    return d;
}

void bi_lang_free(bi_langdet *d)
{
    if (!d)
        return;
    textcat_Done(d->tc);
    free(d);
}

/* The length of the sample of s[0..n) given to the detector: at most
   LANG_SAMPLE bytes, not cutting a code point. */
static size_t lang_sample(const char *s, size_t n)
{
    if (n <= LANG_SAMPLE)
        return n;
    size_t m = LANG_SAMPLE;
    for (int back = 0; back < 3 && ((unsigned char)s[m] & 0xC0) == 0x80; back++)
        m--;    /* s[m] continues a sequence: cut before its lead byte */
    return m;
}

/* Letters in the sample: ASCII letters and every byte of non-ASCII text
   (so four CJK characters or six accented letters are enough). */
static size_t letter_bytes(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = byte_class[(unsigned char)s[i]];
        count += k == K_LETTER || k == K_HIGH;
    }
    return count;
}

/* Guesses the language of s[0..n) into out: the first candidate of
   textcat's answer ("[sco--utf8][en--utf8]", best first) that has a
   two-letter code; "" for "SHORT", "UNKNOWN" or no such candidate. */
static void lang_guess(bi_langdet *d, const char *s, size_t n, char out[4])
{
    out[0] = 0;
    size_t m = lang_sample(s, n);
    if (letter_bytes(s, m) < LANG_MIN_LETTERS)
        return;
    const char *r = textcat_Classify(d->tc, s, m);
    while (r && *r == '[') {
        const char *end = strchr(r, ']');
        if (!end)
            return;
        const char *code = iso_code(r + 1, (size_t)(end - r - 1));
        if (code) {
            memcpy(out, code, 2);
            out[2] = 0;
            return;
        }
        r = end + 1;
    }
}

void bi_lang(bi_langdet *d, const char *s, size_t n, char out[4])
{
    if (!d) {
        out[0] = 0;
        return;
    }
    uint32_t h = bi_djb2(s, lang_sample(s, n));
    if (!(d->last_s == s && d->last_n == n && d->last_hash == h && s)) {
        lang_guess(d, s, n, d->last);
        d->last_s = s;
        d->last_n = n;
        d->last_hash = h;
    }
    memcpy(out, d->last, 4);
}

/* ------------------------------------------------------------------ */
/* number(), numbers(), capture()                                      */
/* ------------------------------------------------------------------ */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* Three digits, then no further digit: a thousands group after a ','. */
static int group_at(const char *s, size_t n, size_t i)
{
    return i + 3 <= n && is_digit(s[i]) && is_digit(s[i + 1]) && is_digit(s[i + 2]) && (i + 3 == n || !is_digit(s[i + 3]));
}

int bi_next_number(const char *s, size_t n, size_t *pos, int64_t *value, int *ok, size_t *start, size_t *end)
{
    size_t i = *pos;
    while (i < n && !is_digit(s[i]))
        i++;
    if (i >= n)
        return 0;
    int neg = i > 0 && s[i - 1] == '-' && (i < 2 || !is_alnum(s[i - 2]));
    *start = neg ? i - 1 : i;
    uint64_t whole = 0;
    *ok = 1;
    for (;;) {
        while (i < n && is_digit(s[i])) {
            if (whole > (uint64_t)(INT64_MAX / 1000000 - 9) / 10)
                *ok = 0;
            else
                whole = whole * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (i + 1 < n && s[i] == ',' && group_at(s, n, i + 1))
            i++;
        else
            break;
    }
    int64_t frac = 0, scale = 100000;
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        for (i++; i < n && is_digit(s[i]); i++) {
            frac += scale * (s[i] - '0');
            scale /= 10;
        }
    }
    int64_t v = (int64_t)whole * 1000000 + frac;
    *value = neg ? -v : v;
    *end = i;
    *pos = i;
    return 1;
}

int bi_capture(const void *code, void *md, const char *s, size_t n, size_t *start, size_t *len)
{
    int rc = pcre2_match((const pcre2_code *)code, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0)
        return -1;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int g = rc >= 2 && ov[2] != PCRE2_UNSET ? 1 : 0;
    *start = ov[2 * g];
    *len = ov[2 * g + 1] - ov[2 * g];
    return 1;
}
