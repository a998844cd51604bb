/* A server-sent-events reader (the WHATWG event-stream format) for the
   provider runtime's streams: fed whatever a read delivered, it calls
   back once per event with its type and data.

   Lines end in CRLF, LF or a bare CR (a CR at the end of one read and an
   LF at the start of the next are one line end); "data:" lines are joined
   with "\n"; comment lines (": keep-alive") and unknown fields are
   skipped; a blank line ends an event; an event that ends the stream
   without its blank line is still delivered by sr_finish().  An event
   larger than the reader's cap is an error, never unbounded growth.

   Ownership: the reader owns its buffers; 'type' and 'data' passed to the
   callback are valid during the callback only. */
#ifndef RV_SSEREAD_H
#define RV_SSEREAD_H

#include <stddef.h>

#define SR_MAX_EVENT (4u << 20)

/* Return nonzero to stop reading (sr_feed then returns 1). */
typedef int (*sr_event_fn)(void *ud, const char *type, size_t tlen, const char *data, size_t dlen);

typedef struct {
    char *line;     size_t llen, lcap;  /* the line being read */
    char *data;     size_t dlen, dcap;  /* the event's data so far */
    char type[64];  size_t tlen;
    int has_data, last_cr, failed;
    size_t cap;
} sr_reader;

/* 'cap' 0: SR_MAX_EVENT. */
void sr_init(sr_reader *r, size_t cap);
void sr_free(sr_reader *r);

/* Feed bytes.  Returns 0, 1 when the callback asked to stop, or -1 when an
   event passed the cap (or memory ran out). */
int sr_feed(sr_reader *r, const char *p, size_t n, sr_event_fn fn, void *ud);
/* End of stream: delivers an event left without its blank line.  Same
   returns. */
int sr_finish(sr_reader *r, sr_event_fn fn, void *ud);

#endif
