/* Host-name lookups on a thread of their own; see dns.h.

   The engine's thread and the lookup thread share one block ('shared'):
   the queue of names to look up, the list of answers, a flag saying the
   resolver was freed, and a count of the two owners.  The lookup thread
   takes a name, looks it up with the mutex released, and adds the
   answer and writes the eventfd with the mutex held -- but only while
   the resolver still exists, since the engine's thread closes the
   eventfd as it frees the resolver (a write to a closed, reused number
   would reach someone else's descriptor).  Whichever owner leaves last
   frees the block.  Threads are detached: nothing waits for a lookup
   that takes the resolver's full timeouts.

   A name is queued; when no lookup thread is idle and fewer than
   DNS_THREADS run, one more starts, so a name that takes the resolver's
   full timeouts holds up only its own requests, not every other
   provider's.  Threads stay until the resolver is freed. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dns.h"
#include "mem.h"

typedef struct query {
    struct query *next;
    char name[];
} query;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    query *queue, **queue_tail;
    dns_answer *done;
    int fd;                     /* the eventfd; the engine's thread closes it */
    int freed;                  /* dns_free ran: no more writes to 'fd' */
    int owners;                 /* the resolver and each thread */
    int threads, idle;          /* lookup threads started, and waiting for a name */
    int (*gai)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
} shared;

struct dns_resolver {
    shared *s;
};

static void free_queries(query *q)
{
    while (q) {
        query *next = q->next;
        free(q);
        q = next;
    }
}

void dns_answers_free(dns_answer *a)
{
    while (a) {
        dns_answer *next = a->next;
        free(a->name);
        free(a);
        a = next;
    }
}

/* One owner leaves; the last frees the block. */
static void leave(shared *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->owners == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    free_queries(s->queue);
    dns_answers_free(s->done);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---------------------------------------------------------------- lookups */

/* The usable addresses of 'ai' into 'out', the families taken in turn
   (the first address of the first family, the first of the other, the
   second of the first...), each family in getaddrinfo()'s order. */
static void interleave(const struct addrinfo *ai, dns_addrs *out)
{
    const struct addrinfo *fam[2][DNS_ADDRS_MAX];
    unsigned n[2] = { 0, 0 };
    int first = 0;
    for (const struct addrinfo *a = ai; a; a = a->ai_next) {
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || a->ai_addrlen > sizeof out->addr[0])
            continue;
        if (!first)
            first = a->ai_family;
        int f = a->ai_family != first;
        if (n[f] < DNS_ADDRS_MAX)
            fam[f][n[f]++] = a;
    }
    out->n = 0;
    for (unsigned i = 0; i < n[0] || i < n[1]; i++)
        for (int f = 0; f < 2; f++)
            if (i < n[f] && out->n < DNS_ADDRS_MAX) {
                memcpy(&out->addr[out->n], fam[f][i]->ai_addr, fam[f][i]->ai_addrlen);
                out->len[out->n++] = fam[f][i]->ai_addrlen;
            }
}

/* Runs on a lookup thread: plain libc, since mem.h's failure hook is per
   thread and no test could fail these (dns_answers_free frees them). */
static dns_answer *look_up(shared *s, const char *name)
{
    dns_answer *a = calloc(1, sizeof *a);
    if (!a || !(a->name = strdup(name))) {
        free(a);
        return NULL;
    }
    /* no AI_ADDRCONFIG, as libcurl: a host whose only IPv6 address is
       ::1 still gets a name's IPv6 addresses (a loopback name's among
       them), and a family that cannot be reached fails at once */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    int rc = s->gai(name, NULL, &hints, &ai);
    if (rc == 0) {
        interleave(ai, &a->addrs);
        if (!a->addrs.n)
            rc = EAI_NONAME;
    }
    a->error = rc;
    if (ai)
        freeaddrinfo(ai);
    return a;
}

