/* The routing graph of a checked policy as Graphviz DOT (graph.c), the
   'routec graph' command around it (graphcmd.c), and the run of
   Graphviz's 'dot' that turns DOT into SVG (dotsvg.c). */
#ifndef RV_GRAPH_H
#define RV_GRAPH_H

#include <stddef.h>
#include <stdio.h>

#include "compiler.h"

/* Write the graph of 'c' (import_file() and comp_check() done, no
   errors) to 'out': every agent, or only 'agent' and what it reaches
   (delegates, fallbacks) when 'agent' is not NULL.  The same program
   always gives the same bytes.  0, or -1 when out of memory or 'out'
   failed. */
int graph_dot(rv_compiler *c, const sym *agent, FILE *out);

/* Write bytes 's'..'s'+'n' as one DOT quoted string, quotes included,
   that Graphviz shows as those bytes: '"' and '\' escaped with '\' (so
   Graphviz's \N, \G, \l ... stay text), '&' as "&amp;" (Graphviz reads
   entities in labels), a line feed as DOT's line break "\n", a tab as a
   space, other control characters and bytes that are not UTF-8 as U+FFFD.
   The one place DOT text is escaped. */
void graph_quote(FILE *out, const char *s, size_t n);

/* 'routec graph FILE [--agent A] [--format dot|svg] [-o OUT] [-I DIR]':
   argv[0] is "graph".  Returns the exit status (exitcode.h). */
int graph_main(int argc, char **argv);

/* Run 'dot -Tsvg' (found in PATH, no shell) on the 'n' bytes of DOT at
   'dot', at most 'timeout_ms' milliseconds.  0 with '*svg' (malloc'd,
   owned by the caller) and '*svglen'; otherwise -1 with a message in
   'err'. */
int dotsvg_render(const char *dot, size_t n, int timeout_ms, char **svg, size_t *svglen, char *err, size_t errlen);

#endif
