/* Rule plans (plan.c): a route function whose rules are conjunctions of
   simple tests, decided by bit masks instead of by running its code.

   Built once per image, after verification, for every route function of
   the shape the code generator gives such rules (vm/program.h, DISPATCH;
   compiler/codegen.c, cg_rule): an optional DISPATCH, then per rule a run
   of tests that each jump to the rule's failure pc when they do not hold,
   RULE and a target that ends the function (DECIDE, CHOOSE, CASCADE,
   DELEGATE), then FAIL.  The tests a plan admits are pure and cannot fail:

     meta.k == / != / in / not in constants       (JMT)
     a request field, or one of a few builtins of it, compared with a
     constant                                     (LDREQ [CALLB] JKT)
     a request field as a condition, or its negation  (LDREQ [NOT] JMPF)

   so the first rule all of whose tests hold can be found in any order of
   evaluation.  Tests are grouped: all tests of one metadata key form one
   group, answered by one lookup of the key's value in a table that gives
   the rules the value rules out (the dispatch's class included); each
   other test is a group of its own.  vm_exec_plan() (interp.c) takes the
   lowest rule still possible, answers its lowest-numbered group not yet
   known -- metadata keys are numbered before request tests, as a lookup
   costs less than, say, tokens(input) -- rules out what the answer rules
   out, and stops at the first rule whose groups are all known.  No group
   is asked for before every rule above the one that needs it is decided.
   Anything else (or, nested blocks, regexes, hooks, splits, more than 64
   rules or groups) has no plan and runs on the interpreter, as does every
   decision with an observer.

   The routing view (request.h).  The plans of an image share one routing
   dictionary (rv_image.dict): every metadata key a plan's group tests
   and every string the group compares it with.  A group whose key has
   ids in views keeps, per id, the rules that value rules out ('idkill':
   a string of its own gives that string's kill, every other id the
   group's 'other'), so that for a request parsed with the dictionary the
   answer is one byte of the request's first line and one load of the
   plan; bytes(input) and bucket(user) come from that line too.  The
   first PLAN_EAGER such groups are answered at once, before any rule is
   looked at: asking a group no rule needed yet changes nothing (its
   answer is exact and cannot fail), and eight loads cost less than the
   choosing.  So are the request tests that compare a scalar of that
   line (bytes(input), bucket(user), stream, images, turns, max_tokens)
   with constants, while no guardrail has loaded an overlay: per value, a
   compare with each point where one of its tests may change picks what
   they all rule out.  A request whose every test is eager is decided in
   one step, without a branch on what it holds (plan_run, inline in
   vm_start).  A request whose view is not the plan's dictionary's (tag
   and fingerprint) is looked up as before. */
#ifndef RV_PLAN_H
#define RV_PLAN_H

#include <stdint.h>
#include <string.h>

#include "vmstate.h"

#define PLAN_MAX_RULES  64      /* one bit each */
#define PLAN_MAX_GROUPS 64      /* one bit each */
#define PLAN_MAX_CODE   16384   /* instructions of a planned function */
#define PLAN_MAX_VALUES 4096    /* distinct (key, string) pairs of a plan */
#define PLAN_MAX_META   1024    /* metadata tests of a plan */
#define PLAN_SMALL      8       /* strings of a group given a table of its own */
#define PLAN_EAGER      8       /* metadata groups answered at once from a view */
#define PLAN_SMALL_BITS 4       /* its size: 16 slots */
#define PLAN_SOURCES    6       /* request values an eager test may read */
#define PLAN_CUTS       4       /* points of one value its eager tests are decided by */
/* What all the plans of one image may cost to build (simple steps) and
   hold (bytes, on top of PLAN_ROOM_CODE per instruction of the program):
   a program crafted to make many costly plans gets plans until these run
   out, and the interpreter for the rest. */
#define PLAN_WORK       (1ull << 26)
#define PLAN_ROOM       (4u << 20)
#define PLAN_ROOM_CODE  256u

enum { PG_META, PG_REQ };

/* A group: one metadata key (all tests of it), or one test of a request
   value. */
