/* A line reader with a cap: lines of a stream (a file, a pipe, standard
   input) one at a time, each at most 'max' bytes kept in memory, however
   long the line or the stream.  'routevm explain --requests' reads JSON
   Lines with it.  A line longer than the cap is reported as such and its
   bytes are read and dropped up to its end, so the stream goes on at the
   next line and memory stays at max plus one read buffer. */
#ifndef RV_LINES_H
#define RV_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* ---------------------------------------------------------------- JSON Lines files */

/* Reading a JSON Lines file of records whose bad lines are reported and
   skipped (or end the read): 'routevm simulate --replay' and 'routevm
   report' read their files this way, so both say the same things about
   the same faults. */

typedef struct {
    uint32_t lines, records, bad;   /* lines read (blank ones included), records kept, lines skipped */
} ln_stats;

/* Called with each line that is not blank (spaces, tabs, a CR), without
   its newline; 'line' is only valid during the call.  Returns 0 when the
   line was kept, 1 when it is bad (why in 'err'), -1 when the read must
   stop here (why in 'err': a cap reached, out of memory). */
typedef int (*ln_record_fn)(void *ud, const char *line, size_t len, uint32_t lineno, char *err, size_t errlen);

/* Read every line of 'path' ("-" is standard input), lines capped at
   'max' bytes, through 'fn'.  A bad or overlong line is reported to 'log'
   as "PATH:LINE: message; skipped" and skipped, or, with 'strict', ends
   the read.  Returns 0; 1 when strict mode stopped at a bad line or 'fn'
   stopped the read (both reported); -1 when the file cannot be read
   (reported).  'st' gets the counts. */
int ln_read_file(const char *path, size_t max, int strict, FILE *log, ln_record_fn fn, void *ud, ln_stats *st);

#endif
