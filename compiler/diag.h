/* Diagnostics: collected during a compile, sorted by position, printed as
   text (file:line:col: severity: message [name], the source line, a caret
   under the span, hints), JSON or SARIF 2.1.0. */
#ifndef RV_DIAG_H
#define RV_DIAG_H

#include <stdarg.h>
#include <stdio.h>

#include "arena.h"
#include "source.h"

typedef enum {
#define D(id, name, sev, desc) DG_##id,
#include "diag.def"
#undef D
    DG__COUNT
} diag_code;

typedef enum { SEV_NOTE, SEV_WARNING, SEV_ERROR } diag_sev;

/* The texts belong to the diag_ctx (its arena 'text'); a hint the same
   as the previous diagnostic's is the same string. */
typedef struct {
    diag_code code;
    diag_sev sev;
    src_span at;
    const char *msg;
    const char *hint;     /* or NULL */
    const char *note;     /* related location's message, or NULL */
    src_span note_at;
    unsigned seq;
} diag;

typedef struct {
    src_set *src;         /* (its texts are read again when released) */
    diag *v;
    unsigned n, cap;
    arena text;           /* the diagnostics' texts */
    const char *last_hint;
    unsigned nerr, nwarn;
    int werror;           /* warnings count as errors */
    int oom;
} diag_ctx;

typedef enum { DIAG_TEXT, DIAG_JSON, DIAG_SARIF } diag_format;

extern const char *const diag_names[DG__COUNT];
extern const char *const diag_descs[DG__COUNT];

void diag_init(diag_ctx *d, src_set *src);
/* Report a diagnostic of 'code' at its default severity. */
void diag_report(diag_ctx *d, diag_code code, src_span at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_vreport(diag_ctx *d, diag_code code, src_span at, const char *fmt, va_list ap);
/* Attach a hint / a related note to the last diagnostic reported. */
void diag_hint(diag_ctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(diag_ctx *d, src_span at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Did-you-mean: the closest of 'cands' to 'word' within a small edit
   distance, or NULL. */
const char *diag_suggest(const char *word, const char *const *cands, size_t n);
/* "an" before a word that starts with a vowel ("an agent"), else "a". */
const char *diag_a(const char *word);
/* Has a diagnostic of 'code' been reported? */
int diag_has(const diag_ctx *d, diag_code code);
void diag_sort(diag_ctx *d);
void diag_print(diag_ctx *d, diag_format fmt, FILE *out);
/* Several compilations' diagnostics as one text, JSON array or SARIF run. */
void diag_print_all(diag_ctx **ds, unsigned n, diag_format fmt, FILE *out);
int diag_failed(const diag_ctx *d);   /* errors, or warnings under -Werror */
void diag_free(diag_ctx *d);

#endif
