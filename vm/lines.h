/* A line reader with a cap: lines of a stream (a file, a pipe, standard
   input) one at a time, each at most 'max' bytes kept in memory, however
   long the line or the stream.  'routevm explain --requests' reads JSON
   Lines with it.  A line longer than the cap is reported as such and its
   bytes are read and dropped up to its end, so the stream goes on at the
   next line and memory stays at max plus one read buffer. */
#ifndef RV_LINES_H
#define RV_LINES_H

#include <stddef.h>

typedef struct ln_reader ln_reader;

/* A reader of file descriptor 'fd' (borrowed: the caller closes it) with
   lines of at most 'max' bytes; NULL when out of memory. */
ln_reader *ln_open(int fd, size_t max);
void ln_close(ln_reader *r);   /* accepts NULL */

typedef enum {
    LN_LINE,        /* *line, *len: the line without its "\n" (or "\r\n") */
    LN_TOO_LONG,    /* the line had more than 'max' bytes; *len: how many, at least max + 1 */
    LN_END,         /* end of the stream */
    LN_ERROR        /* a read error (errno is set) */
} ln_status;

/* The next line.  *line points into the reader and stays valid until the
   next call.  The last line needs no "\n". */
ln_status ln_next(ln_reader *r, const char **line, size_t *len);

#endif
