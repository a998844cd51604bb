/* The bytes an HTTP/1.1 header field may hold (RFC 9110 section 5.5):
   no control character but HTAB, no DEL.  The gateway's server checks
   every request header value with it (vm/serve/http.c), the engine's
   own transport every header line it sends (h1.c), so that neither lets
   a CR, LF or NUL split or cut a head.  Eight bytes are tested at once:
   a head is a few hundred bytes, checked on every request.

   Bytes from 0x80 up (obs-text, UTF-8) are allowed; what they mean is
   the reader's business. */
#ifndef RV_HFIELD_H
#define RV_HFIELD_H

#include <stddef.h>

/* 1 when [s, s + n) holds a control byte other than HTAB, or DEL. */
int hf_bad(const char *s, size_t n);

/* Where the first such byte is in [s, s + n), or 'n' when none is: a
   line's field bytes up to its CR in one pass (hhead.c). */
size_t hf_span(const char *s, size_t n);

#endif
