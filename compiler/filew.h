/* Writing an output file of a command (routec build's .rbc, routec
   import's policy, routec graph's drawing, routec fmt -w's rewrite) so
   that a reader sees the old content or the new one, never a part, and
   the file keeps what made it that file: its names, its mode, its owner.

   The normal case is a temporary file beside the target, given the old
   file's mode and owner (a new file gets 0666 less the umask, as fopen
   would give it), flushed to disk and renamed over the target; the
   directory is then flushed so the rename is on disk too.  A symbolic
   link is followed and stays a link.  A rename would give the target a
   new inode, which cuts a file with several hard links off from its other
   names, and it would make the writer the owner of a file it may write
   but not give away; in those two cases the target is rewritten in place
   instead (as Vim's 'backupcopy' "auto" and Emacs's
   backup-by-copying-when-linked do): its old content is first copied to
   a backup file beside it and flushed, the space for the new content is
   reserved, the new content written and flushed, and the backup removed.
   An interrupted rewrite leaves the backup, and the error names it.  A
   target that is not a regular file (a terminal, /dev/null, a FIFO) is
   written straight, never renamed over. */
#ifndef RV_FILEW_H
#define RV_FILEW_H

#include <stddef.h>

enum {
    /* 'path' must be an existing regular file, which the writer may
       write (not only its directory): routec fmt -w rewriting a source */
    FW_EXISTING = 1,
};

/* Make buf[0, len) the content of 'path' as described above.  0, or -1
   with a message "cannot write 'PATH': REASON" in err[0, errlen) (errno
   set); on failure the target keeps its old content, except when an
   in-place rewrite failed half-way, which the message then says, naming
   the backup.  'buf' is borrowed. */
int fw_write(const char *path, const void *buf, size_t len, unsigned flags, char *err, size_t errlen);

#endif
