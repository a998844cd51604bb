/* The LSP base protocol's framing: each message is a block of header
   lines, an empty line and a body of exactly Content-Length bytes.  The
   reader treats its input as hostile: a header line is at most
   HDR_LINE bytes, a block at most HDR_LINES lines, the length is plain
   decimal and at most the caller's cap, and the body is allocated only
   once the length is known to be within it.  What is inside the body
   (JSON) is lsp.c's business. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lsp_int.h"
#include "mem.h"

#define HDR_LINE  1024
#define HDR_LINES 32

/* One header line without its line break.  1 a line, 0 the input ended
   before its first byte, -1 an error (message in 'err'). */
static int read_line(FILE *in, char *line, size_t *n, char *err, size_t errlen)
{
    size_t k = 0;
    int ch;
    while ((ch = getc(in)) != EOF && ch != '\n') {
        if (k == HDR_LINE) {
            snprintf(err, errlen, "a header line is longer than %d bytes", HDR_LINE);
            return -1;
        }
        line[k++] = (char)ch;
    }
    if (ch == EOF) {
        if (k == 0)
            return 0;
        snprintf(err, errlen, "the input ended inside a header line");
        return -1;
    }
    if (k && line[k - 1] == '\r')
        k--;
    line[k] = 0;
    *n = k;
    return 1;
}

/* The value of a Content-Length header: digits, optional blanks around. */
static int parse_length(const char *v, size_t max, size_t *out, char *err, size_t errlen)
{
    v += strspn(v, " \t");
    size_t n = 0, digits = 0;
    for (; *v >= '0' && *v <= '9'; v++, digits++) {
        if (n > max) {   /* stop growing once over: no overflow */
            continue;
        }
        n = n * 10 + (size_t)(*v - '0');
    }
    v += strspn(v, " \t");
    if (!digits || *v) {
        snprintf(err, errlen, "Content-Length is not a number");
        return -1;
    }
    if (n > max) {
        snprintf(err, errlen, "the message is longer than the limit of %zu bytes", max);
        return -1;
    }
    *out = n;
    return 0;
}

int lspf_read(FILE *in, size_t max, char **body, size_t *len, char *err, size_t errlen)
{
    char line[HDR_LINE + 1];
    size_t n, length = 0;
    int have_length = 0, lines = 0;
    for (;;) {
        int r = read_line(in, line, &n, err, errlen);
        if (r < 0)
            return LSPF_BAD;
        if (r == 0) {
            if (lines == 0)
                return LSPF_EOF;
            snprintf(err, errlen, "the input ended inside a message's headers");
            return LSPF_BAD;
        }
        if (n == 0) {
            if (lines == 0)   /* blank lines between messages are tolerated */
                continue;
            break;
        }
        if (++lines > HDR_LINES) {
            snprintf(err, errlen, "more than %d header lines", HDR_LINES);
            return LSPF_BAD;
        }
        char *colon = memchr(line, ':', n);
        if (!colon) {
            snprintf(err, errlen, "a header line without ':'");
            return LSPF_BAD;
        }
        *colon = 0;
        if (strcasecmp(line, "Content-Length"))
            continue;   /* Content-Type and others: nothing to act on */
        if (have_length) {
            snprintf(err, errlen, "Content-Length given twice");
            return LSPF_BAD;
        }
        if (parse_length(colon + 1, max, &length, err, errlen))
            return LSPF_BAD;
        have_length = 1;
    }
    if (!have_length) {
        snprintf(err, errlen, "a message without a Content-Length header");
        return LSPF_BAD;
    }
    char *b = mem_malloc(length + 1);
    if (!b) {
        snprintf(err, errlen, "out of memory for a message of %zu bytes", length);
        return LSPF_BAD;
    }
    size_t got = length ? fread(b, 1, length, in) : 0;
    if (got != length) {
        free(b);
        snprintf(err, errlen, "the input ended inside a message body (%zu of %zu bytes)", got, length);
        return LSPF_BAD;
    }
    b[length] = 0;
    *body = b;
    *len = length;
    return LSPF_MSG;
}

int lspf_write(FILE *out, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -1;
    size_t n = strlen(text);
    int ok = fprintf(out, "Content-Length: %zu\r\n\r\n", n) > 0 && fwrite(text, 1, n, out) == n;
    free(text);
    return ok && fflush(out) == 0 ? 0 : -1;
}
