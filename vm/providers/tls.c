/* TLS for the own HTTP/1.1 transport; see tls.h.

   One SSL_CTX per engine holds the trust store and the settings every
   connection shares: TLS 1.2 at least, peer verification, ALPN
   "http/1.1", renegotiation refused, partial writes (a large body goes
   out record by record as the socket drains), read-ahead (a record's
   header and body in one recv, several records when they are there).
   Sessions are kept by the caller, one per (host, port), not in
   OpenSSL's cache: the new-session callback puts each session the
   server issues (during the handshake in TLS 1.2, in a ticket after it
   in TLS 1.3) into the connection's slot, replacing the last.

   The socket is reached through a BIO of our own rather than OpenSSL's
   socket BIO, which writes with write() and so raises SIGPIPE on a
   connection the peer reset; ours sends with MSG_NOSIGNAL.

   OpenSSL keeps errors in a per-thread queue; each call clears it
   first, so that an error left by an earlier call on this thread (or by
   libcurl, which shares OpenSSL) is not read as this call's. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mem.h"
#include "tls.h"

struct tls_ctx {
    SSL_CTX *ctx;
    BIO_METHOD *bio;
};

struct tls_conn {
    SSL *ssl;
    tls_slot *slot;
    int done;                   /* the handshake finished */
    char host[];
};

/* ---------------------------------------------------------------- the socket BIO */

static int sock_of(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t r;
    do
        r = send(sock_of(b), buf, (size_t)n, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)r;
}

static int bio_read(BIO *b, char *buf, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t r;
    do
        r = recv(sock_of(b), buf, (size_t)n, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    if (r == 0)
        errno = 0;              /* an end, not an error: the caller tells them apart by errno */
    return (int)r;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH;   /* writes are not buffered here */
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "routevm socket");
    if (m && (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
              !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---------------------------------------------------------------- context */

/* A session the server issued: kept in the connection's slot. */
static int on_new_session(SSL *ssl, SSL_SESSION *s)
{
    tls_conn *c = SSL_get_app_data(ssl);
    if (!c || !c->slot)
        return 0;
    tls_slot_clear(c->slot);
    c->slot->session = s;
    return 1;                   /* ours now */
}

tls_ctx *tls_ctx_new(const char *ca_file, const char *ca_dir, char *err, size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    ERR_clear_error();
    tls_ctx *t = mem_calloc(1, sizeof *t);
    if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method())) || !(t->bio = bio_method())) {
        snprintf(err, errlen, "out of memory");
        tls_ctx_free(t);
        return NULL;
    }
    SSL_CTX *x = t->ctx;
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(x, 1);
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(x, on_new_session);
    if (SSL_CTX_set_alpn_protos(x, alpn, sizeof alpn - 1)) {
        snprintf(err, errlen, "out of memory");
        tls_ctx_free(t);
        return NULL;
    }
    if (ca_file && access(ca_file, R_OK)) {
        snprintf(err, errlen, "cannot load the CA certificates from %s: %s", ca_file, strerror(errno));
        tls_ctx_free(t);
        return NULL;
    }
    if ((ca_file || ca_dir) && SSL_CTX_load_verify_locations(x, ca_file, ca_dir) != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(err, errlen, "cannot load the CA certificates from %s: %s", ca_file ? ca_file : ca_dir,
                 e ? ERR_reason_error_string(e) : "no certificate");
        ERR_clear_error();
        tls_ctx_free(t);
        return NULL;
    }
    return t;
}

void tls_ctx_free(tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    BIO_meth_free(t->bio);
    free(t);
}

/* ---------------------------------------------------------------- connections */

void tls_slot_clear(tls_slot *s)
{
    SSL_SESSION_free(s->session);
    s->session = NULL;
}

