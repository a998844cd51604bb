/* The routing graph of a checked policy, as Graphviz DOT.

   Read from the checked tree and the symbols' checked facts (compiler.h),
   the same facts the code generator turns into tables: each agent is a
   cluster holding the agent, its guardrails in the order they run (the
   path every request takes), its rules (condition as written, reason,
   call settings; numbered as tests and traces number them, chained by
   'else' in the order they are tried) and its strategies (cheapest and
   fastest with their 'where', cascades with their threshold, method and
   numbered steps, splits with their shares, hooks with their default).
   Models (provider, id, prices, tier, context) sit outside the clusters,
   shared by every agent that reaches them; fallbacks, 'fallback on'
   stand-ins, judges and delegations to other agents are edges.

   Conditions and guardrail actions are quoted from the source (one line,
   comments dropped, cut at LABEL_TEXT_MAX bytes), so the picture shows
   what the author wrote.  Node ids are built from symbol indexes, never
   from names; every name and text reaches the output through
   graph_quote().  Output order is the order of the tree and of first
   reach, so the same program gives the same bytes.  graphcmd.c runs the
   command, dotsvg.c makes SVG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "format.h"
#include "graph.h"
#include "mem.h"

#define LABEL_TEXT_MAX 240      /* bytes of one quoted condition or action */
#define LABEL_WRAP 56           /* a quoted text breaks at the first space past this column */
#define REPLACEMENT "\xEF\xBF\xBD"

typedef struct {
    rv_compiler *c;
    FILE *out;                  /* the DOT text */
    FILE *edges;                /* the current agent's edges, written after its cluster */
    sym **agents, **models;     /* what to draw, in the order first reached */
    uint32_t nagent, nmodel;
    uint8_t *agent_in, *model_in;   /* by symbol index: already in the lists */
    const sym *cur;             /* the agent being drawn */
    unsigned nstrategy, nguard; /* its strategy and guardrail nodes so far */
    int oom;
} graph;

/* A label under construction; put_node()/put_edge() consume it. */
typedef struct { FILE *f; char *buf; size_t len; } label;

void graph_quote(FILE *out, const char *s, size_t n)
{
    putc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        size_t k = bi_utf8_char(s + i, n - i);
        if (ch == '"' || ch == '\\') {
            putc('\\', out);
            putc(ch, out);
        } else if (ch == '&') {
            fputs("&amp;", out);   /* Graphviz reads entities (&lt;) in every label */
        } else if (ch == '\n') {
            fputs("\\n", out);
        } else if (ch == '\t') {
            putc(' ', out);
        } else if (ch < 0x20 || ch == 0x7f || !k) {
            fputs(REPLACEMENT, out);
        } else {
            fwrite(s + i, 1, k, out);
            i += k;
            continue;
        }
        i++;
    }
    putc('"', out);
}

static FILE *label_open(graph *g, label *l)
{
    l->buf = NULL;
    l->len = 0;
    l->f = open_memstream(&l->buf, &l->len);
    if (!l->f)
        g->oom = 1;
    return l->f;
}

/* Close 'l'; 0 when its text is there to use. */
static int label_close(graph *g, label *l)
{
    if (fclose(l->f) || !l->buf) {
        g->oom = 1;
        free(l->buf);
        l->buf = NULL;
        return -1;
    }
    return 0;
}

/* 'id' [attrs, label=...];  'l' is consumed (NULL: no label). */
static void put_attrs(graph *g, FILE *f, const char *attrs, label *l)
{
    int text = l && !label_close(g, l);
    if (attrs[0] || text)
        fprintf(f, " [%s", attrs);
    if (text) {
        fputs(attrs[0] ? ", label=" : "label=", f);
        graph_quote(f, l->buf, l->len);
        free(l->buf);
    }
    fputs(attrs[0] || text ? "];\n" : ";\n", f);
}

static void put_node(graph *g, const char *id, const char *attrs, label *l)
{
    fputs(g->cur ? "    " : "  ", g->out);   /* inside an agent's cluster, or not */
    graph_quote(g->out, id, strlen(id));
    put_attrs(g, g->out, attrs, l);
}

/* An edge with a label of plain text 'text' (NULL: none). */
static void put_edge(graph *g, const char *from, const char *to, const char *attrs, const char *text)
{
    FILE *f = g->edges ? g->edges : g->out;
    fputs("  ", f);
    graph_quote(f, from, strlen(from));
    fputs(" -> ", f);
    graph_quote(f, to, strlen(to));
    label l;
    if (text && label_open(g, &l)) {
        fputs(text, l.f);
        put_attrs(g, f, attrs, &l);
    } else {
        put_attrs(g, f, attrs, NULL);
    }
}

