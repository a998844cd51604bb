/* The LSP session: the lifecycle (initialize, initialized, shutdown,
   exit), the validation of each JSON-RPC message, and the table of
   methods.  Messages arrive framed (lsp_frame.c) and are parsed with
   jansson; answers are built with jansson and written framed.

   What each kind of bad input gets (JSON-RPC 2.0 and LSP 3.17 codes):
     not JSON                          -32700 ParseError, id null
     not an object, no "jsonrpc":"2.0", a bad id or method
                                       -32600 InvalidRequest
     a request before initialize       -32002 ServerNotInitialized
     a request after shutdown          -32600 InvalidRequest
     an unknown request                -32601 MethodNotFound
     bad params of a request           -32602 InvalidParams
     an unknown or bad notification    ignored (a notification has no answer;
                                       a note on standard error)
     bad framing, a body over LSP_MAX_BODY
                                       -32700 with id null, then the session ends
   Standard output carries only protocol messages; notes go to standard
   error. */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lsp.h"
#include "lsp_int.h"
#include "mem.h"

enum { ST_NEW, ST_RUNNING, ST_SHUTDOWN };

enum {
    ERR_PARSE = -32700, ERR_INVALID_REQUEST = -32600, ERR_METHOD = -32601, ERR_PARAMS = -32602,
    ERR_INTERNAL = -32603, ERR_NOT_INITIALIZED = -32002,
};

struct lsp_server {
    FILE *out;
    int state, ended;
    int broken;             /* the output failed */
    lspd_store docs;
};

lsp_server *lsp_new(FILE *out, const char *const *incdirs, unsigned nincdir)
{
    lsp_server *s = mem_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->out = out;
    s->docs.incdirs = incdirs;
    s->docs.nincdir = nincdir;
    return s;
}

void lsp_free(lsp_server *s)
{
    if (!s)
        return;
    lspd_free_all(&s->docs);
    free(s);
}

void lsp_std_only(lsp_server *s)
{
    s->docs.std_only = 1;
}

int lsp_exit_code(const lsp_server *s)
{
    return s->state == ST_SHUTDOWN && !s->broken ? 0 : 1;
}

/* ---------------------------------------------------------------- sending */

/* A message that cannot be written (the client has gone) ends the
   session with status 1. */
static void send(lsp_server *s, json_t *msg)
{
    if (msg && !s->broken && lspf_write(s->out, msg)) {
        fprintf(stderr, "routec lsp: cannot write a message; ending the session\n");
        s->broken = s->ended = 1;
    }
    json_decref(msg);
}

