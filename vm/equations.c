/* Equations in text; see equations.h.

   One pass over the text with constant memory.  Each side of an equation
   is evaluated as it streams past by a shunting-yard evaluator with
   fixed-size stacks (EQN_STACK entries: nesting is bounded by
   EQN_MAX_DEPTH, and three precedence levels per nesting level need no
   more), so no input can make it recurse or allocate.  The equations of a
   chain are counted provisionally and kept only when the chain, once it
   ends, turns out to have a side with an operator. */
#include <math.h>
#include <string.h>

#include "equations.h"

#define EQN_STACK (4 * (EQN_MAX_DEPTH + 2))

/* operators on the stack */
enum { O_ADD, O_SUB, O_MUL, O_DIV, O_POW, O_NEG, O_PAREN };

static const int prec[] = { 1, 1, 2, 2, 4, 3, 0 };

typedef struct {
    double v, tol;              /* value; how far a rounded single number may be off */
    int valid, has_op;
} side;

typedef struct {
    /* the side being read */
    double vals[EQN_STACK];
    uint8_t ops[EQN_STACK];
    int nv, nop, depth;
    int expect;                 /* an operand is expected next */
    int bad, nbin, ntok;
    double tol;                 /* the last number's rounding allowance */
    /* the chain */
    int nsides, chain_op;
    side prev;
    uint32_t checked, held;     /* provisional, until the chain ends */
    int has_result;
    double result;
    double last_left;           /* the last equation checked: its two sides */
    int after_word;             /* a word ended the last chain; only blanks since */
    int ann;                    /* an annotation was just read in this chain: */
    double ann_left, ann_right; /* its last equation, which the text around may restate */
} chain;

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static void side_reset(chain *c)
{
    c->nv = c->nop = c->depth = 0;
    c->expect = 1;
    c->bad = c->nbin = c->ntok = 0;
    c->tol = 0;
}

static void chain_reset(chain *c)
{
    side_reset(c);
    c->nsides = c->chain_op = 0;
    c->prev.valid = 0;
    c->checked = c->held = 0;
    c->has_result = 0;
    c->after_word = c->ann = 0;
}

/* Pop one operator and apply it to the value stack. */
static void apply(chain *c)
{
    int op = c->ops[--c->nop];
    if (op == O_NEG) {
        if (c->nv < 1) {
            c->bad = 1;
            return;
        }
        c->vals[c->nv - 1] = -c->vals[c->nv - 1];
        return;
    }
    if (op == O_PAREN || c->nv < 2) {
        c->bad = 1;
        return;
    }
    double b = c->vals[--c->nv], a = c->vals[c->nv - 1], r;
    switch (op) {
    case O_ADD: r = a + b; break;
    case O_SUB: r = a - b; break;
    case O_MUL: r = a * b; break;
    case O_DIV:
        if (b == 0) {
            c->bad = 1;
            return;
        }
        r = a / b;
        break;
    default: r = pow(a, b); break;
    }
    if (!isfinite(r))
        c->bad = 1;
    c->vals[c->nv - 1] = r;
}

static void push_op(chain *c, int op)
{
    if (c->nop >= EQN_STACK)
        c->bad = 1;
    else
        c->ops[c->nop++] = (uint8_t)op;
}

static void number(chain *c, double v, double tol)
{
    c->after_word = 0;
    if (c->bad)
        return;
    if (!c->expect || c->nv >= EQN_STACK) {
        c->bad = 1;     /* two numbers in a row: not an expression */
        return;
    }
    c->vals[c->nv++] = v;
    c->tol = tol;
    c->expect = 0;
    c->ntok++;
}

/* A binary operator, or a sign where an operand is expected. */
static void oper(chain *c, int op)
{
    if (c->bad)
        return;
    if (c->after_word && !c->nsides && !c->ntok) {
        c->bad = 1;     /* "dozens + 2 =": the expression began with a word */
        return;
    }
    c->ntok++;
    if (c->expect) {
        if (op == O_SUB) {
            if (++c->depth > EQN_MAX_DEPTH)
                c->bad = 1;
            else
                push_op(c, O_NEG);
        } else if (op != O_ADD) {
            c->bad = 1;
        }
        return;
    }
    /* '^' is right-associative; the others left */
    while (!c->bad && c->nop && c->ops[c->nop - 1] != O_PAREN &&
           (prec[c->ops[c->nop - 1]] > prec[op] || (prec[c->ops[c->nop - 1]] == prec[op] && op != O_POW)))
        apply(c);
    if (op == O_POW && ++c->depth > EQN_MAX_DEPTH)
        c->bad = 1;
    push_op(c, op);
    c->nbin++;
    c->expect = 1;
}