static int word_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* Does the token ending in 'ch' end a value, so that a '/' after it
   divides instead of starting a regex?  As grammar/lexer.l decides: names,
   literals, ')' and ']' do; the hard keywords but true and false do not
   ('word' is the last word, when 'ch' ends one). */
static int value_end(int ch, const char *word)
{
    static const char *const hard[] = {
        "import", "const", "provider", "model", "from", "guardrail", "agent", "test", "route", "when",
        "otherwise", "cheapest", "fastest", "cascade", "split", "hook", "until", "by", "where", "default",
        "and", "or", "not", "in", "matches", "price", "deny", "redact", "limit", "with", "budget", "per",
        "expect", "given", "answers", "fails", "on",
    };
    if (!word_char(ch))
        return ch == ')' || ch == ']' || ch == '"';
    for (size_t i = 0; i < sizeof hard / sizeof *hard; i++)
        if (!strcmp(word, hard[i]))
            return 0;
    return 1;
}

/* The source text from the start of 'a' to the end of 'b' on one line:
   comments dropped (a '#' inside a string or a regex is text), each run of
   whitespace one space, at most LABEL_TEXT_MAX bytes and then "...". */
static void put_source(graph *g, FILE *f, src_span a, src_span b)
{
    src_set *s = &g->c->src;
    const char *text = a.file < s->n ? src_text(s, a.file) : NULL;
    const src_file *sf = a.file < s->n ? &s->files[a.file] : NULL;
    if (!text || !a.line || a.line > sf->nline || !b.end_line || b.end_line > sf->nline) {
        fputs("(source not available)", f);
        return;
    }
    size_t lo = sf->line_start[a.line - 1] + a.col - 1, hi = sf->line_start[b.end_line - 1] + b.end_col - 1;
    if (hi > sf->len)
        hi = sf->len;
    size_t n = 0, col = 0, wlen = 0;
    int in = 0, space = 0, prev = 0;   /* in: 0 code, '"' a string, '/' a regex */
    char word[12] = "";                /* the last word of code (a longer one is no keyword) */
    for (size_t i = lo; i < hi;) {
        unsigned char ch = (unsigned char)text[i];
        if (!in && ch == '#') {
            while (i < hi && text[i] != '\n')
                i++;
            space = 1;
            continue;
        }
        if (!in && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
            space = 1;
            i++;
            continue;
        }
        size_t k = bi_utf8_char(text + i, hi - i);
        if (!k)
            k = 1;
        if (n + space + k > LABEL_TEXT_MAX) {
            fputs(" ...", f);
            return;
        }
        int space_before = space;
        if (space && n) {
            putc(col >= LABEL_WRAP ? '\n' : ' ', f);
            col = col >= LABEL_WRAP ? 0 : col + 1;
            n++;
        }
        space = 0;
        if (in && ch == '\\' && i + k < hi) {
            k++;   /* an escaped character is part of the string or regex */
        } else if (in && ch == (unsigned char)in) {
            in = 0;
        } else if (!in && (ch == '"' || (ch == '/' && !value_end(prev, word)))) {
            in = ch;
        } else if (!in && word_char(ch)) {
            wlen = word_char(prev) && !space_before ? wlen + 1 : 1;
            if (wlen < sizeof word) {
                word[wlen - 1] = (char)ch;
                word[wlen] = 0;
            } else {
                word[0] = 0;
            }
        }
        fwrite(text + i, 1, k, f);
        n += k;
        col += k;
        i += k;
        prev = ch;
    }
}

/* A string's value, cut after LABEL_TEXT_MAX bytes (on a character
   boundary) with "...". */
static void put_text(FILE *f, const char *s, size_t n)
{
    size_t cut = n;
    if (n > LABEL_TEXT_MAX) {
        cut = LABEL_TEXT_MAX;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    }
    fwrite(s, 1, cut, f);
    if (cut < n)
        fputs(" ...", f);
}

