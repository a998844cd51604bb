/* The disassembler: dis_program() of the sample program (sample.h) must
   match tests/unit/golden/sample.dis exactly.  After an intended change to
   the listing, regenerate the golden file with
       UPDATE_GOLDEN=1 build/tests/disasm_test .
   and review the diff.  The unit formatting of vm/format.c is checked here
   too, from a table. */
#include "disasm.h"
#include "sample.h"
#include "format.h"
#include "verify.h"

static char *listing(const rv_program *p, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        exit(2);
    dis_program(p, f);
    fclose(f);
    return buf;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len + 4096 > cap && !(buf = realloc(buf, cap = cap * 2 + 8192)))
            exit(2);
        size_t got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return buf;
}

static void test_golden(const char *root)
{
    char path[512];
    size_t n, gn;
    rv_err err;
    rv_program *p = sample_program();
    if (ver_program(p, &err) < 0) {
        failf("disasm golden", "sample does not verify: %s", err.msg);
        rv_program_free(p);
        return;
    }
    char *text = listing(p, &n);
    rv_program_free(p);
    snprintf(path, sizeof path, "%s/tests/unit/golden/sample.dis", root);
    if (getenv("UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(text, 1, n, f) != n)
            failf("disasm golden", "cannot write %s", path);
        else
            pass("disasm golden", "updated %s", path);
        if (f)
            fclose(f);
        free(text);
        return;
    }
    char *gold = slurp(path, &gn);
    if (!gold) {
        failf("disasm golden", "cannot read %s (UPDATE_GOLDEN=1 creates it)", path);
    } else if (gn != n || memcmp(gold, text, n) != 0) {
        size_t i = 0, line = 1;
        while (i < n && i < gn && gold[i] == text[i])
            line += text[i++] == '\n';
        failf("disasm golden", "differs from %s at line %zu (UPDATE_GOLDEN=1 regenerates)",
              path, line);
    } else {
        pass("disasm golden", "%zu bytes", n);
    }
    free(gold);
    free(text);
}

/* dis_instr on every pc of a damaged program must not crash. */
static void test_damaged(void)
{
    rv_program *p = sample_program();
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        exit(2);
    for (uint32_t i = 0; i < p->nconst; i++)
        p->consts[i].str = p->consts[i].first = 1000;
    p->rules[0].reason = 5000;
    p->code[3] = INS(OP__COUNT + 1, 5);
    p->code[5] = INS(OP_DECIDE, 77);
    p->pc_loc[7] = 999;
    p->splits[0].count = 9;
    p->models[0].provider = 9;
    p->funcs[3].end = 99;
    dis_program(p, devnull);
    for (size_t pc = 0; pc < p->ncode + 2; pc = dis_instr(p, pc, devnull))
        ;
    fclose(devnull);
    rv_program_free(p);
    pass("disasm damaged program", NULL);
}

typedef int (*unit_fn)(char *, size_t, int64_t);
static const struct { const char *name; unit_fn fn; int64_t v; const char *want; } units[] = {
    { "money cents",      fmt_money,    20000000000, "$0.02" },
    { "money whole",      fmt_money,    300000000000000, "$300" },
    { "money pico",       fmt_money,    1, "$0.000000000001" },
    { "money zero",       fmt_money,    0, "$0" },
    { "money negative",   fmt_money,    -1500000000000, "-$1.5" },
    { "money min",        fmt_money,    INT64_MIN, "-$9223372.036854775808" },
    { "rate",             fmt_rate,     150000, "$0.15/Mtok" },
    { "rate fine",        fmt_rate,     37500, "$0.0375/Mtok" },
    { "rate whole",       fmt_rate,     15000000, "$15/Mtok" },
    { "duration ms",      fmt_duration, 200000, "200ms" },
    { "duration s",       fmt_duration, 20000000, "20s" },
    { "duration 1.5s",    fmt_duration, 1500000, "1.5s" },
    { "duration us",      fmt_duration, 250, "0.25ms" },
    { "duration zero",    fmt_duration, 0, "0ms" },
    { "tokens k",         fmt_tokens,   8000, "8k tokens" },
    { "tokens M",         fmt_tokens,   2000000, "2M tokens" },
    { "tokens plain",     fmt_tokens,   8192, "8192 tokens" },
    { "tokens small",     fmt_tokens,   12, "12 tokens" },
    { "percent",          fmt_percent,  900000, "90%" },
    { "percent frac",     fmt_percent,  125000, "12.5%" },
    { "percent tiny",     fmt_percent,  1, "0.0001%" },
    { "num",              fmt_num,      800000, "0.8" },
    { "num whole",        fmt_num,      -2000000, "-2" },
    { "num tiny",         fmt_num,      -1, "-0.000001" },
};

static void test_units(void)
{
    char buf[FMT_BUF], name[64];
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        snprintf(name, sizeof name, "units %s", units[i].name);
        int n = units[i].fn(buf, sizeof buf, units[i].v);
        if (strcmp(buf, units[i].want) != 0 || n != (int)strlen(units[i].want))
            failf(name, "got \"%s\" (%d), want \"%s\"", buf, n, units[i].want);
        else
            pass(name, NULL);
    }
    char small[4];
    int n = fmt_money(small, sizeof small, 20000000000);
    if (n != 5 || strcmp(small, "$0.") != 0)
        failf("units truncation", "got \"%s\" (%d)", small, n);
    else
        pass("units truncation", NULL);
}

int main(int argc, char **argv)
{
    test_golden(argc > 1 ? argv[1] : ".");
    test_damaged();
    test_units();
    return test_failures ? 1 : 0;
}
