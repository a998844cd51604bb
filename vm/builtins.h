/* The builtin functions of policy expressions (vm/builtins.def) and the
   text measures behind them.

   tokens(): an estimate of the token count a BPE tokenizer (cl100k-like)
   gives, computed in one pass without a vocabulary.  Letters form runs
   (words) weighing an eighth of a token per ASCII letter, half a token
   per accented Latin or Cyrillic letter and one token per letter of other
   alphabets (Greek, Hebrew, Arabic, Indic...); a run costs its weight
   rounded up, so English words of up to eight letters are one token.  A
   run of digits is one token per three digits, a run of other printable
   characters (punctuation, ASCII or not) one token per two, whitespace is
   folded into the next token, CJK ideographs, kana and hangul are one
   token each, emoji and other symbols two, and a byte that is not valid
   UTF-8 one.  Within a quarter of cl100k on English prose, code, JSON,
   CJK, Cyrillic and Greek; non-English Latin-script prose (German,
   Finnish, Polish, Turkish...) comes out up to half too low.  Exact
   counts come from the providers' usage reports; routing needs a fast,
   stable estimate.

   lang(): the ISO 639-1 code of the language of a text, detected with
   libexttextcat (n-gram language models shipped by Debian), or "" when the
   text is too short (under 24 bytes of letters: n-gram models guess wildly on less) or the detector cannot
   tell.  Results are cached per text within a request.

   bucket(): djb2 (h = h*33 + byte, from 5381, mod 2^32) modulo 100; the
   split strategy uses the same bucket, so 'bucket(user) < 10' and a 10%
   split arm by user select the same users. */
#ifndef RV_BUILTINS_H
#define RV_BUILTINS_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* Never more than 'n': every piece a token is counted for has at least
   as many bytes as tokens (guard.c's token limits rely on it). */
int64_t bi_tokens(const char *s, size_t n);
uint32_t bi_djb2(const char *s, size_t n);
static inline int64_t bi_bucket(const char *s, size_t n) { return bi_djb2(s, n) % 100; }
/* The decimal number s[0..n) holds, in millionths (decimal()): an optional
   sign, digits with an optional fraction, an optional exponent, nothing
   else ("2", "-0.25", "1.5e3", as JSON writes numbers).  0 and '*out', or
   -1 when it is not such a number, is more precise than 1e-6 or does not
   fit in 64 bits: exact, like every number of a policy. */
int bi_decimal(const char *s, size_t n, int64_t *out);
/* Number of code points of valid UTF-8 text (an invalid byte counts one). */
int64_t bi_len(const char *s, size_t n);
/* The offset of the first byte of s[0..n) that does not begin a
   well-formed UTF-8 sequence (an overlong form, a surrogate, a code point
   above U+10FFFF, a stray or truncated byte), or n when all of it is
   valid UTF-8. */
size_t bi_utf8_invalid(const char *s, size_t n);
/* The length of the well-formed UTF-8 character s[0..n) begins with (1 for
   ASCII), or 0 when it does not begin with one (n == 0 included). */
size_t bi_utf8_char(const char *s, size_t n);
/* Is s[0..n) (n >= 1) the beginning of a well-formed UTF-8 character that
   needs more bytes than n?  (A character cut by the end of a chunk.) */
int bi_utf8_cut(const char *s, size_t n);

/* Numbers written in text, for number() and numbers(): an optional '-'
   right before the first digit (not after a letter or digit), digits
   with optional ',' between groups of three, an optional '.' and more
   digits ("1,234.5", "-3", "$12" is 12).  The value is fixed point
   (millionths): decimals past the sixth are dropped; a number whose whole
   part does not fit (above about 9.2 trillion) has ok = 0.  Finds the
   next number at or after *pos; returns 1 with its value and span
   [start, end) and moves *pos past it, or 0 when none is left. */
int bi_next_number(const char *s, size_t n, size_t *pos, int64_t *value, int *ok, size_t *start, size_t *end);

/* The span capture() answers for regex 'code' (a pcre2_code *) on s[0..n):
   the first match's first capture group when the pattern has one and it
   took part in the match, else the whole match.  'md' is pcre2 match data
   large enough for the pattern.  Returns 1 with the span, 0 when there is
   no match, -1 when PCRE2 gave up (a match limit). */
int bi_capture(const void *code, void *md, const char *s, size_t n, size_t *start, size_t *len);

/* Language detection; one detector per thread (not thread-safe). */
typedef struct bi_langdet bi_langdet;
bi_langdet *bi_lang_new(void);        /* NULL when the models cannot be loaded */
void bi_lang_free(bi_langdet *d);
/* Writes the code ("en", "de", ...; "" when unknown) into out[3]. */
void bi_lang(bi_langdet *d, const char *s, size_t n, char out[4]);

#endif