/* The node id of model or agent 's', which is queued to be drawn. */
static void ref_id(graph *g, sym *s, char *id, size_t idlen)
{
    int agent = s->kind == SYM_AGENT;
    snprintf(id, idlen, "%s%u", agent ? "a" : "m", s->index);
    uint8_t *in = agent ? g->agent_in : g->model_in;
    if (in[s->index])
        return;
    in[s->index] = 1;
    if (agent)
        g->agents[g->nagent++] = s;
    else
        g->models[g->nmodel++] = s;
}

/* A new strategy node of the current agent: its id in 'id'. */
static void strategy_id(graph *g, char *id, size_t idlen)
{
    snprintf(id, idlen, "a%us%u", g->cur->index, ++g->nstrategy);
}

#define IDLEN 48

static int target(graph *g, ast *t, char *id);

/* The rules of a route block, chained by 'else' in the order they are
   tried; 'id' gets the first rule's id. */
static void rules(graph *g, ast *r, char *id)
{
    char prev[IDLEN] = "", rid[IDLEN], tid[IDLEN];
    id[0] = 0;
    for (; r; r = r->next) {
        ast_rule *ru = r->u.rule;
        snprintf(rid, sizeof rid, "a%ur%u", g->cur->index, r->ext);
        label l;
        if (label_open(g, &l)) {
            fprintf(l.f, "rule %u\n", r->ext);
            if (ru->cond) {
                fputs("when ", l.f);
                put_source(g, l.f, ru->cond->at, ru->cond->at);
            } else {
                fputs("otherwise", l.f);
            }
            if (ru->reason) {
                fputs("\nreason: ", l.f);
                put_text(l.f, ru->reason->u.str.s, ru->reason->u.str.len);
            }
            if (ru->opts) {
                ast *last = ru->opts;
                while (last->next)
                    last = last->next;
                putc('\n', l.f);
                put_source(g, l.f, ru->opts->at, last->at);
            }
            put_node(g, rid, "shape=box, style=rounded", &l);
        }
        if (prev[0])
            put_edge(g, prev, rid, "style=dashed, color=gray40", "else");
        else
            snprintf(id, IDLEN, "%s", rid);
        int to_agent = target(g, ru->target, tid);
        put_edge(g, rid, tid, to_agent ? "color=blue, penwidth=1.5" : "", to_agent ? "delegates" : NULL);
        snprintf(prev, sizeof prev, "%s", rid);
    }
}

/* Edges from strategy 'id' to each candidate; a cascade's ('steps') are
   numbered in the order they are tried, with the tier of each. */
static void candidates(graph *g, const char *id, ast *cands, int steps)
{
    unsigned k = 0;
    char cid[IDLEN], what[48];
    for (ast *e = cands; e; e = e->next) {
        ref_id(g, e->sym, cid, sizeof cid);
        snprintf(what, sizeof what, "step %u, tier %u", ++k, e->sym->u.model.tier);
        put_edge(g, id, cid, "", steps ? what : NULL);
    }
}

static void strategy(graph *g, ast *t, char *id)
{
    ast_target *tt = t->u.t;
    strategy_id(g, id, IDLEN);
    label l;
    if (label_open(g, &l)) {
        switch (t->kind) {
        case T_CHEAPEST:
        case T_FASTEST:
            fputs(t->kind == T_CHEAPEST ? "cheapest" : "fastest", l.f);
            if (tt->cond) {
                fputs("\nwhere ", l.f);
                put_source(g, l.f, tt->cond->at, tt->cond->at);
            }
            break;
        case T_CASCADE:
            fputs("cascade\nuntil confidence >= ", l.f);
            put_source(g, l.f, tt->cond->at, tt->cond->at);
            if (tt->by == RV_BY_CHECK) {
                fputs("\nby check ", l.f);
                put_source(g, l.f, tt->check->at, tt->check->at);
            } else {
                fputs(tt->by == RV_BY_JUDGE ? "\nby judge " : "\nby logprobs", l.f);
                if (tt->by == RV_BY_JUDGE)
                    fputs(tt->judge->sym->name, l.f);
            }
            break;
        case T_SPLIT:
            fputs("split by ", l.f);
            put_source(g, l.f, tt->cond->at, tt->cond->at);
            break;
        default:   /* T_HOOK */
            fputs("hook ", l.f);
            put_source(g, l.f, tt->url->at, tt->url->at);
            fputs("\ntimeout ", l.f);
            put_source(g, l.f, tt->cond->at, tt->cond->at);
            break;
        }
        put_node(g, id, "shape=box, style=\"rounded,filled\", fillcolor=\"#eef3e2\"", &l);
    }
    char sub[IDLEN];
    switch (t->kind) {
    case T_CHEAPEST:
    case T_FASTEST:
        candidates(g, id, tt->cands, 0);
        break;
    case T_CASCADE:
        candidates(g, id, tt->cands, 1);
        if (tt->by == RV_BY_JUDGE) {
            ref_id(g, tt->judge->sym, sub, sizeof sub);
            put_edge(g, id, sub, "style=dotted", "judge");
        }
        break;
    case T_SPLIT:
        for (ast *a = tt->arms; a; a = a->next) {
            int to_agent = target(g, a->u.arm.target, sub);
            label share;
            if (label_open(g, &share)) {
                put_source(g, share.f, a->u.arm.share->at, a->u.arm.share->at);
                if (to_agent)
                    fputs(" (delegates)", share.f);
                if (!label_close(g, &share)) {
                    put_edge(g, id, sub, to_agent ? "color=blue" : "", share.buf);
                    free(share.buf);
                }
            }
        }
        break;
    default: { /* T_HOOK */
        int to_agent = target(g, tt->dflt, sub);
        put_edge(g, id, sub, to_agent ? "style=dashed, color=blue" : "style=dashed",
                 to_agent ? "default (delegates)" : "default");
        break;
    }
    }
}

