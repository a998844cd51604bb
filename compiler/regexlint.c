/* A lint of regex sources: nested unbounded quantifiers, the shape of
   regexes whose matching can take exponential time on text an attacker
   chooses ("catastrophic backtracking": (a+)+$, (\w+\s?)*$).  The checker
   (typing.c) warns about them; at run time every match is bounded anyway
   (vm/guard.h), and a match that hits the bound refuses the request.

   The scan is a heuristic over the pattern's text, not a regex engine: a
   group repeated without bound (*, +, {n,}) is flagged when its body holds
   an atom repeated without bound, unless the body also has a mandatory
   plain character that none of those repeated atoms can match (then each
   repetition is delimited: (?:\.[a-z0-9-]+)* is fine).  Possessive
   quantifiers (a++, (...)*+) and atomic groups (?>...) do not backtrack
   and are not flagged.  Alternations of overlapping branches ((a|aa)*)
   are beyond it. */
#include <string.h>

#include "regexlint.h"

#define RL_MAX_DEPTH 64
#define RL_MAX_ATOMS 16

/* A single-character atom: a literal byte, a bracket class, an escape
   class (\w \d \s ...) or '.'. */
typedef struct {
    const char *s;      /* its text */
    size_t n;
} atom;

typedef struct {
    int atomic;                 /* (?>...) */
    int repeated;               /* holds an atom or group repeated without bound */
    atom reps[RL_MAX_ATOMS];    /* the single-character atoms so repeated */
    int nreps, reps_unknown;    /* more than fit, or a repeated group: compare with nothing */
    char lits[RL_MAX_ATOMS];    /* mandatory plain characters of the body */
    int nlits;
} group;

/* Does the escape class or bracket class 'a' match byte 'c'?  -1: cannot
   tell. */
