/* libFuzzer target for the .rbc loader (vm/rbc.c) and verifier.

   The first input byte selects a mode, the rest is the image:
     even  load the image as is (exercises the header and digest checks)
     odd   recompute the image's SHA-256 trailer first, so mutations reach
           the section parser and the verifier instead of dying at the
           checksum
   An accepted program must verify again, disassemble, and re-serialize to
   the same bytes (the format is canonical; only the minor version may
   differ).  Seeds: tests/fuzz/corpus/rbc/: mode0-sample and mode1-sample
   are the sample program of tests/unit/sample.h behind a mode byte;
   sample.rbc is the bare file (read as mode 0x7f, i.e. odd, minus its
   first byte).  RBC_SAMPLE_OUT=FILE build/tests/rbc_test writes the bare
   file; the mode files are it behind a 0x00 or 0x01 byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "disasm.h"
#include "rbc.h"
#include "verify.h"

static void fix_digest(uint8_t *b, size_t len)
{
    unsigned int n;
    size_t tail = 32 + (len >= 12 && (b[8] & 1) ? 72 : 0);
    if (len >= 16 + tail)
        EVP_Digest(b, len - tail, b + len - tail, &n, EVP_sha256(), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    rv_err err;
    if (size < 1)
        return 0;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
    if (!b)
        return 0;
    memcpy(b, data + 1, len);
    if (data[0] & 1)
        fix_digest(b, len);
    rv_program *p = rbc_load(b, len, NULL, &err);
    if (p) {
        uint8_t *w;
        size_t wn;
        if (ver_program(p, &err) < 0)
            abort();                        /* loaded but does not verify */
        dis_program(p, devnull);
        for (size_t pc = 0; pc < p->ncode; pc = dis_instr(p, pc, devnull))
            ;
        if (rbc_write(p, NULL, &w, &wn, &err) < 0)
            abort();
        if (wn >= 8 && len >= 8 && !(b[8] & 1)) {
            memcpy(w + 6, b + 6, 2);
            fix_digest(w, wn);
            if (wn != len || memcmp(w, b, len) != 0)
                abort();                    /* accepted a non-canonical image */
        }
        free(w);
        rv_program_free(p);
    } else if (!err.msg[0] || !memchr(err.msg, 0, sizeof err.msg)) {
        abort();                            /* rejected without a message */
    }
    free(b);
    return 0;
}
