/* routec lsp: a Language Server Protocol server for .route files,
   speaking JSON-RPC 2.0 over standard input and output with the
   Content-Length framing of the LSP base protocol (docs/editors.md).

   It keeps the documents the editor has open, checks each one with the
   compiler whenever it changes (the unsaved text, with its imports read
   from disk) and answers from that check: diagnostics, go to definition,
   hover, completion, references and the outline.  The pieces, one job each:
       lsp.c          the session: lifecycle, message validation, dispatch
       lsp_frame.c    Content-Length framing on a byte stream
       lsp_doc.c      the open documents and the compile of each
       lsp_uri.c      file: URIs to paths and back
       lsp_pos.c      LSP positions (UTF-16 code units) to byte columns
       lsp_diag.c     the compiler's diagnostics as LSP diagnostics
       lsp_nav.c      definition, hover, completion, references, outline */
#ifndef RV_LSP_H
#define RV_LSP_H

#include <stddef.h>
#include <stdio.h>

/* The largest message body accepted (a .route source is at most 64 MiB,
   and its text travels JSON-escaped). */
#define LSP_MAX_BODY ((size_t)80 << 20)

typedef struct lsp_server lsp_server;

/* A session writing its messages to 'out' (borrowed; flushed after each
   message).  'incdirs' are -I directories for imports, borrowed for the
   session's life.  NULL when out of memory. */
lsp_server *lsp_new(FILE *out, const char *const *incdirs, unsigned nincdir);
void lsp_free(lsp_server *s);
/* Documents may import only standard modules (fuzzing: no other file is
   read). */
void lsp_std_only(lsp_server *s);
/* Handle one message body (JSON text, not NUL-terminated, borrowed).
   Returns 1 once the session has ended (the 'exit' notification), else 0.
   A document opened or changed is checked, and its diagnostics
   published, by the next lsp_flush() (or before a request about it is
   answered). */
int lsp_handle(lsp_server *s, const char *body, size_t len);
/* Check every document changed since its last check and publish its
   diagnostics. */
void lsp_flush(lsp_server *s);
/* The exit status the session ends with: 0 after shutdown then exit, 1
   otherwise (the protocol's rule). */
int lsp_exit_code(const lsp_server *s);

/* Serve messages from 'in' until 'exit', the end of input or a framing
   error (answered with a JSON-RPC error, then the session ends), with
   lsp_flush() whenever the client has sent nothing more yet.  Returns the
   process exit status. */
int lsp_serve(lsp_server *s, FILE *in);

/* routec lsp [--stdio] [-I DIR]...: argv[1] is "lsp". */
int lsp_main(int argc, char **argv);

#endif