typedef struct {
    uint8_t kind;               /* PG_META, PG_REQ */
    rv_sv key;                  /* META: the key (the program's string) */
    uint64_t other;             /* META: rules ruled out by a missing key or an unlisted value */
    /* META with at most PLAN_SMALL strings, told apart by their first 8
       bytes and length: a table of its own in 'small', where string 's'
       (n bytes) can only be at sfirst + ((head8(s) ^ n) * mul >> shift)
       (mul 0: look the value up in 'vals') */
    uint64_t mul;
    uint32_t sfirst, shift;
    vm_reqtest t;               /* REQ: the test */
    uint64_t users;             /* REQ: rules needing it to hold */
    /* META: the key's index in the image's dictionary, RV_NONE when views
       do not hold it; its kills by id in vm_plan.idkill[idfirst ..
       idfirst + nid) */
    uint32_t vkey, idfirst, nid;
} plan_group;

/* A string a metadata group's tests (or its dispatch) compare with, and
   the rules its value rules out. */
typedef struct {
    uint64_t head;              /* first 8 bytes, zero-padded (vm_head8) */
    const char *s;              /* borrowed from the program */
    uint32_t len, group;
    uint64_t kill;
} plan_value;

/* A string of a small group; an empty slot has len UINT32_MAX. */
typedef struct {
    uint64_t head, kill;        /* its first 8 bytes, zero-padded; the rules it rules out */
    const char *s;              /* borrowed from the program */
    uint32_t len;
} plan_small;

typedef struct {
    uint64_t need;              /* the groups its tests are in */
    uint32_t rule;              /* RULE's operand */
    uint32_t ex, arg;           /* the target: its ex_result and operand */
} plan_rule;

typedef struct vm_plan {
    uint32_t nrule, ngroup;
    uint64_t all;               /* every rule */
    uint32_t dgroup;            /* the dispatch key's group, or RV_NONE */
    uint32_t fail_pc;           /* FAIL when no rule matches, or RV_NONE (the last rule always does) */
    const char *fail_msg;
    plan_rule *rules;           /* nrule, in code order */
    plan_group *groups;         /* ngroup */
    plan_value *vals;           /* open addressing, 'vmask' + 1 slots, at most a quarter full */
    uint32_t vmask;
    plan_small *small;          /* the strings of the small groups, a group's together */
    /* the routing view: the image's dictionary (borrowed from the image)
       and its fingerprint, the tag a request's view must carry; the META
       groups' kills by id */
    const struct rv_reqdict *dict;
    uint64_t stamp;
    uint64_t *idkill;
    /* the first PLAN_EAGER groups with kills by id ('eager', a mask of
       groups): a request with a view has them all answered before the
       first rule is looked at -- a byte and a load each, cheaper than
       choosing which to ask -- the rest are asked as rules need them.
       Each group's kills by id take a power of two of entries ('mask' + 1;
       those past its ids rule out what 'other' does), so that an id is
       masked, not compared */
    uint64_t eager;
    uint32_t neager;
    struct plan_eager { const uint64_t *kill; uint32_t mask, vkey; } eagers[PLAN_EAGER];
    /* and the request tests with a shortcut that reads a scalar of the
       request's first line, answered at once as well when no overlay is
       loaded ('eager_req', a mask of groups): each such value ('src',
       at most PLAN_SOURCES) is compared with the points where one of its
       tests may change ('cut', ascending, at most PLAN_CUTS), and the
       number of points above it gives what all its tests rule out --
       a load and a compare per point, where asking the tests as rules
       need them costs a branch the processor cannot guess each */
    uint64_t eager_req;
    uint32_t nsrc;
    struct plan_src {
        uint64_t mask;          /* the value: the 8 bytes at 'off' of the request, masked */
        uint32_t off, ncut;
        uint64_t cut[PLAN_CUTS];        /* the points, their sign bit flipped (so that they
                                           compare as the value does, unsigned); past
                                           'ncut', 0: no value is below it */
        uint64_t kill[PLAN_CUTS + 1];   /* by the number of points above the value */
    } *src;
    uint64_t dmask;             /* the dispatch key's group (a mask), 0 when none */
} vm_plan;

static inline uint32_t plan_hash(uint32_t group, uint64_t head, const char *s, uint32_t n)
{
    return vm_dhash(group ^ 0x5bd1e995u, head, s, n);
}

/* The entry of string 's' (n bytes) in group 'g', or NULL.  (An empty
   slot's group is RV_NONE: it matches nothing.) */