static void paren(chain *c, int open)
{
    c->after_word = 0;
    if (c->bad)
        return;
    c->ntok++;
    if (open) {
        if (!c->expect || ++c->depth > EQN_MAX_DEPTH)
            c->bad = 1;
        else
            push_op(c, O_PAREN);
        return;
    }
    if (c->expect) {
        c->bad = 1;
        return;
    }
    while (!c->bad && c->nop && c->ops[c->nop - 1] != O_PAREN)
        apply(c);
    if (!c->nop)
        c->bad = 1;
    else
        c->nop--;
}

/* The side just read, evaluated. */
static side side_end(chain *c)
{
    side s = { 0, 0, 0, 0 };
    if (c->bad || c->expect || !c->ntok)
        return s;
    while (!c->bad && c->nop) {
        if (c->ops[c->nop - 1] == O_PAREN) {
            c->bad = 1;
            break;
        }
        apply(c);
    }
    if (c->bad || c->nv != 1 || !isfinite(c->vals[0]))
        return s;
    s.v = c->vals[0];
    s.has_op = c->nbin > 0;
    s.tol = s.has_op ? 0 : c->tol;
    s.valid = 1;
    return s;
}

static int holds(const side *a, const side *b)
{
    double m = fmax(1, fmax(fabs(a->v), fabs(b->v)));
    return fabs(a->v - b->v) <= fmax(a->tol, b->tol) + 1e-9 * m;
}

static int same(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

/* Is the equation prev = s the annotation just read, written again
   around it ("3 * 4 = <<3*4=12>>12")?  Then it is one equation, not two. */
static int restates(chain *c, const side *s)
{
    int r = c->ann && same(c->prev.v, c->ann_left) && same(s->v, c->ann_right);
    c->ann = 0;
    return r;
}

/* '=' or the end of the chain: close the side, check the equation it ends. */
static void close_side(chain *c)
{
    side s = side_end(c);
    if (c->nsides > 0 && c->prev.valid && s.valid) {
        if (!restates(c, &s)) {
            c->checked++;
            c->held += (uint32_t)holds(&c->prev, &s);
        }
        c->has_result = 1;
        c->result = s.v;
        c->last_left = c->prev.v;
    }
    c->chain_op |= s.valid && s.has_op;
    c->prev = s;
    c->nsides++;
    side_reset(c);
}

/* Close the chain; its equations count when one of its sides has an
   operator.  Returns whether they counted, and then, when 'last' is not
   NULL, the two sides of its last equation in last[0] and last[1]. */
static int chain_end(chain *c, eqn_stats *out, double last[2])
{
    close_side(c);
    int counted = c->chain_op && c->checked;
    if (counted && last) {
        last[0] = c->last_left;
        last[1] = c->result;
    }
    if (counted) {
        out->checked = out->checked > UINT32_MAX - c->checked ? UINT32_MAX : out->checked + c->checked;
        out->held = out->held > UINT32_MAX - c->held ? UINT32_MAX : out->held + c->held;
        if (c->has_result) {
            out->has_result = fabs(c->result) < 9.2e12;
            out->result = out->has_result ? (int64_t)llround(c->result * 1e6) : 0;
        }
    }
    chain_reset(c);
    return counted;
}

/* A number at s[i] (a digit, or '.' and a digit): its value, its
   rounding allowance and where it ends.  Thousands groups as number()
   reads them: ',' then exactly three digits. */
static size_t scan_number(const char *s, size_t n, size_t i, double *v, double *tol)
{
    double x = 0;
    for (;;) {
        while (i < n && is_digit(s[i]))
            x = x * 10 + (s[i++] - '0');
        if (i + 4 <= n && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
            (i + 4 == n || !is_digit(s[i + 4])))
            i++;
        else
            break;
    }
    int decimals = 0;
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        double scale = 0.1;
        for (i++; i < n && is_digit(s[i]); i++, decimals++) {
            x += scale * (s[i] - '0');
            scale /= 10;
        }
    }
    *v = x;
    *tol = 0.5 * pow(10, -(decimals > 300 ? 300 : decimals));
    return i;
}

/* Does a lone 'x' at s[i] stand for multiplication?  Not part of a word,
   after an operand, before one. */
