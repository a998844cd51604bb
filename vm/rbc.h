/* Reading and writing .rbc files.

   File layout (all integers little-endian):

     0   magic      "\x7fRBC"
     4   u16 major, u16 minor        RV_FORMAT_MAJOR / RV_FORMAT_MINOR
     8   u32 flags                   bit 0: a signature follows the digest
     12  u32 nsections
     16  nsections x { u32 id, u32 offset, u32 size }   (offsets from file start)
     ..  section payloads, each 4-byte aligned, in id order, no overlap
     D   32-byte SHA-256 of bytes [0, D)
     D+32 (if flagged) "SIG1", u32 64, 64-byte Ed25519 signature of bytes [0, D+32)

   Section ids and their payloads are listed in vm/rbc.c.  A writer given the
   same program produces the same bytes: no timestamps, no absolute paths, no
   padding garbage. */
#ifndef RV_RBC_H
#define RV_RBC_H

#include <stddef.h>
#include <stdint.h>

#include "program.h"

typedef struct { char msg[512]; } rv_err;

/* Serialize 'p'.  With 'sign_key_pem' (path to an Ed25519 private key in
   PEM) the file is signed.  On success returns 0 and a malloc'd buffer the
   caller frees; on failure returns -1 with a message in 'err'. */
int rbc_write(const rv_program *p, const char *sign_key_pem,
              uint8_t **out, size_t *outlen, rv_err *err);

/* Parse and verify a .rbc image.  With 'trust_pem' (path to an Ed25519
   public key in PEM) an unsigned file or a bad signature is rejected.
   Returns a new program the caller frees with rv_program_free(), or NULL
   with a message in 'err'.  'buf' is borrowed.  The returned program has
   passed ver_program(). */
rv_program *rbc_load(const uint8_t *buf, size_t len, const char *trust_pem,
                     rv_err *err);

/* Can 'path' be read as an Ed25519 public key in PEM?  0, or -1 with a
   message.  The tools check a --trust key before anything else, so that a
   key they cannot read is an I/O error, not a rejected policy. */
int rbc_check_key(const char *path, rv_err *err);

/* Read a whole file (at most 'max' bytes) into a malloc'd buffer the
   caller frees.  'path' "-" is standard input.  Pipes, terminals and
   devices are read too, never more than max + 1 bytes; a named FIFO that
   no writer opens within RBC_FIFO_WAIT_MS is an error, not a wait without
   end.  Returns 0, -1
   (cannot open or read; message in 'err'), or RBC_TOO_LARGE when the input
   holds more than 'max' bytes (message in 'err'; nothing is kept). */
#define RBC_TOO_LARGE (-2)
#define RBC_FIFO_WAIT_MS 10000
int rbc_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                  rv_err *err);

/* Map a file (at most 'max' bytes) read-only: no copy, no fresh pages.
   Release with rbc_unmap_file(); what cannot be mapped (pipes, standard
   input, empty files) is read as rbc_read_file() does.  Same returns. */
typedef struct { const uint8_t *buf; size_t len; int mapped; } rbc_file;
int rbc_map_file(const char *path, size_t max, rbc_file *f, rv_err *err);
void rbc_unmap_file(rbc_file *f);

#endif
