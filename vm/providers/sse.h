/* An incremental Server-Sent Events decoder (WHATWG HTML, "Server-sent
   events", 9.2.6 Interpreting an event stream), for the streaming answers
   of OpenAI-compatible servers and Anthropic.

   Fed the response body in whatever pieces the socket delivers -- down to
   one byte at a time -- it returns one event at a time: its type ("message"
   when the event names none), its data (the values of its 'data:' lines
   joined with \n), the last event ID and the latest reconnection time.  As
   the specification says: the bytes are decoded as UTF-8, each invalid
   sequence becoming U+FFFD (so the data handed on is always valid UTF-8);
   one leading byte-order mark is dropped; lines end at CRLF, LF or a bare
   CR (a CR at the end of one piece and the LF at the start of the next are
   one line end); a line starting with ':' is a comment; a line without ':'
   is a field with an empty value; one space after the colon is dropped;
   unknown fields are ignored; an 'id' containing NUL is ignored; 'retry'
   counts only if it is all ASCII digits; a blank line dispatches the event,
   unless no 'data' line came.

   The one departure: at the end of the stream the specification discards
   an event that no blank line ended.  Real streams end that way (three
   Anthropic SDK fixtures do), so sse_finish() returns such an event marked
   'unterminated' -- and 'cut_line' when its last line had no line end
   either -- and the caller decides.  sse_finish() thus tells a clean end
   (SSE_END) from a cut one (SSE_EVENT with the marks, or
   SSE_ERR_TRUNCATED when the unfinished event had no data).

   Caps (RELIABILITY.md #12): an event's data (its lines joined) is at most
   'max_event' bytes, and so is every line, which bounds an event type or
   id too; passing a cap is an error that names it and the line, never
   unbounded growth.  Comment lines and unknown fields are skipped without
   being stored.  After an error the decoder stays failed until
   sse_decoder_reset().

   Ownership: the decoder owns its buffers; an sse_event's strings point
   into them and are valid until the next call on the decoder.  Input is
   borrowed for the duration of the call.  Nothing here does I/O. */
#ifndef RV_SSE_H
#define RV_SSE_H

#include <stddef.h>
#include <stdint.h>

#define SSE_MAX_EVENT      (1u << 20)   /* default cap: 1 MiB per event and per line */
#define SSE_MAX_EVENT_CAP  (64u << 20)  /* the largest cap a decoder accepts */

typedef struct {
    const char *type;      /* NUL-terminated; "message" when no 'event:' line */
    size_t type_len;
    const char *data;      /* NUL-terminated, but may contain NUL: use data_len */
    size_t data_len;
    const char *id;        /* the last event ID so far (persists across events); "" if none */
    size_t id_len;
    int64_t retry_ms;      /* the latest valid 'retry:' value, -1 if none came */
    int unterminated;      /* sse_finish: no blank line ended this event */
    int cut_line;          /* sse_finish: its last line had no line end either */
} sse_event;

typedef enum {
    SSE_NEED = 0,              /* every byte consumed, no complete event yet */
    SSE_EVENT = 1,             /* '*ev' holds an event */
    SSE_END = 2,               /* sse_finish: the stream ended cleanly, between events */
    SSE_ERR_LINE = -1,         /* a line longer than the cap */
    SSE_ERR_EVENT = -2,        /* an event's data longer than the cap */
    SSE_ERR_TRUNCATED = -3,    /* sse_finish: the stream ended inside an event without data */
    SSE_ERR_NOMEM = -4,
} sse_status;

typedef struct sse_decoder sse_decoder;

/* A decoder with cap 'max_event' (0: SSE_MAX_EVENT; above
   SSE_MAX_EVENT_CAP: that).  NULL when out of memory.
   sse_decoder_free() accepts NULL. */
sse_decoder *sse_decoder_new(size_t max_event);
void sse_decoder_free(sse_decoder *d);

/* Back to the state of a new decoder (no last event ID, no retry). */
void sse_decoder_reset(sse_decoder *d);

/* Decode from buf[0..len).  Returns SSE_EVENT with '*ev' filled and
   '*used' bytes consumed (call again with the rest), SSE_NEED with every
   byte consumed, or an error (negative; '*used' says how far it got). */
sse_status sse_feed(sse_decoder *d, const void *buf, size_t len, size_t *used, sse_event *ev);

/* End of stream.  SSE_END: it ended between events (only comments or
   nothing after the last blank line).  SSE_EVENT: '*ev' is the event the
   stream ended inside, with 'unterminated' (and maybe 'cut_line') set: the
   end was not clean.  SSE_ERR_TRUNCATED: it ended inside an event that has
   no data.  Or the error the decoder already failed with.  Afterwards the
   decoder starts a new stream (as sse_decoder_reset) at the next call. */
sse_status sse_finish(sse_decoder *d, sse_event *ev);

/* The last error as a sentence naming the cap and the line
   ("line 12: an event's data exceeds 1048576 bytes"); "" when none.
   Borrowed from the decoder. */
const char *sse_decoder_error(const sse_decoder *d);

/* A short fixed name for a status ("line too long", ...). */
const char *sse_status_name(sse_status st);

#endif
