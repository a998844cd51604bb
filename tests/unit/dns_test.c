/* The resolver of the own HTTP/1.1 transport (vm/providers/dns.c) with
   no network: "localhost" (answered from /etc/hosts) looked up on the
   resolver's thread and announced on its descriptor; two lookups in a
   row both answered; a resolver freed with a lookup under way (its
   thread finishes and frees what is left: ASan's leak check at exit
   says whether it did); no descriptor before the first lookup; a name
   whose lookup hangs (a stand-in for getaddrinfo that waits for the
   test) does not hold up the next one, and no more than DNS_THREADS
   lookups run at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"

static int failures;

static void check(int ok, const char *name, const char *why)
{
    if (ok)
        printf("PASS dns/%s\n", name);
    else {
        printf("FAIL dns/%s: %s\n", name, why);
        failures++;
    }
}

/* Is every address in 'a' a loopback one? */
static int all_loopback(const dns_addrs *a)
{
    for (unsigned i = 0; i < a->n; i++) {
        const struct sockaddr_storage *s = &a->addr[i];
        if (s->ss_family == AF_INET &&
            ntohl(((const struct sockaddr_in *)s)->sin_addr.s_addr) >> 24 == 127)
            continue;
        if (s->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)s)->sin6_addr))
            continue;
        return 0;
    }
    return a->n > 0;
}

/* The answers to 'want' lookups, waiting on the descriptor at most 5 s. */
static dns_answer *collect(dns_resolver *r, int want)
{
    dns_answer *all = NULL;
    int got = 0;
    for (int round = 0; got < want && round < 50; round++) {
        struct pollfd pf = { dns_fd(r), POLLIN, 0 };
        if (poll(&pf, 1, 100) != 1)
            continue;
        for (dns_answer *a = dns_take(r), *next; a; a = next) {
            next = a->next;
            a->next = all;
            all = a;
            got++;
        }
    }
    return all;
}

/* getaddrinfo, except for names ending in ".hang": those wait until
   'hang_open' is set, then fail.  Counts the lookups in progress. */
static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static int hang_open, hanging, hanging_most;

static int hang_gai(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    size_t n = strlen(node);
    if (n < 5 || strcmp(node + n - 5, ".hang"))
        return getaddrinfo(node, service, hints, res);
    pthread_mutex_lock(&hang_mu);
    if (++hanging > hanging_most)
        hanging_most = hanging;
    while (!hang_open)
        pthread_cond_wait(&hang_cv, &hang_mu);
    hanging--;
    pthread_mutex_unlock(&hang_mu);
    return EAI_NONAME;
}

static void hang_release(void)
{
    pthread_mutex_lock(&hang_mu);
    hang_open = 1;
    pthread_cond_broadcast(&hang_cv);
    pthread_mutex_unlock(&hang_mu);
}

static int count(const dns_answer *a, int error)
{
    int n = 0;
    for (; a; a = a->next)
        n += error ? a->error != 0 : a->error == 0;
    return n;
}

static void test_hanging_name(void)
{
    char err[200];
    dns_resolver *r = dns_new();
    if (!r) {
        check(0, "hanging_name_holds_up_no_other", "no resolver");
        return;
    }
    dns_set_lookup(r, hang_gai);
    int asked = 1;
    for (int i = 0; i < DNS_THREADS + 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d.hang", i);
        asked &= dns_ask(r, name, err, sizeof err) == 0;
    }
    /* (with every thread held, a further name waits its turn: the
       resolver below shows one hanging name holding up no other) */
    usleep(200000);
    pthread_mutex_lock(&hang_mu);
    int most = hanging_most;
    pthread_mutex_unlock(&hang_mu);
    check(asked && most == DNS_THREADS, "at_most_DNS_THREADS_at_once", "not DNS_THREADS lookups in progress");
    hang_release();
    dns_answer *a = collect(r, DNS_THREADS + 2);
    check(count(a, 1) == DNS_THREADS + 2 && count(a, 0) == 0, "hanging_names_answered_once_released",
          "not every hanging name answered with its error");
    dns_answers_free(a);
    dns_free(r);

    pthread_mutex_lock(&hang_mu);
    hang_open = 0;
    hanging_most = 0;
    pthread_mutex_unlock(&hang_mu);
    r = dns_new();
    dns_set_lookup(r, hang_gai);
    asked = r && dns_ask(r, "one.hang", err, sizeof err) == 0 && dns_ask(r, "localhost", err, sizeof err) == 0;
    a = asked ? collect(r, 1) : NULL;
    check(a && !a->next && !strcmp(a->name, "localhost") && a->error == 0, "hanging_name_holds_up_no_other",
          a ? "the wrong answer" : "localhost waited for the hanging name");
    dns_answers_free(a);
    hang_release();
    a = collect(r, 1);
    check(a && !strcmp(a->name, "one.hang") && a->error, "hanging_name_answered_after", "no answer");
    dns_answers_free(a);
    dns_free(r);
}

int main(void)
{
    char err[200];
    dns_resolver *r = dns_new();
    check(r && dns_fd(r) < 0, "no_descriptor_before_a_lookup", "a descriptor, or no resolver");

    int asked = r && dns_ask(r, "localhost", err, sizeof err) == 0;
    dns_answer *a = asked ? collect(r, 1) : NULL;
    check(a && !a->next && !strcmp(a->name, "localhost") && a->error == 0 && all_loopback(&a->addrs),
          "localhost", a ? (a->error ? dns_error(a->error) : "not the loopback addresses") : "no answer");
    dns_answers_free(a);

    asked = r && dns_ask(r, "localhost", err, sizeof err) == 0 && dns_ask(r, "LOCALHOST", err, sizeof err) == 0;
    a = asked ? collect(r, 2) : NULL;
    check(a && a->next && !a->next->next && a->error == 0 && a->next->error == 0, "two_in_a_row", "not two answers");
    dns_answers_free(a);
    dns_free(r);

    test_hanging_name();

    /* freed at once: the thread looks up, sees the resolver gone, frees */
    r = dns_new();
    check(r && dns_ask(r, "localhost", err, sizeof err) == 0, "freed_while_looking_up", err);
    dns_free(r);
    usleep(300000);             /* the thread's end, before the leak check at exit */
    return failures != 0;
}
