/* A main() for the libFuzzer harnesses of byte parsers that have no
   command-line front end (fuzz_sse, fuzz_eventstream, fuzz_sigv4): runs
   LLVMFuzzerTestOneInput once per file named on the command line, so
   tests/suites/corpus.sh replays their seed corpora under the sanitizer
   build with the harness's own checks.  A harness signals a broken
   property with abort(); a clean run exits 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "replay: cannot open %s\n", argv[i]);
            return 2;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, got;
        do {
            if (len == cap) {
                cap = cap ? 2 * cap : 65536;
                uint8_t *p = realloc(buf, cap);
                if (!p)
                    return 2;
                buf = p;
            }
            got = fread(buf + len, 1, cap - len, f);
            len += got;
        } while (got > 0);
        fclose(f);
        /* an exact-size copy, so a read past the input is caught */
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact)
            return 2;
        for (size_t k = 0; k < len; k++)
            exact[k] = buf[k];
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}