static int times_x(const chain *c, const char *s, size_t n, size_t i)
{
    if (c->expect || c->bad || (i > 0 && is_alpha(s[i - 1])) || (i + 1 < n && is_alpha(s[i + 1])))
        return 0;
    size_t k = i + 1;
    while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '$'))
        k++;
    return k < n && (is_digit(s[k]) || s[k] == '(' || (s[k] == '.' && k + 1 < n && is_digit(s[k + 1])));
}

/* Scan s[from, to) with chain state 'c'.  With 'inner', calculator
   annotations are read as chains of their own (in that second state, so
   they never nest); 'last_close' is where the text's last ">>" starts
   (SIZE_MAX: none), so a "<<" with no ">>" after it costs no search and
   the scan stays linear. */
static void scan(const char *s, size_t from, size_t to, chain *c, chain *inner, size_t last_close, eqn_stats *out)
{
    size_t i = from;
    while (i < to) {
        unsigned char ch = (unsigned char)s[i];
        if (is_digit((char)ch) || (ch == '.' && i + 1 < to && is_digit(s[i + 1]))) {
            double v, tol;
            i = scan_number(s, to, i, &v, &tol);
            size_t k = i;
            while (k < to && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < to && s[k] == '%') {
                v /= 100;
                tol /= 100;
                i = k + 1;
            }
            number(c, v, tol);
            continue;
        }
        if (inner && ch == '<' && i + 1 < to && s[i + 1] == '<' && last_close != SIZE_MAX && last_close >= i + 2) {
            size_t e = i + 2;
            while (e + 1 < to && !(s[e] == '>' && s[e + 1] == '>'))
                e++;
            if (e + 1 < to) {
                chain_reset(inner);
                scan(s, i + 2, e, inner, NULL, SIZE_MAX, out);
                double last[2];
                if (chain_end(inner, out, last)) {
                    c->ann = 1;
                    c->ann_left = last[0];
                    c->ann_right = last[1];
                }
                i = e + 2;
                continue;
            }
        }
        switch (ch) {
        case ' ': case '\t': case '$':
            i++;
            continue;
        case '+': oper(c, O_ADD); i++; continue;
        case '-': oper(c, O_SUB); i++; continue;
        case '/': oper(c, O_DIV); i++; continue;
        case '^': oper(c, O_POW); i++; continue;
        case '*':
            if (i + 1 < to && s[i + 1] == '*') {
                oper(c, O_POW);
                i += 2;
            } else {
                oper(c, O_MUL);
                i++;
            }
            continue;
        case '\\':       /* \* is a '*' escaped for Markdown */
            if (i + 1 < to && s[i + 1] == '*') {
                i++;
                continue;
            }
            break;
        case '(': paren(c, 1); i++; continue;
        case ')': paren(c, 0); i++; continue;
        case '=': close_side(c); i++; continue;
        case 'x': case 'X':
            if (times_x(c, s, to, i)) {
                oper(c, O_MUL);
                i++;
                continue;
            }
            break;
        case 0xC3:      /* U+00D7 multiplication sign, U+00F7 division sign */
            if (i + 1 < to && ((unsigned char)s[i + 1] == 0x97 || (unsigned char)s[i + 1] == 0xB7)) {
                oper(c, (unsigned char)s[i + 1] == 0x97 ? O_MUL : O_DIV);
                i += 2;
                continue;
            }
            break;
        case 0xC2:      /* U+00A3 pound sign */
            if (i + 1 < to && (unsigned char)s[i + 1] == 0xA3) {
                i += 2;
                continue;
            }
            break;
        case 0xE2:      /* U+20AC euro sign */
            if (i + 2 < to && (unsigned char)s[i + 1] == 0x82 && (unsigned char)s[i + 2] == 0xAC) {
                i += 3;
                continue;
            }
            break;
        default:
            break;
        }
        /* anything else ends the chain: a word (whole), punctuation, a line break */
        chain_end(c, out, NULL);
        if (is_alpha((char)ch)) {
            while (i < to && is_alpha(s[i]))
                i++;
            c->after_word = 1;
        } else {
            i++;
        }
    }
}

void eqn_scan(const char *s, size_t n, eqn_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    chain outer, inner;
    chain_reset(&outer);
    chain_reset(&inner);
    size_t last_close = SIZE_MAX;
    for (size_t k = n; k-- > 1;)
        if (s[k - 1] == '>' && s[k] == '>') {
            last_close = k - 1;
            break;
        }
    scan(s, 0, n, &outer, &inner, last_close, out);
    chain_end(&outer, out, NULL);
}
