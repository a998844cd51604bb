/* The resolver of the own HTTP/1.1 transport (vm/providers/dns.c) with
   no network: "localhost" (answered from /etc/hosts) looked up on the
   resolver's thread and announced on its descriptor; two lookups in a
   row both answered; a resolver freed with a lookup under way (its
   thread finishes and frees what is left: ASan's leak check at exit
   says whether it did); no descriptor before the first lookup. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
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

    /* freed at once: the thread looks up, sees the resolver gone, frees */
    r = dns_new();
    check(r && dns_ask(r, "localhost", err, sizeof err) == 0, "freed_while_looking_up", err);
    dns_free(r);
    usleep(300000);             /* the thread's end, before the leak check at exit */
    return failures != 0;
}