static inline const plan_value *plan_find(const struct vm_plan *pl, uint32_t g, const char *s, uint32_t n)
{
    uint64_t head = vm_head8(s, n);
    for (uint32_t i = plan_hash(g, head, s, n) & pl->vmask;; i = (i + 1) & pl->vmask) {
        const plan_value *e = &pl->vals[i];
        if (e->head == head && e->len == n && e->group == g && (n <= 8 || !memcmp(e->s + 8, s + 8, n - 8)))
            return e;
        if (e->group == RV_NONE)
            return NULL;
    }
}

/* What the eager groups of plan 'pl' rule out for request 'rq', whose
   view is the plan's; with its eager request tests when 'reqs' (no
   overlay loaded).  Unrolled by hand: the groups' loop by a jump on
   their count, which is the plan's and the same every time; the points'
   loop in full, so that the jumps taken do not depend on the request. */
static inline __attribute__((always_inline)) uint64_t plan_eager_kill(const vm_plan *pl, const rv_request *rq,
                                                                      int reqs)
{
    const struct plan_eager *e = pl->eagers;
    const uint8_t *id = rq->view.id;
    uint64_t kill = 0;
#define K(i) kill |= e[i].kill[id[e[i].vkey] & e[i].mask]
    switch (pl->neager) {
    case 8: K(7); /* fall through */
    case 7: K(6); /* fall through */
    case 6: K(5); /* fall through */
    case 5: K(4); /* fall through */
    case 4: K(3); /* fall through */
    case 3: K(2); /* fall through */
    case 2: K(1); /* fall through */
    case 1: K(0); /* fall through */
    default: break;
    }
#undef K
    _Static_assert(PLAN_EAGER == 8 && PLAN_CUTS == 4, "the unrolled loops");
    for (uint32_t i = 0; reqs && i < pl->nsrc; i++) {
        const struct plan_src *s = &pl->src[i];
        uint64_t w;
        memcpy(&w, (const char *)rq + s->off, sizeof w);
        uint64_t x = (w & s->mask) ^ (1ull << 63);
        kill |= s->kill[(x < s->cut[0]) + (x < s->cut[1]) + (x < s->cut[2]) + (x < s->cut[3])];
    }
    return kill;
}

/* Plan 'pl' once its eager groups have answered ('v' the request's view
   when it is the plan's, else NULL; 'alive' the rules still possible,
   'known' the groups answered): the rest of the groups as rules need
   them (interp.c). */
ex_result vm_plan_rest(rv_vm *vm, const vm_plan *pl, const rv_reqview *v, uint64_t alive, uint64_t known,
                       uint32_t *arg);

/* Decide with plan 'pl' as vm_exec() would from its function's start:
   the same result, vm->res.rule and, on EX_FAIL, the same error
   (interp.c, where the tests' meaning is).  Inline: a request with the
   plan's view whose lowest rule left after the eager groups has no other
   test is decided here. */
static inline __attribute__((always_inline)) ex_result plan_run(rv_vm *vm, const vm_plan *pl, uint32_t *arg)
{
    const rv_request *rq = vm->req;
    const rv_reqview *v = rq && req_view_is(rq, pl->dict, pl->stamp) ? &rq->view : NULL;
    uint64_t alive = pl->all, known = 0;
    if (v) {
        int reqs = !vm->ov.loaded;          /* (an overlay's input is not the view's) */
        alive &= ~plan_eager_kill(pl, rq, reqs);
        known = pl->eager | (reqs ? pl->eager_req : 0);
        if (alive) {
            const plan_rule *r = &pl->rules[__builtin_ctzll(alive)];
            if (!((r->need | pl->dmask) & ~known)) {
                vm->res.rule = r->rule;
                *arg = r->arg;
                return (ex_result)r->ex;
            }
        }
    }
    return vm_plan_rest(vm, pl, v, alive, known, arg);
}

/* Plans for the route functions of 'img' (img->plans, one per function,
   NULL where there is none) and the routing dictionary of their keys
   (img->dict, owned by the image; NULL when no plan tests metadata or
   out of memory for it: no views).  0, or -1 when out of memory. */
int plan_build(rv_image *img);
void plan_free(rv_image *img);      /* accepts an image without plans */

/* Builtins a request test may apply: pure, and never failing. */
int plan_pure_builtin(uint32_t b);

/* plan_run, out of line (interp.c). */
ex_result vm_exec_plan(rv_vm *vm, const vm_plan *pl, uint32_t *arg);

#endif
