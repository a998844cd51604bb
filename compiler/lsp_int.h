/* The pieces of routec lsp (lsp.h lists them), as the session uses them.
   Ownership: every function that returns a json_t returns a new
   reference the caller owns (json_decref()); every char * returned is
   malloc'd and owned by the caller unless said otherwise; arguments are
   borrowed. */
#ifndef RV_LSP_INT_H
#define RV_LSP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "compiler.h"

/* ---------------------------------------------------------------- lsp_frame.c */

enum { LSPF_MSG, LSPF_EOF, LSPF_BAD };

/* Read one framed message: headers ("Name: value" lines ending in CRLF,
   a bare LF accepted, then an empty line) with exactly one
   Content-Length of at most 'max', then that many bytes of body.
   LSPF_MSG: '*body' (NUL-terminated; the caller frees it) holds '*len'
   bytes.  LSPF_EOF: the input ended cleanly, before a message.
   LSPF_BAD: the stream is not framed as it must be (a message in 'err');
   nothing after it can be trusted. */
int lspf_read(FILE *in, size_t max, char **body, size_t *len, char *err, size_t errlen);
/* Write 'msg' framed, and flush.  0, or -1 when it cannot be written. */
int lspf_write(FILE *out, const json_t *msg);

/* ---------------------------------------------------------------- lsp_uri.c */

/* The path a file: URI names (percent-decoded; "file:///a%20b" is
   "/a b"), or NULL for another scheme or a malformed URI. */
char *lspu_to_path(const char *uri);
/* The file: URI of 'path' (made absolute and canonical when it exists). */
char *lspu_from_path(const char *path);

/* ---------------------------------------------------------------- lsp_pos.c */

/* UTF-16 code units in the 'n' bytes at 's' (UTF-8; a stray byte is one). */
uint32_t lspp_units(const char *s, size_t n);
/* The byte offset in the 'n' bytes at 's' where 'units' UTF-16 code units
   end, at most 'n' (a position inside a character moves to its start). */
size_t lspp_bytes(const char *s, size_t n, uint32_t units);
/* Line 'line' (0-based) of 'text': its first byte and length without the
   line break.  -1 past the last line. */
int lspp_line(const char *text, size_t len, uint32_t line, size_t *start, size_t *linelen);
/* {"line", "character"} */
json_t *lspp_position(uint32_t line, uint32_t character);
/* The line and character of a Position object: 0, or -1 when it is not
   one (missing fields, not integers, negative or past 2^32 - 1). */
int lspp_read(const json_t *pos, uint32_t *line, uint32_t *character);
/* The LSP range of a compiler span (1-based lines, byte columns, end
   exclusive) in file 'at.file' of 'c'. */
json_t *lspp_range(rv_compiler *c, src_span at);

/* ---------------------------------------------------------------- lsp_doc.c */

#define LSPD_MAX_DOCS 256
#define LSPD_MAX_TEXT ((size_t)64 << 20)    /* a document, as any source (compiler/import.c) */
#define LSPD_MAX_TOTAL ((size_t)512 << 20)  /* the documents open together */
#define LSPD_MAX_WORK ((size_t)512 << 20)   /* bytes one didChange may copy */

typedef struct {
    char *uri;            /* as the client names it */
    char *path;           /* the file it names; NULL when not a file: URI */
    char *text;           /* NUL-terminated */
    size_t len;
    json_int_t version;
    rv_compiler *c;       /* the check of 'text' (lspd_check()), or NULL */
    int stale;            /* 'text' changed since; lsp.c checks it when the client pauses */
    uint32_t file;        /* 'text''s index in c->src */
} lspd_doc;

typedef struct {
    lspd_doc *v[LSPD_MAX_DOCS];
    unsigned n;
    size_t bytes;                 /* the texts of the open documents */
    const char *const *incdirs;   /* -I directories (borrowed) */
    unsigned nincdir;
    int std_only;                 /* documents import only standard modules */
} lspd_store;

/* The open document 'uri', or NULL (borrowed from the store). */
lspd_doc *lspd_find(lspd_store *st, const char *uri);
/* Open (or reopen) 'uri' with 'text' (copied).  NULL when out of memory,
   when LSPD_MAX_DOCS documents are open, or when the text is longer than
   LSPD_MAX_TEXT or would take the store past LSPD_MAX_TOTAL. */
lspd_doc *lspd_open(lspd_store *st, const char *uri, const char *text, size_t len, json_int_t version);
/* Apply the contentChanges of a didChange ('changes', a JSON array): each
   {"text"} replaces the whole text, each {"range", "text"} a range of it,
   in order, each against the text the ones before it left; all or none.
   0, or -1 with the text as it was: a change malformed or out of range,
   a text that would pass LSPD_MAX_TEXT or the store LSPD_MAX_TOTAL,
   changes that could copy more than LSPD_MAX_WORK bytes (each range
   change copies the text: the server asks for whole texts, and a client
   must not make it do quadratic work), or out of memory. */
int lspd_change(lspd_store *st, lspd_doc *d, json_t *changes);
void lspd_close(lspd_store *st, const char *uri);
void lspd_free_all(lspd_store *st);
/* Check the document's current text with the compiler (replacing the
   previous check): every pass, the diagnostics sorted.  0, or -1 out of
   memory (d->c is then NULL). */
int lspd_check(lspd_store *st, lspd_doc *d);

/* ---------------------------------------------------------------- lsp_diag.c */

/* The params of textDocument/publishDiagnostics for the document's last
   check: each diagnostic with its code, severity, range, message (its
   hint on a second line) and related location; a diagnostic in an
   imported file is shown on the import that brings the file in. */
json_t *lspg_publish(const lspd_doc *d);
/* A Location {"uri", "range"} of a span in the document's check. */
json_t *lspg_location(const lspd_doc *d, src_span at);

/* ---------------------------------------------------------------- lsp_nav.c */

/* The results of textDocument/definition (a Location, or null), hover
   (a Hover, or null) and completion (CompletionItem[]) at a position
   (0-based line, UTF-16 character) of 'd'. */
json_t *lspn_definition(lspd_doc *d, uint32_t line, uint32_t character);
json_t *lspn_hover(lspd_doc *d, uint32_t line, uint32_t character);
json_t *lspn_completion(lspd_doc *d, uint32_t line, uint32_t character);
/* The result of textDocument/documentSymbol: a DocumentSymbol for each
   declaration of the document itself (not of its imports). */
json_t *lspn_symbols(lspd_doc *d);
/* The result of textDocument/references: every place in the document and
   the files it imports where the declaration under the position is named
   (its own name too when 'with_decl'). */
json_t *lspn_references(lspd_doc *d, uint32_t line, uint32_t character, int with_decl);

#endif
