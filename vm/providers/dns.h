/* Host-name lookups for the engine's own HTTP/1.1 transport (h1.c)
   that never block the engine's loop: getaddrinfo() runs on a small
   thread of the resolver's own, and each finished lookup is announced
   on an eventfd that the engine's loop watches like a socket.

   Why a thread: the engine runs under two loops (its own poll() loop in
   'routevm run', libevent in the gateway), so libevent's evdns is not
   available to every driver; getaddrinfo_a() would run its own threads
   and report by signal or by yet another thread.  getaddrinfo() on one
   thread reads /etc/hosts, nsswitch and resolv.conf as every other
   program on the machine does.  Lookups are rare (the transport keeps
   what it learns for a minute, h1.c): a thread is made at the first
   lookup, and another for a name asked while every thread is busy, up
   to DNS_THREADS, so one name that takes the resolver's full timeouts
   does not hold up the others.

   Addresses come back in the order getaddrinfo() sorts them (RFC 6724,
   /etc/gai.conf), the families interleaved so that a family that does
   not work costs one failed attempt before the other is tried, at most
   DNS_ADDRS_MAX of them.

   Threads: a resolver belongs to one thread (the engine's); its lookup
   threads touch only the queue and the answers, under a mutex.
   dns_free returns at once even when lookups are in progress: each
   lookup thread finishes its own, sees the resolver gone, and the last
   to leave frees what is left.

   Ownership: dns_ask copies the name.  dns_take hands over a list of
   answers the caller frees with dns_answers_free. */
#ifndef RV_DNS_H
#define RV_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#define DNS_ADDRS_MAX 8
#define DNS_THREADS 4           /* lookups in progress at once, per resolver */

typedef struct dns_resolver dns_resolver;

/* Addresses for one name, port 0 (the caller sets it). */
typedef struct {
    struct sockaddr_storage addr[DNS_ADDRS_MAX];
    socklen_t len[DNS_ADDRS_MAX];
    unsigned n;
} dns_addrs;

typedef struct dns_answer {
    char *name;                 /* as asked */
    int error;                  /* 0, or getaddrinfo()'s code (dns_error) */
    dns_addrs addrs;            /* with 'error' 0: at least one */
    struct dns_answer *next;
} dns_answer;

/* A resolver with no thread yet; NULL when out of memory. */
dns_resolver *dns_new(void);
/* Accepts NULL.  The caller stops watching dns_fd first. */
void dns_free(dns_resolver *r);

/* Queue a lookup of 'name'; its answer comes from dns_take once dns_fd
   turns readable.  0, or -1 with a message (no thread, no eventfd, out
   of memory). */
int dns_ask(dns_resolver *r, const char *name, char *err, size_t errlen);
/* The function lookups call in place of getaddrinfo() (NULL: getaddrinfo
   itself), before the first dns_ask; for tests.  It is called on the
   lookup threads, and its list freed with freeaddrinfo(). */
struct addrinfo;
void dns_set_lookup(dns_resolver *r, int (*gai)(const char *, const char *, const struct addrinfo *,
                                                 struct addrinfo **));

/* The descriptor to watch for reading; -1 before the first dns_ask. */
int dns_fd(const dns_resolver *r);
/* The lookups finished so far (NULL: none), the descriptor drained. */
dns_answer *dns_take(dns_resolver *r);
void dns_answers_free(dns_answer *a);

/* A lookup's error code in words. */
const char *dns_error(int code);

#endif
