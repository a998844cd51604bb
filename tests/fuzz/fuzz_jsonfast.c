/* libFuzzer target for the one-pass JSON reader (vm/jsonfast.c): the
   first input byte, when not 0, numbers the callback that stops the
   read; the rest is the text.  Property, any failure an abort(): the
   reader makes yajl's calls with yajl's arguments and offsets for every
   text it reads, and a prefix of them for every text it declines, both
   with its own buffers for decoded strings and with a room hook; for a
   first byte N it also reads the text with its N-th room refused
   (tests/unit/jfref.h).  Seeds: tests/fuzz/corpus/jsonfast/.
   tests/suites/corpus.sh replays them through this harness
   (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/jfref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    char why[400];
    jf_result took;
    if (!jfref_agree((const char *)data + 1, size - 1, data[0], &took, why, sizeof why)) {
        fprintf(stderr, "fuzz_jsonfast: %s\n", why);
        abort();
    }
    return 0;
}