static void *lookup_thread(void *arg)
{
    shared *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        s->idle++;
        while (!s->queue && !s->freed)
            pthread_cond_wait(&s->cv, &s->mu);
        s->idle--;
        if (s->freed)
            break;
        query *q = s->queue;
        s->queue = q->next;
        if (!s->queue)
            s->queue_tail = &s->queue;
        pthread_mutex_unlock(&s->mu);
        dns_answer *a = look_up(s, q->name);
        free(q);
        pthread_mutex_lock(&s->mu);
        if (s->freed) {
            dns_answers_free(a);
            break;
        }
        if (a) {                /* out of memory: the asker's connect deadline ends its wait */
            a->next = s->done;
            s->done = a;
            uint64_t one = 1;
            ssize_t w = write(s->fd, &one, sizeof one);
            (void)w;            /* a full counter still reads as readable */
        }
    }
    pthread_mutex_unlock(&s->mu);
    leave(s);
    return NULL;
}

/* ---------------------------------------------------------------- the resolver */

dns_resolver *dns_new(void)
{
    dns_resolver *r = mem_calloc(1, sizeof *r);
    shared *s = mem_calloc(1, sizeof *s);
    if (!r || !s) {
        free(r);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->queue_tail = &s->queue;
    s->fd = -1;
    s->owners = 1;
    s->gai = getaddrinfo;
    r->s = s;
    return r;
}

void dns_set_lookup(dns_resolver *r, int (*gai)(const char *, const char *, const struct addrinfo *,
                                                 struct addrinfo **))
{
    r->s->gai = gai ? gai : getaddrinfo;
}

/* One more lookup thread, under the mutex.  0, or -1 with a message. */
static int start(shared *s, char *err, size_t errlen)
{
    pthread_attr_t at;
    pthread_t th;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256u << 10);     /* getaddrinfo's needs, with room */
    s->owners++;
    int rc = pthread_create(&th, &at, lookup_thread, s);
    pthread_attr_destroy(&at);
    if (rc) {
        s->owners--;
        snprintf(err, errlen, "cannot start a name lookup thread: %s", strerror(rc));
        return -1;
    }
    s->threads++;
    return 0;
}

int dns_ask(dns_resolver *r, const char *name, char *err, size_t errlen)
{
    shared *s = r->s;
    if (s->fd < 0 && (s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot make an eventfd for name lookups: %s", strerror(errno));
        return -1;
    }
    size_t n = strlen(name);
    query *q = mem_malloc(sizeof *q + n + 1);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(q->name, name, n + 1);
    q->next = NULL;
    pthread_mutex_lock(&s->mu);
    /* names queued beyond the idle threads: one more thread, while fewer
       than DNS_THREADS run (none at all: the name is refused) */
    int queued = 1;
    for (const query *o = s->queue; o; o = o->next)
        queued++;
    if (queued > s->idle && s->threads < DNS_THREADS && start(s, err, errlen) && !s->threads) {
        pthread_mutex_unlock(&s->mu);
        free(q);
        return -1;
    }
    *s->queue_tail = q;
    s->queue_tail = &q->next;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int dns_fd(const dns_resolver *r)
{
    return r->s->fd;
}

dns_answer *dns_take(dns_resolver *r)
{
    shared *s = r->s;
    uint64_t v;
    ssize_t n = read(s->fd, &v, sizeof v);
    (void)n;                    /* EAGAIN: nothing new, or taken already */
    pthread_mutex_lock(&s->mu);
    dns_answer *a = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->mu);
    return a;
}

void dns_free(dns_resolver *r)
{
    if (!r)
        return;
    shared *s = r->s;
    pthread_mutex_lock(&s->mu);
    s->freed = 1;
    pthread_cond_broadcast(&s->cv);
    if (s->fd >= 0)
        close(s->fd);           /* under the mutex: the thread writes to it only under it */
    s->fd = -1;
    pthread_mutex_unlock(&s->mu);
    leave(s);
    free(r);
}

const char *dns_error(int code)
{
    return gai_strerror(code);
}
