/* Released source texts (compiler/source.c): a file's text, freed while
   routec check runs its passes, is read again for diagnostics only when
   the file still holds the same bytes.  Each case writes a file, adds it,
   releases it, writes the file's content for "then" (NULL: removes the
   file), and says whether line 2 comes back and what it reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source.h"

static const struct {
    const char *name, *first, *then;
    const char *line2;      /* what src_line() gives for line 2; NULL: the text is gone */
} cases[] = {
    { "unchanged", "a\nsecond line\nc\n", "a\nsecond line\nc\n", "second line" },
    { "crlf kept as read", "a\r\nb\r\n", "a\r\nb\r\n", "b" },
    { "same length, other bytes", "a\nsecond line\nc\n", "a\nsecond LINE\nc\n", NULL },
    { "longer", "a\nb\n", "a\nb\nc\n", NULL },
    { "shorter", "a\nb\nc\n", "a\nb\n", NULL },
    { "emptied", "a\nb\n", "", NULL },
    { "removed", "a\nb\n", NULL, NULL },
};

static int put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(text, 1, strlen(text), f) == strlen(text);
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(void)
{
    char dir[] = "/tmp/routevm-source-test.XXXXXX", path[64];
    if (!mkdtemp(dir)) {
        printf("FAIL source: no temporary directory\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/p.route", dir);
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        src_set s = { 0 };
        const char *why = NULL;
        if (put(path, cases[i].first) ||
            src_add(&s, "p.route", path, cases[i].first, strlen(cases[i].first)) != 0)
            why = "could not set up";
        else if (src_release(&s, 0, path) || s.files[0].text)
            why = "the text was not released";
        else if (cases[i].then ? put(path, cases[i].then) : unlink(path))
            why = "could not change the file";
        if (!why) {
            size_t len;
            const char *line = src_line(&s, 0, 2, &len);
            if (!cases[i].line2 && line)
                why = "the changed file's text came back";
            else if (cases[i].line2 && (!line || len != strlen(cases[i].line2) ||
                                        memcmp(line, cases[i].line2, len)))
                why = "line 2 is not what was written";
            else if (!cases[i].line2 && src_text(&s, 0))
                why = "src_text() gives a text for a changed file";
            else if (cases[i].line2 && (!src_text(&s, 0) || src_text(&s, 0) != s.files[0].text ||
                                        memcmp(s.files[0].text, cases[i].first, strlen(cases[i].first))))
                why = "src_text() is not the text read again";
        }
        if (why) {
            printf("FAIL source %s: %s\n", cases[i].name, why);
            failures++;
        } else {
            printf("PASS source %s\n", cases[i].name);
        }
        src_free(&s);
        unlink(path);
    }
    rmdir(dir);
    return failures != 0;
}