/* Draw target 't' of the current agent, with its id in 'id'; 1 when it
   is another agent (a delegation).  Targets nest at most AST_MAX_DEPTH
   deep (the parser refuses deeper ones), which bounds the recursion. */
static int target(graph *g, ast *t, char *id)
{
    switch (t->kind) {
    case T_REF:
        ref_id(g, t->sym, id, IDLEN);
        return t->sym->kind == SYM_AGENT;
    case T_ROUTE:
        rules(g, t->u.t->rules, id);
        return 0;
    default:
        strategy(g, t, id);
        return 0;
    }
}

/* Guardrail 'gs' as one node on the current agent's path. */
static void guard_node(graph *g, const sym *gs, char *id)
{
    snprintf(id, IDLEN, "a%ug%u", g->cur->index, ++g->nguard);
    label l;
    if (!label_open(g, &l))
        return;
    fprintf(l.f, "guardrail %s", gs->name);
    for (ast *a = gs->decl->u.decl->items; a; a = a->next) {
        putc('\n', l.f);
        put_source(g, l.f, a->at, a->at);
    }
    put_node(g, id, "shape=note, style=filled, fillcolor=\"#fbe3e0\"", &l);
}

static const char *const agent_items[] = { "budget", "retry", "backoff", "timeout", "retry_on" };

static void agent_node(graph *g, const sym *a, const char *id)
{
    label l;
    if (!label_open(g, &l))
        return;
    fprintf(l.f, "agent %s", a->name);
    for (size_t k = 0; k < sizeof agent_items / sizeof *agent_items; k++)
        for (ast *it = a->decl->u.decl->items; it; it = it->next)
            if (it->kind == N_ITEM && !strcmp(it->u.item->name, agent_items[k]) && !it->u.item->path) {
                putc('\n', l.f);
                put_source(g, l.f, it->at, it->at);
            }
    char money[FMT_BUF];
    if (a->u.agent.worst < 0)
        fputs("\nworst case: unbounded", l.f);
    else if (fmt_money(money, sizeof money, a->u.agent.worst) < (int)sizeof money)
        fprintf(l.f, "\nworst case %s per request", money);
    put_node(g, id, "shape=box, style=\"filled,bold\", fillcolor=\"#dbe8f6\"", &l);
}

/* 'fallback on CLASSES -> T' items of a model or an agent, from 'from'. */
static void onfail_edges(graph *g, const char *from, ast *items)
{
    char tid[IDLEN];
    for (ast *it = items; it; it = it->next) {
        sym *to = it->u.item->value2->sym;
        ref_id(g, to, tid, sizeof tid);
        label l;
        if (!label_open(g, &l))
            continue;
        fputs("fallback on ", l.f);
        put_source(g, l.f, it->u.item->value->at, it->u.item->value->at);
        if (!label_close(g, &l)) {
            put_edge(g, from, tid, to->kind == SYM_AGENT ? "style=dashed, color=blue" : "style=dashed", l.buf);
            free(l.buf);
        }
    }
}

/* Agent 'a' as a cluster: the agent, its guardrails in order, its route;
   then its edges and fallbacks. */
