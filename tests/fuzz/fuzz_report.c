/* libFuzzer target: arbitrary bytes as lines of a trace file, read as
   'routevm report' reads them (vm/report.h: every line through the record
   reader into one set), then summed up by every key and printed in every
   form (vm/report_out.h: text, JSON, the HTML page), so whatever the
   reader accepts is counted, sorted, measured and escaped too. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "report_out.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink && !(sink = fopen("/dev/null", "w")))
        return 0;
    rpt_set *s = rpt_new(256);
    if (!s)
        return 0;
    char err[320];
    uint32_t line = 0, records = 0, bad = 0;
    for (size_t i = 0; i < size;) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
        int r = rpt_add_line(s, (const char *)data + i, n, ++line, err, sizeof err);
        records += r == 0;
        bad += r > 0;
        i += n + 1;
        if (r < 0)
            break;
    }
    rpo_source src = { "fuzz.jsonl", line, records, bad };
    for (int by = 0; by < RPT_BY__COUNT; by++) {
        rpt_summary sm;
        if (rpt_summarize(s, (rpt_by)by, &sm))
            continue;
        rpo_text(sink, &src, &sm);
        rpo_json(sink, &src, &sm);
        rpo_html(sink, &src, &sm);
        rpt_summary_free(&sm);
    }
    rpt_free(s);
    return 0;
}
