/* Numbers as text for the gateway's hot path: response heads, chunk
   sizes, request ids, costs -- built by appending digits, not through
   the printf family (whose format parsing cost more than the rest of a
   response head).  Each writer puts its digits at 'buf' followed by a
   NUL and returns how many digits it wrote; the caller provides room
   (NF_MAX bytes always suffice). */
#ifndef RV_SERVE_NUMFMT_H
#define RV_SERVE_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define NF_MAX 32

/* Decimal. */
size_t nf_u64(char *buf, uint64_t v);
/* Lower-case hexadecimal, at least 'width' digits (zero-padded). */
size_t nf_hex(char *buf, uint64_t v, unsigned width);
/* Picodollars as dollars, exact, without trailing zeros beyond the
   first decimal ("0.000034", "1.5", "0.0"); negative amounts as 0. */
size_t nf_dollars(char *buf, int64_t pd);

#endif
