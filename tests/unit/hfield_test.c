/* Header field bytes (vm/providers/hfield.c) against a byte-at-a-time
   reference: every byte value at every position of strings of 0 to 48
   bytes (bytes one by one, a word, words with an overlapping last one,
   blocks of sixteen with an overlapping last one),
   on backgrounds that mix what the word test must tell apart -- the
   bytes around 0x20 and DEL, HTAB, and UTF-8 bytes from 0x80 up: hf_bad
   must say whether a control byte other than HTAB, or DEL, is there,
   and hf_span where the first one is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfield.h"

static int failures;

static int ref_bad(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return 1;
    return 0;
}

static size_t ref_span(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
            return i;
    return n;
}

static void check(const char *name, int ok, const char *why)
{
    if (ok)
        printf("PASS hfield/%s\n", name);
    else {
        printf("FAIL hfield/%s: %s\n", name, why);
        failures++;
    }
}

int main(void)
{
    static const char backgrounds[][25] = {     /* 24 bytes each */
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "Content-Type: X-Route-AZ",
        "@[`{^]\x7e\x5e\x40\x5b\x60\x7b AZaz09-.:;/",
        "\t \t v\t\tw \xc3\xa9\xe2\x82\xac\xff\x80\xc0\xdf\xa0\xbf\t~!\x7e",
    };
    char why_bad[200] = "", why_span[200] = "";
    int bad_ok = 1, span_ok = 1;
    for (size_t b = 0; b < sizeof backgrounds / sizeof *backgrounds; b++)
        for (size_t len = 0; len <= 48; len++)     /* the background twice: past two blocks of 16 */
            for (size_t pos = 0; pos < (len ? len : 1); pos++)
                for (int v = 0; v < 256; v++) {
                    unsigned char s[48];
                    memcpy(s, backgrounds[b], 24);
                    memcpy(s + 24, backgrounds[b], 24);
                    if (len)
                        s[pos] = (unsigned char)v;
                    /* in a block of exactly 'len' bytes: a read past the end
                       is an error under the sanitizers */
                    unsigned char *exact = malloc(len ? len : 1);
                    if (!exact)
                        return 1;
                    memcpy(exact, s, len);
                    int want = ref_bad(s, len), got = hf_bad((const char *)exact, len);
                    size_t span = hf_span((const char *)exact, len);
                    free(exact);
                    if (span_ok && span != ref_span(s, len)) {
                        span_ok = 0;
                        snprintf(why_span, sizeof why_span, "background %zu, length %zu, byte 0x%02x at %zu: %zu",
                                 b, len, (unsigned)v, pos, span);
                    }
                    if (bad_ok && got != want) {
                        bad_ok = 0;
                        snprintf(why_bad, sizeof why_bad, "background %zu, length %zu, byte 0x%02x at %zu", b, len,
                                 (unsigned)v, pos);
                    }
                }
    check("bad_every_byte_every_position", bad_ok, why_bad);
    check("span_every_byte_every_position", span_ok, why_span);
    return failures != 0;
}