static void agent(graph *g, sym *a)
{
    agent_info *ai = &a->u.agent;
    char *ebuf = NULL;
    size_t elen = 0;
    g->cur = a;
    g->nstrategy = g->nguard = 0;
    g->edges = open_memstream(&ebuf, &elen);
    if (!g->edges) {
        g->oom = 1;
        return;
    }
    char id[IDLEN], prev[IDLEN], rid[IDLEN];
    snprintf(id, sizeof id, "a%u", a->index);
    fprintf(g->out, "  subgraph \"cluster_%s\" {\n    style=rounded; color=gray60;\n", id);
    agent_node(g, a, id);
    snprintf(prev, sizeof prev, "%s", id);
    for (ast *e = ai->guards; e; e = e->next) {
        char gid[IDLEN];
        guard_node(g, e->sym, gid);
        put_edge(g, prev, gid, "", NULL);
        snprintf(prev, sizeof prev, "%s", gid);
    }
    int to_agent = target(g, ai->route, rid);
    put_edge(g, prev, rid, to_agent ? "color=blue, penwidth=1.5" : "", to_agent ? "delegates" : NULL);
    fputs("  }\n", g->out);
    unsigned k = 0;
    char what[32], tid[IDLEN];
    for (ast *e = ai->fallback; e; e = e->next) {
        ref_id(g, e->sym, tid, sizeof tid);
        snprintf(what, sizeof what, "fallback %u", ++k);
        put_edge(g, id, tid, e->sym->kind == SYM_AGENT ? "style=dashed, color=blue" : "style=dashed", what);
    }
    onfail_edges(g, id, ai->onfail);
    FILE *edges = g->edges;
    g->edges = NULL;
    if (fclose(edges) || !ebuf)
        g->oom = 1;
    else
        fwrite(ebuf, 1, elen, g->out);
    free(ebuf);
}

static void model_node(graph *g, sym *m)
{
    model_info *mi = &m->u.model;
    char id[IDLEN], in[FMT_BUF], out[FMT_BUF], ctx[FMT_BUF];
    snprintf(id, sizeof id, "m%u", m->index);
    label l;
    if (label_open(g, &l)) {
        const ast *from = m->decl->u.decl->from;
        fmt_rate(in, sizeof in, mi->price_in);
        fmt_rate(out, sizeof out, mi->price_out);
        fmt_tokens(ctx, sizeof ctx, mi->context);
        fprintf(l.f, "model %s\n%s: %s\nin %s, out %s\ntier %u, context %s", m->name,
                from ? from->u.name : "?", mi->id ? mi->id : "?", in, out, mi->tier, ctx);
        put_node(g, id, "shape=box, style=filled, fillcolor=\"#fdf6d8\"", &l);
    }
    onfail_edges(g, id, mi->onfail);
}

int graph_dot(rv_compiler *c, const sym *only, FILE *out)
{
    graph g = { .c = c, .out = out };
    uint32_t na = c->count[SYM_AGENT], nm = c->count[SYM_MODEL];
    g.agents = mem_calloc(na + 1, sizeof *g.agents);
    g.models = mem_calloc(nm + 1, sizeof *g.models);
    g.agent_in = mem_calloc(na + 1, 1);
    g.model_in = mem_calloc(nm + 1, 1);
    if (!g.agents || !g.models || !g.agent_in || !g.model_in) {
        g.oom = 1;
        goto done;
    }
    char id[IDLEN];
    if (only)
        ref_id(&g, (sym *)only, id, sizeof id);
    else
        for (uint32_t i = 0; i < c->norder; i++)
            if (c->order[i]->kind == SYM_AGENT)
                ref_id(&g, c->order[i], id, sizeof id);
    fputs("digraph routing {\n"
          "  graph [rankdir=TB, charset=\"UTF-8\", fontname=\"Helvetica\", nodesep=0.25, ranksep=0.5];\n"
          "  node [fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
    for (uint32_t i = 0; i < g.nagent && !g.oom; i++)   /* the list grows as delegates are reached */
        agent(&g, g.agents[i]);
    g.cur = NULL;
    for (uint32_t i = 0; i < g.nmodel && !g.oom; i++)   /* and as stand-ins are */
        model_node(&g, g.models[i]);
    fputs("}\n", out);
done:
    free(g.agents);
    free(g.models);
    free(g.agent_in);
    free(g.model_in);
    return g.oom || ferror(out) ? -1 : 0;
}
