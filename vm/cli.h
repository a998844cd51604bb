/* routevm's backtest commands, above the VM and the compiler:

     routevm simulate   vm/cli_simulate.c   replay recorded traffic (vm/simulate.h)
     routevm diff       vm/cli_diff.c       what traffic a policy change moves
     routevm report     vm/cli_report.c     cost and latency from traces

   These files are linked into routevm only (not libvm), since they load
   policies through the compiler.  Each command returns an exit status
   (compiler/exitcode.h) and writes errors to stderr. */
#ifndef RV_CLI_H
#define RV_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "polload.h"
#include "program.h"

int cli_simulate(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_report(int argc, char **argv);

/* A constant override, NAME=VALUE (compiler/override.h). */
typedef pl_set cli_set;

/* Load POLICY: a .route file is compiled in memory with the overrides in
   'sets' applied; anything else is loaded as .rbc, verified (and, with
   'trust', its signature checked; a .route source is then refused).
   Overrides need the source: with 'nsets' > 0 a .rbc is refused.
   Diagnostics go to stderr.  Returns a program the caller frees with
   rv_program_free(), or NULL with the exit status in '*rc': RC_USAGE when
   the file cannot be read, RC_FINDINGS when it is not a valid policy. */
rv_program *cli_load_policy(const char *path, const char *trust, const cli_set *sets, size_t nsets, int *rc);
/* The same with every option of compiler/polload.h (-I directories). */
rv_program *cli_load(const char *path, const pl_opts *o, int *rc);

/* A decimal count from 0 to 'max' (an option's value).  Returns 0, or -1. */
int cli_parse_count(const char *s, int64_t max, int64_t *out);

/* An output file of a command (an --html page), made in memory and
   written whole once complete, as routec writes its files
   (compiler/filew.h: a reader never sees half a page).  cli_create()
   starts it and returns the stream to write to (NULL, reported on
   stderr, when out of memory); cli_finish() writes it to 'path' and
   frees it (0, or -1 reported); cli_discard() frees it unwritten.  'o'
   and 'path' are the caller's; 'path' must live until cli_finish(). */
typedef struct { FILE *f; char *buf; size_t len; const char *path; } cli_out;
FILE *cli_create(cli_out *o, const char *path);
int cli_finish(cli_out *o);
void cli_discard(cli_out *o);

/* The start every command that reads a file of records shares: "-h" or
   "--help" first prints 'usage' on standard output; otherwise 'parse'
   reads the command line (argv[2] on) into 'opts' (borrowed), and a bad
   one is followed by 'usage' on standard error.  Returns -1 to go on, or
   the exit status to return: RC_OK after --help, RC_USAGE. */
typedef void cli_usage_fn(FILE *f);
typedef int cli_parse_fn(int argc, char **argv, void *opts);
int cli_begin(int argc, char **argv, cli_usage_fn *usage, cli_parse_fn *parse, void *opts);

/* The note on standard error that 'bad' lines of 'path' were skipped
   (nothing when none were). */
void cli_note_skipped(const char *path, uint32_t bad, uint32_t records);

/* Parse "NAME=VALUE" into 's' (pointers into 'arg').  Returns 0, or -1. */
int cli_parse_set(char *arg, cli_set *s);

#endif
