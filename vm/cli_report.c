/* routevm report: where money and time went, from the traces 'routevm
   run --trace' writes.  The traces are read and summed up by vm/report.c
   and printed by vm/report_out.c; this file reads the command line and
   the file.

     routevm report TRACES.jsonl [--by model|agent|rule|task|arm] [--json] [--html OUT.html]
                    [--strict] [--max-line BYTES] [--max-requests N]

   Exit status: 0 done; 1 --strict met a bad line, the request cap was
   reached, or no request in the file was complete; 2 usage or I/O
   error. */
#include <string.h>

#include "cli.h"
#include "exitcode.h"
#include "lines.h"
#include "report_out.h"

#define MAX_LINE (16u << 20)    /* bytes of one trace record */

typedef struct {
    const char *traces, *html;
    rpt_by by;
    int json, strict;
    int64_t max_line, max_requests;
} opts;

static void usage(FILE *f)
{
    fputs("usage: routevm report TRACES.jsonl [--by model|agent|rule|task|arm] [--json] [--html OUT.html]\n"
          "                      [--strict] [--max-line BYTES] [--max-requests N]\n", f);
}

static int parse_by(const char *s, rpt_by *by)
{
    for (int i = 0; i < RPT_BY__COUNT; i++)
        if (!strcmp(s, rpt_by_names[i])) {
            *by = (rpt_by)i;
            return 0;
        }
    fprintf(stderr, "routevm: --by takes model, agent, rule, task or arm, not '%s'\n", s);
    return -1;
}

static int parse_args(int argc, char **argv, void *opts_)
{
    opts *o = opts_;
    memset(o, 0, sizeof *o);
    o->by = RPT_BY_MODEL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int takes = !strcmp(a, "--by") || !strcmp(a, "--html") || !strcmp(a, "--max-line") || !strcmp(a, "--max-requests");
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "routevm: %s needs a value\n", a);
            return -1;
        }
        if (!strcmp(a, "--by")) {
            if (parse_by(argv[++i], &o->by))
                return -1;
        } else if (!strcmp(a, "--html")) o->html = argv[++i];
        else if (!strcmp(a, "--max-line") || !strcmp(a, "--max-requests")) {
            int64_t *v = a[6] == 'l' ? &o->max_line : &o->max_requests;
            if (cli_parse_count(argv[++i], (int64_t)1 << 40, v) || *v == 0) {
                fprintf(stderr, "routevm: %s takes a positive integer\n", a);
                return -1;
            }
        } else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--strict")) o->strict = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "routevm: unknown option '%s'\n", a);
            return -1;
        } else if (!o->traces) o->traces = a;
        else {
            fprintf(stderr, "routevm: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    return o->traces ? 0 : -1;
}

static int add_record(void *ud, const char *line, size_t len, uint32_t lineno, char *err, size_t errlen)
{
    return rpt_add_line(ud, line, len, lineno, err, errlen);
}

static int write_html(const char *path, const rpo_source *src, const rpt_summary *sm)
{
    cli_out out;
    FILE *h = cli_create(&out, path);
    if (!h)
        return -1;
    rpo_html(h, src, sm);
    return cli_finish(&out);
}

int cli_report(int argc, char **argv)
{
    opts o;
    int rc = cli_begin(argc, argv, usage, parse_args, &o);
    if (rc >= 0)
        return rc;
    rpt_set *s = rpt_new((size_t)o.max_requests);
    if (!s) {
        fprintf(stderr, "routevm: out of memory\n");
        return RC_USAGE;
    }
    ln_stats st;
    int rr = ln_read_file(o.traces, o.max_line ? (size_t)o.max_line : MAX_LINE, o.strict, stderr, add_record, s, &st);
    rpo_source src = { o.traces, st.lines, st.records, st.bad };
    rpt_summary sm;
    rc = rr < 0 ? RC_USAGE : rr ? RC_FINDINGS : RC_OK;
    if (!rc && rpt_summarize(s, o.by, &sm)) {
        fprintf(stderr, "routevm: out of memory\n");
        rc = RC_USAGE;
    } else if (!rc) {
        cli_note_skipped(o.traces, st.bad, st.records);
        if (sm.incomplete)
            fprintf(stderr, "routevm: %s: %llu request%s without an outcome (cut short?) left out\n", o.traces,
                    (unsigned long long)sm.incomplete, sm.incomplete == 1 ? "" : "s");
        if (!sm.total.requests) {
            fprintf(stderr, "routevm: %s: no complete request to report\n", o.traces);
            rc = RC_FINDINGS;
        } else {
            if (o.json ? rpo_json(stdout, &src, &sm) : (rpo_text(stdout, &src, &sm), 0))
                rc = RC_USAGE;
            if (o.html && write_html(o.html, &src, &sm))
                rc = RC_USAGE;
        }
        rpt_summary_free(&sm);
    }
    rpt_free(s);
    return rc;
}
