/* Writing an output file of a command (routec build's .rbc, routec
   import's policy) so that a reader sees the old file or the new one,
   never a part: a temporary file beside it, flushed to disk, renamed over
   it.  (routec fmt -w, which also keeps the old file's mode and owner and
   follows symbolic links, has its own, compiler/fmtcmd.c.) */
#ifndef RV_FILEW_H
#define RV_FILEW_H

#include <stddef.h>

/* Write buf[0, len) to 'path'.  The file gets mode 0666 less the umask,
   as fopen would give it.  0, or -1 with errno set; the temporary file is
   removed and 'path' untouched on failure. */
int fw_write_atomic(const char *path, const void *buf, size_t len);

#endif
