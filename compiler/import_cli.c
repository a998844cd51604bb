/* import_cli: `routec import litellm CONFIG.yaml` and `routec import
   portkey CONFIG.json` -- read the config (at most CFG_MAX_BYTES, "-" is
   standard input), build the tree, run the importer, and write the policy
   to standard output or, with -o, atomically to a file.  Notes go to
   stderr, one line each, whatever happens; the exit status is 0 when a
   policy was written, 2 when the config could not be read or imported
   (with its error), 1 when the policy made from it does not check. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcode.h"
#include "filew.h"
#include "importer.h"
#include "rbc.h"

static int usage(void)
{
    fputs("usage: routec import litellm CONFIG.yaml [-o OUT.route]\n"
          "       routec import portkey CONFIG.json [-o OUT.route] [--agent NAME]\n", stderr);
    return RC_USAGE;
}

/* The policy to standard output or 'path'; 0, or -1 with the message in 'err'. */
static int write_out(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    if (path)
        return fw_write(path, text, len, 0, err, errlen);
    if (fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0)
        return 0;
    snprintf(err, errlen, "standard output: %s", strerror(errno));
    return -1;
}

/* The agent name a Portkey config gets by default: its file's name. */
static const char *default_agent(const char *path, char *buf, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (!n || !strcmp(path, "-"))
        return "portkey";
    snprintf(buf, len, "%.*s", (int)n, base);
    return buf;
}

int imp_main(int argc, char **argv)
{
    const char *format = argc > 2 ? argv[2] : NULL, *file = NULL, *out = NULL, *agent = NULL;
    int litellm = format && !strcmp(format, "litellm"), portkey = format && !strcmp(format, "portkey");
    if (!litellm && !portkey)
        return usage();
    for (int i = 3; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--agent")) && i + 1 < argc) {
            *(argv[i][1] == 'o' ? &out : &agent) = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "routec import: unknown option '%s'\n", argv[i]);
            return usage();
        } else if (!file) {
            file = argv[i];
        } else {
            return usage();
        }
    }
    if (!file || (agent && litellm)) {
        if (agent && litellm)
            fprintf(stderr, "routec import: --agent is for portkey (LiteLLM's agents are its model names)\n");
        return usage();
    }
    uint8_t *text;
    size_t len;
    rv_err err;
    int r = rbc_read_file(file, CFG_MAX_BYTES, &text, &len, &err);
    if (r) {
        fprintf(stderr, "routec import: %s\n", err.msg);
        return RC_USAGE;
    }
    imp *im = imp_new(file, litellm ? "LiteLLM" : "Portkey");
    if (!im) {
        free(text);
        fprintf(stderr, "routec import: out of memory\n");
        return RC_USAGE;
    }
    cfg_err ce;
    cfg_node *root = litellm ? cfg_read_yaml(imp_arena(im), (const char *)text, len, &ce)
                             : cfg_read_json(imp_arena(im), (const char *)text, len, &ce);
    free(text);
    char abuf[256];
    if (!root)
        imp_fail_read(im, &ce);
    else if (litellm)
        litellm_import(im, root);
    else
        portkey_import(im, root, agent ? agent : default_agent(file, abuf, sizeof abuf));
    char *policy = NULL;
    size_t plen = 0;
    int rc = imp_failed(im) ? RC_USAGE : imp_write(im, &policy, &plen, stderr) ? RC_FINDINGS : RC_OK;
    imp_print_notes(im, stderr);
    char werr[PATH_MAX + 128];
    if (rc == RC_OK && write_out(out, policy, plen, werr, sizeof werr)) {
        fprintf(stderr, "routec import: %s\n", werr);
        rc = RC_USAGE;
    }
    free(policy);
    imp_free(im);
    return rc;
}
