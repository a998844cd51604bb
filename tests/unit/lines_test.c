/* The capped line reader (vm/lines.c), data-driven: each case is an input
   written to a pipe in pieces of a given size, a cap, and the sequence of
   results it must give -- lines as text, "!N" for a line too long with N
   bytes, "$" for the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lines.h"

static const struct {
    const char *name, *input;
    size_t max, piece;
    const char *want;       /* results separated by '|' */
} cases[] = {
    { "simple", "a\nbb\nccc\n", 8, 64, "a|bb|ccc|$" },
    { "no final newline", "a\nbb", 8, 64, "a|bb|$" },
    { "crlf", "a\r\nb\r\n", 8, 64, "a|b|$" },
    { "blank lines", "\n\na\n\n", 8, 64, "||a||$" },
    { "empty", "", 8, 64, "$" },
    { "exactly the cap", "12345678\nx\n", 8, 64, "12345678|x|$" },
    { "one over the cap", "123456789\nx\n", 8, 64, "!9|x|$" },
    { "far over the cap", "123456789012345678901234567890\nx\n", 8, 3, "!30|x|$" },
    { "too long at the end", "x\n123456789012", 8, 5, "x|!12|$" },
    { "pieces of one byte", "ab\ncd\n", 8, 1, "ab|cd|$" },
};

/* Writes the input to a pipe from a child, 'piece' bytes per write. */
static int feed(const char *in, size_t piece)
{
    int fd[2];
    if (pipe(fd))
        exit(2);
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        close(fd[0]);
        size_t n = strlen(in);
        for (size_t off = 0; off < n; off += piece)
            if (write(fd[1], in + off, n - off < piece ? n - off : piece) < 0)
                _exit(1);
        _exit(0);
    }
    close(fd[1]);
    return fd[0];
}

int main(void)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = feed(cases[i].input, cases[i].piece);
        ln_reader *r = ln_open(fd, cases[i].max);
        char got[512] = "";
        size_t used = 0;
        for (int k = 0; r && k < 32; k++) {
            const char *line;
            size_t len;
            ln_status st = ln_next(r, &line, &len);
            int n = st == LN_LINE ? snprintf(got + used, sizeof got - used, "%s%.*s", k ? "|" : "", (int)len, line)
                  : st == LN_TOO_LONG ? snprintf(got + used, sizeof got - used, "%s!%zu", k ? "|" : "", len)
                  : snprintf(got + used, sizeof got - used, "%s%s", k ? "|" : "", st == LN_END ? "$" : "ERROR");
            used += (size_t)n;
            if (st == LN_END || st == LN_ERROR || used >= sizeof got)
                break;
        }
        ln_close(r);
        close(fd);
        while (wait(NULL) > 0)
            ;
        if (strcmp(got, cases[i].want)) {
            printf("FAIL lines %s: got \"%s\", want \"%s\"\n", cases[i].name, got, cases[i].want);
            failures++;
        } else {
            printf("PASS lines %s\n", cases[i].name);
        }
    }
    return failures ? 1 : 0;
}
