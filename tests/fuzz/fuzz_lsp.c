/* libFuzzer target: arbitrary bytes as what a client writes to
   `routec lsp`: the framing (compiler/lsp_frame.c), the JSON-RPC checks
   and dispatch (compiler/lsp.c), and every document a well-formed
   didOpen or didChange brings, checked by the compiler with its imports
   limited to the standard library (no other file is read), then asked
   for definitions, hovers and completions.

   Properties, any failure an abort():
   - the session ends when the input does (lsp_serve() returns 0 or 1);
   - everything the server wrote is a sequence of frames, each
     "Content-Length: N\r\n\r\n" and N bytes of a JSON object with
     "jsonrpc": "2.0" and an "id" (an answer, with "result" or "error")
     or a "method" (a notification);
   - no sanitizer report, no leak.
   Seeds: tests/fuzz/corpus/lsp/, the sessions of the cases in tests/lsp/
   (tests/lsp/run.py --seeds). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lsp.h"

static void check_message(const char *body, size_t n)
{
    json_t *m = json_loadb(body, n, 0, NULL);
    const char *v = json_string_value(json_object_get(m, "jsonrpc"));
    int answer = json_object_get(m, "id") && (json_object_get(m, "result") || json_object_get(m, "error"));
    int note = json_is_string(json_object_get(m, "method"));
    if (!json_is_object(m) || !v || strcmp(v, "2.0") || (!answer && !note)) {
        fprintf(stderr, "fuzz_lsp: not a JSON-RPC message: %.*s\n", (int)(n > 300 ? 300 : n), body);
        abort();
    }
    json_decref(m);
}

static void check_output(const char *out, size_t len)
{
    static const char head[] = "Content-Length: ";
    size_t at = 0;
    while (at < len) {
        size_t n = 0, k = at + sizeof head - 1;
        int ok = len - at > sizeof head && !memcmp(out + at, head, sizeof head - 1);
        for (; ok && k < len && out[k] >= '0' && out[k] <= '9' && n < ((size_t)1 << 40); k++)
            n = n * 10 + (size_t)(out[k] - '0');
        ok = ok && len - k >= 4 && !memcmp(out + k, "\r\n\r\n", 4) && n <= len - k - 4;
        if (!ok) {
            fprintf(stderr, "fuzz_lsp: bad frame at byte %zu\n", at);
            abort();
        }
        check_message(out + k + 4, n);
        at = k + 4 + n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *in = fmemopen((void *)data, size, "r");
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    if (!in || !o)
        abort();
    lsp_server *s = lsp_new(o, NULL, 0);
    if (!s)
        abort();
    lsp_std_only(s);
    int rc = lsp_serve(s, in);
    lsp_free(s);
    fclose(in);
    fclose(o);
    if (rc != 0 && rc != 1)
        abort();
    check_output(out, outlen);
    free(out);
    return 0;
}