static int class_has(const atom *a, unsigned char c, int caseless)
{
    const char *s = a->s;
    if (a->n == 1)
        return s[0] == '.' ? 1 : (caseless ? (s[0] | 0x20) == (c | 0x20) : (unsigned char)s[0] == c);
    if (s[0] == '\\') {
        int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        int digit = c >= '0' && c <= '9', space = c == ' ' || (c >= 9 && c <= 13);
        switch (s[1]) {
        case 'w': return word;
        case 'W': return !word;
        case 'd': return digit;
        case 'D': return !digit;
        case 's': return space;
        case 'S': return !space;
        default:
            if (strchr("^$.|?*+()[]{}\\/-", s[1]))
                return (unsigned char)s[1] == c;
            return -1;
        }
    }
    if (s[0] != '[')
        return -1;
    size_t i = 1, end = a->n - 1;   /* s[end] is the closing ']' */
    int neg = 0, hit = 0;
    if (s[i] == '^')
        neg = 1, i++;
    while (i < end) {
        unsigned char lo = (unsigned char)s[i];
        if (lo == '[')
            return -1;      /* [:posix:] */
        if (lo == '\\') {
            atom e = { s + i, 2 };
            int h = class_has(&e, c, caseless);
            if (h < 0)
                return -1;
            hit |= h;
            i += 2;
            continue;
        }
        unsigned char hi = lo;
        if (i + 2 < end && s[i + 1] == '-' && s[i + 2] != '\\') {
            hi = (unsigned char)s[i + 2];
            i += 3;
        } else {
            i++;
        }
        if (c >= lo && c <= hi)
            hit = 1;
        if (caseless && (c | 0x20) >= (lo | 0x20) && (c | 0x20) <= (hi | 0x20) && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            hit = 1;
    }
    return neg ? !hit : hit;
}

/* A repeated group is delimited when its body has a mandatory plain
   character no repeated atom of the body matches. */
static int delimited(const group *g, int caseless)
{
    if (g->reps_unknown)
        return 0;
    for (int l = 0; l < g->nlits; l++) {
        int clash = 0;
        for (int r = 0; r < g->nreps && !clash; r++)
            clash = class_has(&g->reps[r], (unsigned char)g->lits[l], caseless) != 0;
        if (!clash)
            return 1;
    }
    return 0;
}

/* The quantifier at p[i] (if any): its length, and whether it is
   unbounded and not possessive. */
static size_t quantifier(const char *p, size_t i, int *unbounded)
{
    size_t n = 0;
    *unbounded = 0;
    if (p[i] == '*' || p[i] == '+') {
        *unbounded = 1;
        n = 1;
    } else if (p[i] == '?') {
        n = 1;
    } else if (p[i] == '{') {
        size_t j = i + 1;
        while (p[j] >= '0' && p[j] <= '9')
            j++;
        if (j == i + 1 || (p[j] != ',' && p[j] != '}'))
            return 0;   /* a literal '{' */
        if (p[j] == ',') {
            j++;
            *unbounded = p[j] == '}';
            while (p[j] >= '0' && p[j] <= '9')
                j++;
        }
        if (p[j] != '}')
            return 0;
        n = j + 1 - i;
    } else {
        return 0;
    }
    if (p[i + n] == '+') {      /* possessive: no backtracking into it */
        *unbounded = 0;
        n++;
    } else if (p[i + n] == '?') {
        n++;                    /* lazy: backtracks all the same */
    }
    return n;
}

int rl_nested_quantifier(const char *p, int caseless, size_t *at)
{
    group st[RL_MAX_DEPTH + 1];
    int depth = 0;
    memset(&st[0], 0, sizeof st[0]);
    size_t i = 0, len = strlen(p);
    while (i < len) {
        group *g = &st[depth];
        char c = p[i];
        if (c == '(') {
            if (p[i + 1] == '?' && p[i + 2] == '#') {      /* a comment */
                const char *e = strchr(p + i, ')');
                i = e ? (size_t)(e - p) + 1 : len;
                continue;
            }
            if (depth == RL_MAX_DEPTH)
                return 0;       /* too deep to say */
            group *ng = &st[++depth];
            memset(ng, 0, sizeof *ng);
            ng->atomic = p[i + 1] == '?' && p[i + 2] == '>';
            i++;
            if (p[i] == '?') {  /* skip the group's flags or name up to ':' or its first atom */
                i++;
                if (p[i] == '<' && p[i + 1] != '=' && p[i + 1] != '!') {
                    while (i < len && p[i] != '>')
                        i++;
                    i++;
                } else if (p[i] == 'P' && p[i + 1] == '<') {
                    while (i < len && p[i] != '>')
                        i++;
                    i++;
                } else {
                    while (i < len && strchr("=!<>:imnsxJU-^'", p[i]) && p[i] != '\0') {
                        char k = p[i++];
                        if (k == ':' || k == '=' || k == '!' || k == '>')
                            break;
                    }
                }
            }
            continue;
        }
        if (c == ')' || c == '|') {
            if (c == '|') {     /* another branch: its literals are not mandatory for the group */
                g->nlits = 0;
                g->reps_unknown |= g->nreps > 0;
                i++;
                continue;
            }
            if (depth == 0) {
                i++;
                continue;
            }
            group inner = st[depth--];
            g = &st[depth];
            int unb;
            size_t q = quantifier(p, i + 1, &unb);
            if (unb && inner.repeated && !inner.atomic && !delimited(&inner, caseless)) {
                *at = i + 1;
                return 1;
            }
            if ((unb || inner.repeated) && !inner.atomic) {
                g->repeated = 1;
                g->reps_unknown = 1;    /* a repeated group: compare delimiters with nothing */
            }
            i += 1 + q;
            continue;
        }
        /* a single-character atom */
        atom a = { p + i, 1 };
        if (c == '\\') {
            if (p[i + 1] == 'Q') {      /* \Q...\E: literal text */
                const char *e = strstr(p + i + 2, "\\E");
                size_t j = i + 2, stop = e ? (size_t)(e - p) : len;
                for (; j < stop; j++)
                    if (g->nlits < RL_MAX_ATOMS)
                        g->lits[g->nlits++] = p[j];
                i = e ? stop + 2 : len;
                continue;
            }
            a.n = p[i + 1] ? 2 : 1;
            if (strchr("pPxo", p[i + 1]) && p[i + 2] == '{') {
                const char *e = strchr(p + i, '}');
                a.n = e ? (size_t)(e - (p + i)) + 1 : len - i;
            }
        } else if (c == '[') {
            size_t j = i + 1;
            if (p[j] == '^')
                j++;
            if (p[j] == ']')
                j++;
            while (j < len && p[j] != ']') {
                if (p[j] == '\\')
                    j++;
                else if (p[j] == '[' && p[j + 1] == ':') {
                    const char *e = strstr(p + j, ":]");
                    j = e ? (size_t)(e - p) + 1 : len;
                }
                j++;
            }
            a.n = (j < len ? j + 1 : len) - i;
        } else if (c == '^' || c == '$') {
            i++;
            continue;
        }
        i += a.n;
        int unb;
        size_t q = quantifier(p, i, &unb);
        if (unb) {
            g->repeated = 1;
            if (g->nreps < RL_MAX_ATOMS)
                g->reps[g->nreps++] = a;
            else
                g->reps_unknown = 1;
        } else if (!q && a.n == 1 && c != '.' && g->nlits < RL_MAX_ATOMS) {
            g->lits[g->nlits++] = c;
        } else if (!q && a.n == 2 && c == '\\' && strchr("^$.|?*+()[]{}\\/-", p[i - 1]) && g->nlits < RL_MAX_ATOMS) {
            g->lits[g->nlits++] = p[i - 1];
        }
        i += q;
    }
    return 0;
}