static int is_address(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

tls_conn *tls_conn_new(tls_ctx *t, int fd, const char *host, tls_slot *slot, char *err, size_t errlen)
{
    ERR_clear_error();
    size_t hl = strlen(host);
    if (hl > 1 && host[hl - 1] == '.')
        hl--;                   /* "api.example.com.": SNI and the certificate name it without the dot */
    tls_conn *c = mem_malloc(sizeof *c + hl + 1);
    BIO *b = NULL;
    if (!c || !(c->ssl = SSL_new(t->ctx)) || !(b = BIO_new(t->bio))) {
        if (c)
            SSL_free(c->ssl);
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(c->host, host, hl);
    c->host[hl] = 0;
    c->slot = slot;
    c->done = 0;
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(c->ssl, b, b);
    SSL_set_app_data(c->ssl, c);
    int ok;
    if (is_address(c->host))    /* no SNI for an address (RFC 6066); its IP entries must match */
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
    else {
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(c->ssl, c->host) && SSL_set_tlsext_host_name(c->ssl, c->host);
    }
    if (ok && slot->session)
        ok = SSL_set_session(c->ssl, slot->session);
    if (!ok) {
        tls_conn_free(c, 0);
        snprintf(err, errlen, "cannot set up TLS for %s", host);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_connect_state(c->ssl);
    return c;
}

void tls_conn_free(tls_conn *c, int notify)
{
    if (!c)
        return;
    if (notify && c->done) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);   /* close_notify, if the socket takes it; the answer is not awaited */
    }
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c);
}

/* The failure of an SSL call that returned 'rc': a TLS_* code, with a
   message for TLS_FAIL.  'what' says which step. */
static int failure(tls_conn *c, int rc, const char *what, char *msg, size_t msglen)
{
    int saved = errno;
    int e = SSL_get_error(c->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (saved == 0 && !ERR_peek_error())
            return TLS_EOF;
        snprintf(msg, msglen, "%s %s: %s", what, c->host, saved ? strerror(saved) : "a TLS error");
        break;
    default: {
        unsigned long le = ERR_peek_error();
        if (ERR_GET_LIB(le) == ERR_LIB_SSL && ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            return TLS_EOF;
        }
        const char *why = le ? ERR_reason_error_string(le) : NULL;
        snprintf(msg, msglen, "%s %s: %s", what, c->host, why ? why : "a TLS error");
        break;
    }
    }
    ERR_clear_error();
    return TLS_FAIL;
}

int tls_handshake(tls_conn *c, char *msg, size_t msglen)
{
    ERR_clear_error();
    int rc = SSL_connect(c->ssl);
    if (rc == 1) {
        const unsigned char *proto;
        unsigned plen;
        SSL_get0_alpn_selected(c->ssl, &proto, &plen);
        if (plen && (plen != 8 || memcmp(proto, "http/1.1", 8))) {
            snprintf(msg, msglen, "%s chose a protocol other than http/1.1 in the TLS handshake", c->host);
            tls_slot_clear(c->slot);
            return TLS_FAIL;
        }
        c->done = 1;
        return 0;
    }
    long v = SSL_get_verify_result(c->ssl);
    int st = failure(c, rc, "TLS handshake failed with", msg, msglen);
    if (st == TLS_WANT_READ || st == TLS_WANT_WRITE)
        return st;
    tls_slot_clear(c->slot);
    if (v != X509_V_OK) {
        snprintf(msg, msglen, "the certificate of %s is not trusted: %s", c->host, X509_verify_cert_error_string(v));
        return TLS_UNTRUSTED;
    }
    if (st != TLS_FAIL)
        snprintf(msg, msglen, "%s closed the connection during the TLS handshake", c->host);
    return TLS_FAIL;
}

int tls_resumed(const tls_conn *c)
{
    return SSL_session_reused(c->ssl);
}

ssize_t tls_read(tls_conn *c, void *buf, size_t n, char *msg, size_t msglen)
{
    ERR_clear_error();
    size_t got = 0;
    int rc = SSL_read_ex(c->ssl, buf, n, &got);
    if (rc == 1)
        return (ssize_t)got;
    return failure(c, rc, "TLS read from", msg, msglen);
}

int tls_pending(const tls_conn *c)
{
    return SSL_has_pending(c->ssl);
}

ssize_t tls_write(tls_conn *c, const void *buf, size_t n, char *msg, size_t msglen)
{
    ERR_clear_error();
    size_t put = 0;
    int rc = SSL_write_ex(c->ssl, buf, n, &put);
    if (rc == 1)
        return (ssize_t)put;
    int st = failure(c, rc, "TLS write to", msg, msglen);
    if (st == TLS_CLOSED || st == TLS_EOF) {
        snprintf(msg, msglen, "%s closed the connection", c->host);
        return TLS_FAIL;
    }
    return st;
}
