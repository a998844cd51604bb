/* TLS for the engine's own HTTP/1.1 transport (h1.c): OpenSSL on a
   non-blocking socket the transport already connected, driven by the
   same socket events as plain connections.  A handshake, a read or a
   write that cannot go on says which readiness it waits for
   (TLS_WANT_READ / TLS_WANT_WRITE) and is called again when the loop
   reports it.

   What it promises: TLS 1.2 or later; the peer's certificate verified
   against the trust store given to tls_ctx_new (a CA file and a CA
   directory; the engine passes the ones libcurl uses, so both clients
   trust the same certificates) and matched to the host the URL names
   (a name, or an IP address against the certificate's IP entries); SNI
   for names; ALPN offering http/1.1 only; the session of the last
   connection to a (host, port) offered again on the next (the caller
   keeps a tls_slot per host and port).  Fail closed: a certificate that
   cannot be verified never gives a connection.  Bytes go through
   send(MSG_NOSIGNAL) and recv(), so a peer gone away is an error, never
   SIGPIPE.

   Threads: a context and its connections belong to one thread (the
   engine's).

   Ownership: tls_ctx_new copies the paths; tls_conn_new copies the host
   name and borrows 'slot', which must outlive the connection (the
   transport's host entries do).  Messages name the host and what
   failed, never data sent or received. */
#ifndef RV_TLS_H
#define RV_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

/* A (host, port)'s session to resume, or NULL: the caller's memory,
   zeroed before first use, cleared with tls_slot_clear. */
typedef struct {
    void *session;
} tls_slot;

enum {
    TLS_WANT_READ = -1,         /* call again when the socket is readable */
    TLS_WANT_WRITE = -2,        /* ... when writable */
    TLS_CLOSED = -3,            /* the peer sent close_notify: a clean end */
    TLS_EOF = -4,               /* the connection ended without close_notify */
    TLS_FAIL = -5,              /* an error, described in the message */
    TLS_UNTRUSTED = -6,         /* handshake: the certificate was refused */
};

/* A context trusting the CA certificates in 'ca_file' and 'ca_dir'
   (either NULL for none; both NULL trusts nothing).  NULL with a
   message in 'err' when a file cannot be loaded or memory runs out. */
tls_ctx *tls_ctx_new(const char *ca_file, const char *ca_dir, char *err, size_t errlen);
/* Accepts NULL; connections must have been freed first. */
void tls_ctx_free(tls_ctx *c);

/* TLS on connected socket 'fd' to 'host' (a name or an address, without
   brackets; a name's final dot is dropped for SNI and the certificate
   check), resuming the session in 'slot' when there is one.  The
   handshake starts at the first tls_handshake.  NULL with a message
   when out of memory. */
tls_conn *tls_conn_new(tls_ctx *c, int fd, const char *host, tls_slot *slot, char *err, size_t errlen);
/* Frees 'c' (not its socket).  With 'notify', a close_notify is sent
   first if the socket takes it at once.  Accepts NULL. */
void tls_conn_free(tls_conn *c, int notify);

/* 0 when the handshake is done; TLS_WANT_*; TLS_UNTRUSTED or TLS_FAIL
   with a message naming the host.  A failed handshake's session is
   dropped from the slot. */
int tls_handshake(tls_conn *c, char *msg, size_t msglen);
/* Did the handshake resume a session? */
int tls_resumed(const tls_conn *c);

/* Up to 'n' decrypted bytes into 'buf': their count, or TLS_WANT_*,
   TLS_CLOSED, TLS_EOF, TLS_FAIL (message set). */
ssize_t tls_read(tls_conn *c, void *buf, size_t n, char *msg, size_t msglen);
/* Bytes read from the socket and not yet returned by tls_read: read
   again before waiting for the socket. */
int tls_pending(const tls_conn *c);
/* Encrypt and send up to 'n' bytes: the count taken (at least one
   record's worth unless 'n' is smaller), or TLS_WANT_*, TLS_FAIL.
   After TLS_WANT_* call again with the same bytes (more may follow
   them). */
ssize_t tls_write(tls_conn *c, const void *buf, size_t n, char *msg, size_t msglen);

/* Drop the session kept in 'slot'. */
void tls_slot_clear(tls_slot *s);

#endif
