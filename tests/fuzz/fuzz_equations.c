/* libFuzzer target for the equations of a text (vm/equations.c): the
   text is a model's answer, which arithmetic(), equations() and
   last_result() read inside a cascade's check, so any byte string can
   reach it.
   Properties, any failure an abort():
   - no crash, no read outside the text (the input is scanned in place);
   - at most as many equations hold as were checked, and a last result
     exists only when an equation was checked, within the range of a
     policy number;
   - the scan is a function of the text: scanning it again gives the
     same figures (no state survives a call).
   Seeds: tests/fuzz/corpus/equations/ (worked solutions as models write
   them).  tests/suites/corpus.sh replays them through this harness. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "equations.h"

static void same(const eqn_stats *a, const eqn_stats *b)
{
    if (a->checked != b->checked || a->held != b->held || a->has_result != b->has_result ||
        a->result != b->result)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    eqn_stats es, again;
    eqn_scan(s, size, &es);
    if (es.held > es.checked || (es.has_result && !es.checked))
        abort();
    if (es.has_result && (es.result > INT64_C(9200000000000000000) || es.result < -INT64_C(9200000000000000000)))
        abort();
    eqn_scan(s, size, &again);
    same(&es, &again);
    return 0;
}
