/* libFuzzer target for `routec import` (compiler/import_litellm.c,
   compiler/import_portkey.c and their readers cfg_yaml.c, cfg_json.c).

   The first input byte picks the format: bit 0 clear LiteLLM (YAML),
   set Portkey (JSON); the rest is the config.  Properties, any failure
   an abort():
   - every input ends in a verdict, a policy or an error, within the
     readers' caps (no crash, leak or unbounded work: ASan, UBSan and
     libFuzzer's time and memory limits);
   - an accepted config yields a policy that compiles without errors:
     imp_write() compiles what it made, and its failing on an accepted
     config is the importer's defect.
   Seeds: tests/fuzz/corpus/import/ (the configs of tests/import/ behind
   their mode byte).  tests/suites/corpus.sh replays them through this
   harness (tests/fuzz/replay.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    int portkey = data[0] & 1;
    imp *im = imp_new("fuzz", portkey ? "Portkey" : "LiteLLM");
    if (!im)
        abort();
    cfg_err e;
    const char *text = (const char *)data + 1;
    cfg_node *root = portkey ? cfg_read_json(imp_arena(im), text, size - 1, &e)
                             : cfg_read_yaml(imp_arena(im), text, size - 1, &e);
    if (!root)
        imp_fail_read(im, &e);
    else if (portkey)
        portkey_import(im, root, "fuzz");
    else
        litellm_import(im, root);
    if (!imp_failed(im)) {
        char *out;
        size_t len;
        FILE *sink = fopen("/dev/null", "w");
        if (!sink)
            abort();
        int r = imp_write(im, &out, &len, sink);
        fclose(sink);
        if (r)
            abort();   /* an accepted config made a policy with errors */
        if (strlen(out) != len)
            abort();
        free(out);
    }
    imp_free(im);
    return 0;
}
