/* libFuzzer target for the one-pass head reader (vm/providers/hhead.c):
   the first input byte's low bit picks a response (1) or a request (0),
   the rest is the head and whatever follows it.  Property, any failure
   an abort(): a head hh_request or hh_response takes reads as
   http-parser reads it (tests/unit/hhref.h: the same end, method or
   status, target, fields, Content-Length and keep-alive).
   Seeds: tests/fuzz/corpus/hhead/.  tests/suites/corpus.sh replays them
   through this harness (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/hhref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char why[400];
    int took;
    if (!hhref_agree(data[0] & 1, (const char *)data + 1, size - 1, &took, why, sizeof why)) {
        fprintf(stderr, "fuzz_hhead: %s\n", why);
        abort();
    }
    return 0;
}