/* 'result' is consumed; NULL (out of memory) becomes an internal error */
static void reply(lsp_server *s, json_t *id, json_t *result)
{
    if (!result) {
        send(s, json_pack("{s:s,s:O,s:{s:I,s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
                          (json_int_t)ERR_INTERNAL, "message", "out of memory"));
        return;
    }
    send(s, json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

/* 'id' NULL: null (the message's id could not be read) */
static void reply_error(lsp_server *s, json_t *id, int code, const char *msg)
{
    json_t *nid = id ? json_incref(id) : json_null();
    send(s, json_pack("{s:s,s:o,s:{s:I,s:s}}", "jsonrpc", "2.0", "id", nid, "error", "code", (json_int_t)code,
                      "message", msg));
}

static void notify(lsp_server *s, const char *method, json_t *params)
{
    if (params)
        send(s, json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method, "params", params));
}

/* ---------------------------------------------------------------- params */

/* params.textDocument.uri, or NULL */
static const char *doc_uri(json_t *params)
{
    return json_string_value(json_object_get(json_object_get(params, "textDocument"), "uri"));
}

/* params.position: 0 with the line and character, -1 when malformed */
static int position(json_t *params, uint32_t *line, uint32_t *character)
{
    return lspp_read(json_object_get(params, "position"), line, character);
}

/* ---------------------------------------------------------------- checks */

/* Check a document whose text changed since its last check, and
   publish its diagnostics. */
static void publish(lsp_server *s, lspd_doc *d)
{
    d->stale = 0;
    if (lspd_check(&s->docs, d))
        fprintf(stderr, "routec lsp: out of memory checking %s\n", d->uri);
    notify(s, "textDocument/publishDiagnostics", lspg_publish(d));
}

void lsp_flush(lsp_server *s)
{
    for (unsigned i = 0; i < s->docs.n && !s->ended; i++)
        if (s->docs.v[i]->stale)
            publish(s, s->docs.v[i]);
}

/* ---------------------------------------------------------------- requests */

/* The requests about a position in a document, and whether their
   answer is a list (empty for a document that is not open) or null. */
static json_t *definition(lspd_doc *d, uint32_t l, uint32_t c, json_t *p) { (void)p; return lspn_definition(d, l, c); }
static json_t *hover(lspd_doc *d, uint32_t l, uint32_t c, json_t *p) { (void)p; return lspn_hover(d, l, c); }
static json_t *completion(lspd_doc *d, uint32_t l, uint32_t c, json_t *p) { (void)p; return lspn_completion(d, l, c); }
static json_t *references(lspd_doc *d, uint32_t l, uint32_t c, json_t *p)
{
    return lspn_references(d, l, c, json_is_true(json_object_get(json_object_get(p, "context"), "includeDeclaration")));
}

static const struct {
    const char *method;
    json_t *(*fn)(lspd_doc *, uint32_t, uint32_t, json_t *params);
    int list;
} nav[] = {
    { "textDocument/definition", definition, 0 },
    { "textDocument/hover", hover, 0 },
    { "textDocument/completion", completion, 1 },
    { "textDocument/references", references, 1 },
};

static json_t *initialize_result(void)
{
    return json_pack("{s:{s:s,s:{s:b,s:I},s:b,s:b,s:b,s:b,s:{s:[s]}},s:{s:s}}",
                     "capabilities",
                       "positionEncoding", "utf-16",
                       "textDocumentSync", "openClose", 1, "change", (json_int_t)1 /* full text */,
                       "definitionProvider", 1,
                       "hoverProvider", 1,
                       "documentSymbolProvider", 1,
                       "referencesProvider", 1,
                       "completionProvider", "triggerCharacters", ".",
                     "serverInfo", "name", "routec");
}

static void on_request(lsp_server *s, json_t *id, const char *method, json_t *params)
{
    if (!strcmp(method, "initialize")) {
        if (s->state != ST_NEW) {
            reply_error(s, id, ERR_INVALID_REQUEST, "initialize was already received");
            return;
        }
        s->state = ST_RUNNING;
        reply(s, id, initialize_result());
        return;
    }
    if (s->state == ST_NEW) {
        reply_error(s, id, ERR_NOT_INITIALIZED, "the server is not initialized");
        return;
    }
    if (s->state == ST_SHUTDOWN) {
        reply_error(s, id, ERR_INVALID_REQUEST, "the server is shut down");
        return;
    }
    if (!strcmp(method, "shutdown")) {
        s->state = ST_SHUTDOWN;
        reply(s, id, json_null());
        return;
    }
    if (!strcmp(method, "textDocument/documentSymbol")) {
        lspd_doc *d = doc_uri(params) ? lspd_find(&s->docs, doc_uri(params)) : NULL;
        if (d && d->stale)
            publish(s, d);
        reply(s, id, d ? lspn_symbols(d) : json_array());
        return;
    }
    size_t k = 0;
    while (k < sizeof nav / sizeof *nav && strcmp(method, nav[k].method))
        k++;
    if (k == sizeof nav / sizeof *nav) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown method '%.200s'", method);
        reply_error(s, id, ERR_METHOD, msg);
        return;
    }
    const char *uri = doc_uri(params);
    uint32_t line, character;
    if (!uri || position(params, &line, &character)) {
        reply_error(s, id, ERR_PARAMS, "params need textDocument.uri and a position {line, character}");
        return;
    }
    lspd_doc *d = lspd_find(&s->docs, uri);
    if (!d) {   /* a document that is not open: nothing is known of it */
        reply(s, id, nav[k].list ? json_array() : json_null());
        return;
    }
    if (d->stale)   /* answer from the text as it is now */
        publish(s, d);
    reply(s, id, nav[k].fn(d, line, character, params));
}

/* ---------------------------------------------------------------- notifications */

static void did_open(lsp_server *s, json_t *params)
{
    json_t *td = json_object_get(params, "textDocument");
    const char *uri = json_string_value(json_object_get(td, "uri"));
    json_t *text = json_object_get(td, "text");
    if (!uri || !json_is_string(text)) {
        fprintf(stderr, "routec lsp: didOpen without textDocument.uri and text\n");
        return;
    }
    lspd_doc *d = lspd_open(&s->docs, uri, json_string_value(text), json_string_length(text),
                            json_integer_value(json_object_get(td, "version")));
    if (!d) {
        fprintf(stderr, "routec lsp: cannot open %s (out of memory, %d documents open, or its text over %zu MiB "
                "or all open texts over %zu MiB)\n", uri, LSPD_MAX_DOCS, LSPD_MAX_TEXT >> 20, LSPD_MAX_TOTAL >> 20);
        return;
    }
    d->stale = 1;
}

static void did_change(lsp_server *s, json_t *params)
{
    lspd_doc *d = lspd_find(&s->docs, doc_uri(params) ? doc_uri(params) : "");
    json_t *changes = json_object_get(params, "contentChanges");
    if (!d || !json_is_array(changes)) {
        fprintf(stderr, "routec lsp: didChange of a document that is not open, or without contentChanges\n");
        return;
    }
    if (lspd_change(&s->docs, d, changes)) {
        fprintf(stderr, "routec lsp: the changes to %s could not be applied (malformed, out of range, "
                "or too large); the text is as before\n", d->uri);
        return;
    }
    json_t *v = json_object_get(json_object_get(params, "textDocument"), "version");
    if (json_is_integer(v))
        d->version = json_integer_value(v);
    d->stale = 1;
}

