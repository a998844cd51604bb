/* Unit arithmetic; see arith.h.  Intermediate products use 128-bit
   integers so nothing overflows silently. */
#include "arith.h"

#define MILLION 1000000

static int scaled(rv_type t) { return t == RV_T_NUM || t == RV_T_PERCENT; }

rv_type arith_type(arith_op op, rv_type a, rv_type b)
{
    if (!arith_numeric(a) || !arith_numeric(b))
        return RV_T_NIL;
    switch (op) {
    case ARITH_ADD:
    case ARITH_SUB:
        if (a == b)
            return a;
        if ((a == RV_T_INT && b == RV_T_TOKENS) || (a == RV_T_TOKENS && b == RV_T_INT))
            return RV_T_TOKENS;
        if ((a == RV_T_INT && b == RV_T_NUM) || (a == RV_T_NUM && b == RV_T_INT))
            return RV_T_NUM;
        return RV_T_NIL;
    case ARITH_MUL:
        if (a == RV_T_INT)
            return b;
        if (b == RV_T_INT)
            return a;
        if (scaled(a) && scaled(b))
            return RV_T_NUM;
        if (scaled(a))
            return b;
        if (scaled(b))
            return a;
        if ((a == RV_T_RATE && b == RV_T_TOKENS) || (a == RV_T_TOKENS && b == RV_T_RATE))
            return RV_T_MONEY;
        return RV_T_NIL;
    case ARITH_DIV:
        if (b == RV_T_INT)
            return a;
        if (scaled(b))
            return scaled(a) ? RV_T_NUM : a;
        if (a == b)
            return RV_T_NUM;
        if (a == RV_T_MONEY && b == RV_T_TOKENS)
            return RV_T_RATE;
        return RV_T_NIL;
    }
    return RV_T_NIL;
}

static int fit(__int128 v, int64_t *out)
{
    if (v > INT64_MAX || v < INT64_MIN)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int arith_eval(arith_op op, rv_type a, int64_t x, rv_type b, int64_t y, int64_t *out)
{
    /* the common cases in 64 bits: same-scale sums and division by an int */
    if (op == ARITH_ADD && (a == b || (a != RV_T_NUM && b != RV_T_NUM)))
        return __builtin_add_overflow(x, y, out) ? -1 : 0;
    if (op == ARITH_SUB && (a == b || (a != RV_T_NUM && b != RV_T_NUM)))
        return __builtin_sub_overflow(x, y, out) ? -1 : 0;
    if (op == ARITH_DIV && b == RV_T_INT) {
        if (y == 0)
            return -2;
        if (x == INT64_MIN && y == -1)
            return -1;
        *out = x / y;
        return 0;
    }
    __int128 X = x, Y = y;
    /* bring INT up to NUM's scale when they mix in + and - */
    if (op == ARITH_ADD || op == ARITH_SUB) {
        if (a == RV_T_INT && b == RV_T_NUM)
            X *= MILLION;
        if (a == RV_T_NUM && b == RV_T_INT)
            Y *= MILLION;
        return fit(op == ARITH_ADD ? X + Y : X - Y, out);
    }
    if (op == ARITH_MUL) {
        __int128 p = X * Y;
        if (scaled(a) && scaled(b))
            p /= MILLION;
        else if ((scaled(a) && b != RV_T_INT) || (scaled(b) && a != RV_T_INT))
            p /= MILLION;
        return fit(p, out);
    }
    if (Y == 0)
        return -2;
    if (b == RV_T_INT)
        return fit(X / Y, out);
    if (scaled(b))
        return fit(X * MILLION / Y, out);
    if (a == b)
        return fit(X * MILLION / Y, out);
    return fit(X / Y, out);    /* MONEY / TOKENS = RATE: both in picodollars */
}


int arith_cmp(rv_type a, int64_t x, rv_type b, int64_t y)
{
    __int128 X = x, Y = y;
    if (a == RV_T_INT && scaled(b))
        X *= MILLION;
    if (scaled(a) && b == RV_T_INT)
        Y *= MILLION;
    return X < Y ? -1 : X > Y;
}
