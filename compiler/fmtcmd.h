/* The 'routec fmt' command: files in, formatted text out (compiler/fmt.h
   does the formatting). */
#ifndef RV_FMTCMD_H
#define RV_FMTCMD_H

/* routec fmt FILE... [--check | -w]; 'argv' holds the 'argc' arguments
   after "fmt" (borrowed).  Returns the exit status (compiler/exitcode.h):
   0, 1 when --check finds a file that would change, 2 for a usage, I/O
   or syntax error. */
int fmtcmd_main(int argc, char **argv);

#endif
