/* The compiler's diagnostics as LSP diagnostics: the name from diag.def
   as 'code', the severity (error 1, warning 2, note 3), the span as a
   range, the message with its hint on a second line ("hint: ..."), and a
   related note as relatedInformation.  A diagnostic in a file the
   document imports (directly or not) is shown on the document's own
   import that brings that file in, its text prefixed with where it
   stands, and that place given as related information too. */
#include <stdlib.h>
#include <string.h>

#include "lsp_int.h"

static int severity(diag_sev s)
{
    return s == SEV_ERROR ? 1 : s == SEV_WARNING ? 2 : 3;
}

/* The file: URI of a file of the compilation (the document's own URI for
   the document). */
static json_t *uri_of(const lspd_doc *d, uint32_t file)
{
    if (file == d->file || file >= d->c->src.n)
        return json_string(d->uri);
    char *u = lspu_from_path(d->c->src.files[file].path);
    json_t *j = u ? json_string(u) : NULL;
    free(u);
    return j;
}

json_t *lspg_location(const lspd_doc *d, src_span at)
{
    return json_pack("{s:o,s:o}", "uri", uri_of(d, at.file), "range", lspp_range(d->c, at));
}

/* The span in the document of the import through which 'at' is reached
   (at itself when it is in the document).  The chain of imports is at
   most as long as the number of files. */
static src_span in_document(const lspd_doc *d, src_span at)
{
    for (uint32_t hops = 0; at.file != d->file && hops <= d->c->src.n; hops++) {
        const src_span *from = import_origin(d->c, at.file);
        if (!from)
            return (src_span){ .file = d->file };
        at = *from;
    }
    return at.file == d->file ? at : (src_span){ .file = d->file };
}

/* A file's name as shown, relative to the document's directory when it
   is under it ("lib/x.route" rather than "/home/.../lib/x.route"). */
static const char *short_name(const lspd_doc *d, const char *name)
{
    const char *slash = d->path ? strrchr(d->path, '/') : NULL;
    size_t n = slash ? (size_t)(slash - d->path) + 1 : 0;
    return n && !strncmp(name, d->path, n) && name[n] ? name + n : name;
}

static json_t *one(const lspd_doc *d, const diag *g)
{
    rv_compiler *c = d->c;
    src_span at = g->at.line ? in_document(d, g->at) : (src_span){ .file = d->file };
    char *msg = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&msg, &len);
    if (!m)
        return NULL;
    if (g->at.file != d->file && g->at.file < c->src.n && g->at.line)
        fprintf(m, "%s:%u:%u: ", short_name(d, c->src.files[g->at.file].name), g->at.line, g->at.col);
    fputs(g->msg, m);
    if (g->hint)
        fprintf(m, "\nhint: %s", g->hint);
    if (fclose(m))
        return NULL;
    json_t *j = json_pack("{s:o,s:I,s:s,s:s,s:s%}", "range", lspp_range(c, at), "severity",
                          (json_int_t)severity(g->sev), "code", diag_names[g->code], "source", "routec",
                          "message", msg, len);
    free(msg);
    if (!j)
        return NULL;
    json_t *rel = json_array();
    if (g->note)
        json_array_append_new(rel, json_pack("{s:o,s:s}", "location", lspg_location(d, g->note_at), "message", g->note));
    if (g->at.file != d->file && g->at.line)
        json_array_append_new(rel, json_pack("{s:o,s:s}", "location", lspg_location(d, g->at), "message", g->msg));
    if (json_array_size(rel))
        json_object_set_new(j, "relatedInformation", rel);
    else
        json_decref(rel);
    return j;
}

json_t *lspg_publish(const lspd_doc *d)
{
    json_t *list = json_array();
    if (d->c)
        for (unsigned i = 0; i < d->c->diag.n; i++)
            json_array_append_new(list, one(d, &d->c->diag.v[i]));   /* (NULL, out of memory: left out) */
    return json_pack("{s:s,s:I,s:o}", "uri", d->uri, "version", d->version, "diagnostics", list);
}