static void did_close(lsp_server *s, json_t *params)
{
    const char *uri = doc_uri(params);
    if (!uri || !lspd_find(&s->docs, uri))
        return;
    /* its diagnostics go with it */
    notify(s, "textDocument/publishDiagnostics", json_pack("{s:s,s:[]}", "uri", uri, "diagnostics"));
    lspd_close(&s->docs, uri);
}

static void on_notification(lsp_server *s, const char *method, json_t *params)
{
    if (!strcmp(method, "exit")) {
        s->ended = 1;
        return;
    }
    if (s->state != ST_RUNNING)   /* before initialize, and after shutdown: dropped */
        return;
    if (!strcmp(method, "textDocument/didOpen"))
        did_open(s, params);
    else if (!strcmp(method, "textDocument/didChange"))
        did_change(s, params);
    else if (!strcmp(method, "textDocument/didClose"))
        did_close(s, params);
    /* initialized, $/cancelRequest, didSave and the rest: nothing to do */
}

/* ---------------------------------------------------------------- messages */

/* A valid id: a string or an integer (null is allowed only in answers) */
static int good_id(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

int lsp_handle(lsp_server *s, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg) {
        char m[300];
        snprintf(m, sizeof m, "parse error at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        reply_error(s, NULL, ERR_PARSE, m);
        return s->ended;
    }
    json_t *id = json_object_get(msg, "id"), *method = json_object_get(msg, "method");
    json_t *params = json_object_get(msg, "params");
    const char *v = json_string_value(json_object_get(msg, "jsonrpc"));
    if (!json_is_object(msg) || !v || strcmp(v, "2.0")) {
        reply_error(s, good_id(id) ? id : NULL, ERR_INVALID_REQUEST, "not a JSON-RPC 2.0 message");
    } else if (!method && id && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
        /* an answer to a request of ours: this server sends none */
    } else if (!json_is_string(method) || (id && !good_id(id)) ||
               (params && !json_is_object(params) && !json_is_array(params))) {
        reply_error(s, good_id(id) ? id : NULL, ERR_INVALID_REQUEST, "a message needs a method, an id that is "
                    "a number or a string, and params that are an object or an array");
    } else if (id) {
        on_request(s, id, json_string_value(method), params);
    } else {
        on_notification(s, json_string_value(method), params);
    }
    json_decref(msg);
    return s->ended;
}

/* Whether the client has already sent more: documents changed by a burst
   of messages are checked once, after the last (a policy that takes a
   second to check does not fall behind typing).  Only the descriptor is
   asked, so 'in' must be unbuffered for the answer to be exact (lsp_main
   makes it so); a buffered or memory stream reads as "no more", and every
   message is then followed by the checks it calls for. */
static int more_input(FILE *in)
{
    int fd = fileno(in);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

int lsp_serve(lsp_server *s, FILE *in)
{
    for (;;) {
        char *body, err[256];
        size_t len;
        int r = lspf_read(in, LSP_MAX_BODY, &body, &len, err, sizeof err);
        if (r == LSPF_EOF)
            return 1;   /* the client went away without 'exit' */
        if (r == LSPF_BAD) {
            char m[300];
            snprintf(m, sizeof m, "bad framing: %s", err);
            reply_error(s, NULL, ERR_PARSE, m);
            fprintf(stderr, "routec lsp: %s; ending the session\n", m);
            return 1;
        }
        int ended = lsp_handle(s, body, len);
        free(body);
        if (!ended && !more_input(in))
            lsp_flush(s);
        if (s->ended)
            return lsp_exit_code(s);
    }
}

int lsp_main(int argc, char **argv)
{
    const char *incdirs[32];
    unsigned n = 0;
    for (int i = 2; i < argc; i++) {
        const char *dir = !strcmp(argv[i], "-I") && i + 1 < argc ? argv[++i]
                        : !strncmp(argv[i], "-I", 2) && argv[i][2] ? argv[i] + 2 : NULL;
        if (dir && n < 32) {
            incdirs[n++] = dir;
        } else if (strcmp(argv[i], "--stdio")) {   /* (what VS Code's client passes) */
            fprintf(stderr, "usage: routec lsp [--stdio] [-I DIR]...\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);   /* a client that goes away is a failed write, not a signal */
    setvbuf(stdin, NULL, _IONBF, 0);   /* (more_input() asks the descriptor) */
    lsp_server *s = lsp_new(stdout, incdirs, n);
    if (!s) {
        fprintf(stderr, "routec lsp: out of memory\n");
        return 2;
    }
    int rc = lsp_serve(s, stdin);
    lsp_free(s);
    return rc;
}
