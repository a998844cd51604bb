/* The .route grammar: a pure, reentrant bison parser with locations.

   It builds the AST of one file (compiler/ast.h) in the compilation's
   arena; all semantic values live there, so nothing needs a %destructor.
   Lists are built left-recursively with a head and a tail pointer, so a
   policy of thousands of rules parses in linear time.

   Error recovery: a syntax error inside a route block skips to the next
   rule; anywhere else it skips to the next top-level declaration, so one
   typo gives one message and the rest of the file is still checked.

   Item blocks (provider, model, agent, test requests) are 'name value'
   lists checked by compiler/check.c, which knows every item and suggests
   the closest for a misspelled one.  Operator precedence is the table of
   %left/%right/%nonassoc lines below, lowest first. */
%define api.pure full
%define api.prefix {rv_yy}
%define api.location.type {src_span}
%define parse.error custom
%locations
%initial-action { @$.file = ctx->file; @$.line = @$.end_line = 1; @$.col = @$.end_col = ctx->first_col ? ctx->first_col : 1; }
%param {yyscan_t scanner}
%parse-param {parse_ctx *ctx}

%code requires {
#include "parse.h"
typedef void *yyscan_t;
typedef struct { ast *head, *tail; } ast_list;
}

%code provides {
int rv_yylex(RV_YYSTYPE *lval, src_span *lloc, yyscan_t scanner);
}

%code {
#include <string.h>
#define YYLLOC_DEFAULT(cur, rhs, n) do {                              \
        if (n) {                                                      \
            (cur).file = YYRHSLOC(rhs, 1).file;                       \
            (cur).line = YYRHSLOC(rhs, 1).line;                       \
            (cur).col = YYRHSLOC(rhs, 1).col;                         \
            (cur).end_line = YYRHSLOC(rhs, n).end_line;               \
            (cur).end_col = YYRHSLOC(rhs, n).end_col;                 \
        } else {                                                      \
            (cur) = YYRHSLOC(rhs, 0);                                 \
            (cur).line = (cur).end_line;                              \
            (cur).col = (cur).end_col;                                \
        }                                                             \
    } while (0)
#define NEW(kind, at) ast_new(ctx->arena, (kind), (at))
#define OOM(p) do { if (!(p)) { ctx->oom = 1; YYABORT; } } while (0)
/* Node 'n' is nested 'd' deep: past AST_MAX_DEPTH the construct is
   reported and skipped by error recovery.  Bison's own stack holds a few
   states per level, so it is sized for the limit; running out of it means
   the input nests too deep as well (see rv_yyerror). */
#define NEST(n, d) do { if (nest(ctx, (n), (d))) YYERROR; } while (0)
#define YYMAXDEPTH (16 * AST_MAX_DEPTH + 200)
static void rv_yyerror(src_span *at, yyscan_t scanner, parse_ctx *ctx, const char *msg);
static ast *binop(parse_ctx *ctx, ast_binop op, ast *l, ast *r, src_span at);
static int nest(parse_ctx *ctx, ast *n, unsigned d);
static unsigned dep(const ast *n) { return n ? n->depth : 0; }
static unsigned max_dep(const ast *list, int targets);
static unsigned max2(unsigned a, unsigned b) { return a > b ? a : b; }
static ast_list one(ast *n) { ast_list l = { n, n }; return l; }
static ast_list push(ast_list l, ast *n)
{
    if (!n) return l;
    if (!l.head) return one(n);
    l.tail->next = n;
    l.tail = n;
    return l;
}
}

%union {
    ast *node;
    ast_list list;
    char *str;
    int64_t i;
    struct { char *s; uint32_t len; } s;
    struct { char *pat; uint32_t flags; } re;
}

%token IMPORT "import"
%token CONST "const"
%token PROVIDER "provider"
%token MODEL "model"
%token FROM "from"
%token GUARDRAIL "guardrail"
%token AGENT "agent"
%token TEST "test"
%token ROUTE "route"
%token WHEN "when"
%token OTHERWISE "otherwise"
%token CHEAPEST "cheapest"
%token FASTEST "fastest"
%token CASCADE "cascade"
%token SPLIT "split"
%token HOOK "hook"
%token UNTIL "until"
%token BY "by"
%token WHERE "where"
%token DEFAULT "default"
%token AND "and"
%token OR "or"
%token NOT "not"
%token IN "in"
%token MATCHES "matches"
%token TRUE "true"
%token FALSE "false"
%token PRICE "price"
%token DENY "deny"
%token REDACT "redact"
%token LIMIT "limit"
%token WITH "with"
%token BUDGET "budget"
%token PER "per"
%token EXPECT "expect"
%token GIVEN "given"
%token ANSWERS "answers"
%token FAILS "fails"
%token ON "on"
%token BADCHAR "invalid character"
%token ARROW "->" EQEQ "==" NOTEQ "!=" LE "<=" GE ">="
%token <str> IDENT "identifier"
%token <s> STRING "string"
%token <re> REGEX "regex"
%token <i> INTLIT "integer" NUMLIT "number" MONEY "amount" RATE "price per token" DURATION "duration"
%token <i> TOKLIT "token count" PERCENT "percentage"
/* soft keywords, usable as names: keep these last (the lexer tests >= INPUT) */
%token <str> INPUT "input"
%token <str> OUTPUT "output"
%token <str> REQUEST "request"
%token <str> CONFIDENCE "confidence"
%token <str> TIMEOUT "timeout"
%token <str> LOGPROBS "logprobs"
%token <str> JUDGE "judge"
%token <str> CHECK "check"

%type <str> name softname word
%type <node> decl expr postfix primary target rule item budget gaction titem reqitem given
%type <node> cand_list where_opt arm dotted pclass
%type <list> items budgets gactions titems reqitems rules arms exprs args args_opt names list_opt
%type <list> pclasses ropts
%type <s> reason_opt

%left OR
%left AND
%right NOT
%nonassoc EQEQ NOTEQ '<' LE '>' GE IN MATCHES
%left '+' '-'
%left '*' '/'
%precedence UMINUS
%precedence BY_CASCADE
%precedence BY

%%

file: %empty
    | file decl         { if ($2) { if (!ctx->head) ctx->head = $2; else ctx->tail->next = $2; ctx->tail = $2; } }
    | file error        { }
    ;

decl: IMPORT STRING     { OOM($$ = NEW(D_IMPORT, @$)); $$->u.str.s = $2.s; $$->u.str.len = $2.len; }
    | CONST dotted '=' expr
                        { OOM($$ = NEW(D_CONST, @$)); $$->u.decl->name = $2->u.name; $$->u.decl->name_at = @2;
                          $$->u.decl->from = $4; }
    | PROVIDER name '{' items '}'
                        { OOM($$ = NEW(D_PROVIDER, @$)); $$->u.decl->name = $2; $$->u.decl->name_at = @2;
                          $$->u.decl->items = $4.head; }
    | MODEL name FROM name '{' items '}'
                        { OOM($$ = NEW(D_MODEL, @$)); $$->u.decl->name = $2; $$->u.decl->name_at = @2;
                          ast *p; OOM(p = NEW(E_NAME, @4)); p->u.name = $4; $$->u.decl->from = p;
                          $$->u.decl->items = $6.head; }
    | GUARDRAIL name '{' gactions '}'
                        { OOM($$ = NEW(D_GUARDRAIL, @$)); $$->u.decl->name = $2; $$->u.decl->name_at = @2;
                          $$->u.decl->items = $4.head; }
    | AGENT name '{' items '}'
                        { OOM($$ = NEW(D_AGENT, @$)); $$->u.decl->name = $2; $$->u.decl->name_at = @2;
                          $$->u.decl->items = $4.head; }
    | TEST STRING '{' titems '}'
                        { OOM($$ = NEW(D_TEST, @$)); $$->u.decl->name = $2.s; $$->u.decl->name_at = @2;
                          $$->u.decl->items = $4.head; }
    ;

/* a dotted name, for constants such as std.pii.email */
dotted: name            { OOM($$ = NEW(E_NAME, @$)); $$->u.name = $1; }
    | dotted '.' word   { $$ = $1; $$->at = @$; OOM($$->u.name = arena_printf(ctx->arena, "%s.%s", $1->u.name, $3)); }
    ;

/* names: identifiers and the soft keywords */
name: IDENT | softname ;
softname: INPUT | OUTPUT | REQUEST | CONFIDENCE | TIMEOUT | LOGPROBS | JUDGE | CHECK ;
/* after '.', any word at all: meta.model, meta.route */
word: name
    | IMPORT { $$ = "import"; } | CONST { $$ = "const"; } | PROVIDER { $$ = "provider"; }
    | MODEL { $$ = "model"; } | FROM { $$ = "from"; } | GUARDRAIL { $$ = "guardrail"; }
    | AGENT { $$ = "agent"; } | TEST { $$ = "test"; } | ROUTE { $$ = "route"; }
    | WHEN { $$ = "when"; } | OTHERWISE { $$ = "otherwise"; } | CHEAPEST { $$ = "cheapest"; }
    | FASTEST { $$ = "fastest"; } | CASCADE { $$ = "cascade"; } | SPLIT { $$ = "split"; }
    | HOOK { $$ = "hook"; } | UNTIL { $$ = "until"; } | BY { $$ = "by"; } | WHERE { $$ = "where"; }
    | DEFAULT { $$ = "default"; } | AND { $$ = "and"; } | OR { $$ = "or"; } | NOT { $$ = "not"; }
    | IN { $$ = "in"; } | MATCHES { $$ = "matches"; } | TRUE { $$ = "true"; } | FALSE { $$ = "false"; }
    | PRICE { $$ = "price"; } | DENY { $$ = "deny"; } | REDACT { $$ = "redact"; } | LIMIT { $$ = "limit"; }
    | WITH { $$ = "with"; } | BUDGET { $$ = "budget"; } | PER { $$ = "per"; } | EXPECT { $$ = "expect"; }
    | GIVEN { $$ = "given"; } | ANSWERS { $$ = "answers"; } | FAILS { $$ = "fails"; } | ON { $$ = "on"; }
    ;

/* ---------------------------------------------------------------- items */

/* items -> (name value, ... | price in X, out Y, ... | name on classes -> name
             | budget ... | route ...)* */
items: %empty           { $$.head = $$.tail = NULL; }
    | items item        { $$ = push($1, $2); }
    ;
item: name exprs        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->value = $2.head; }
    | PRICE IN expr pclasses
                        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "price"; $$->u.item->name_at = @1;
                          $$->u.item->value = $3; $$->u.item->value2 = $4.head; }
    /* a misspelled 'price' reads like one, so the checker can say so */
    | name IN expr pclasses
                        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->path = "in"; $$->u.item->value = $3; $$->u.item->value2 = $4.head; }
    /* and so does a misspelled 'budget' */
    | name budgets      { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->path = "per"; $$->u.item->value = $2.head; }
    /* fallback on context_length -> long_model */
    | name ON exprs "->" name
                        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->path = "on"; $$->u.item->value = $3.head;
                          OOM($$->u.item->value2 = NEW(E_NAME, @5)); $$->u.item->value2->u.name = $5; }
    | BUDGET budgets    { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "budget"; $$->u.item->name_at = @1;
                          $$->u.item->value = $2.head; }
    | ROUTE '{' rules '}'
                        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "route"; $$->u.item->name_at = @1;
                          ast *t; OOM(t = NEW(T_ROUTE, @$)); t->u.t->rules = $3.head; $$->u.item->value = t;
                          NEST(t, 1 + max_dep($3.head, 1)); }
    | ROUTE "->" target { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "route"; $$->u.item->name_at = @1;
                          $$->u.item->value = $3; }
    ;
/* the prices after 'in': ', out X, cached Y, ...' */
pclasses: %empty        { $$.head = $$.tail = NULL; }
    | pclasses ',' pclass { $$ = push($1, $3); }
    ;
pclass: name expr       { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->value = $2; }
    ;
budgets: budget         { $$ = one($1); }
    | budgets ',' budget { $$ = push($1, $3); }
    ;
budget: expr PER name   { OOM($$ = NEW(N_BUDGET, @$)); $$->u.budget.amount = $1; $$->u.budget.per = $3;
                          $$->u.budget.per_at = ast_pos_of(@3); }
    ;

/* guardrail actions */
gactions: %empty        { $$.head = $$.tail = NULL; }
    | gactions gaction  { $$ = push($1, $2); }
    | gactions error    { $$ = $1; }
    ;
gaction: DENY dir MATCHES expr STRING
                        { OOM($$ = NEW(N_GACTION, @$)); $$->u.ga.kind = RV_GA_DENY; $$->u.ga.dir = $<i>2;
                          $$->u.ga.value = $4; ast *s; OOM(s = NEW(E_STR, @5)); s->u.str.s = $5.s;
                          s->u.str.len = $5.len; $$->u.ga.text = s; }
    | REDACT dir MATCHES expr WITH STRING
                        { OOM($$ = NEW(N_GACTION, @$)); $$->u.ga.kind = RV_GA_REDACT; $$->u.ga.dir = $<i>2;
                          $$->u.ga.value = $4; ast *s; OOM(s = NEW(E_STR, @6)); s->u.str.s = $6.s;
                          s->u.str.len = $6.len; $$->u.ga.text = s; }
    | LIMIT dir expr    { OOM($$ = NEW(N_GACTION, @$)); $$->u.ga.kind = RV_GA_LIMIT; $$->u.ga.dir = $<i>2;
                          $$->u.ga.value = $3; }
    ;
dir: INPUT              { $<i>$ = RV_DIR_INPUT; }
    | OUTPUT            { $<i>$ = RV_DIR_OUTPUT; }
    ;

/* test blocks */
titems: %empty          { $$.head = $$.tail = NULL; }
    | titems titem      { $$ = push($1, $2); }
    ;
titem: REQUEST name '{' reqitems '}'
                        { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "request"; $$->u.item->name_at = @1;
                          ast *a; OOM(a = NEW(E_NAME, @2)); a->u.name = $2; $$->u.item->value = a;
                          $$->u.item->value2 = $4.head; }
    | EXPECT expr       { OOM($$ = NEW(N_ITEM, @$)); $$->u.item->name = "expect"; $$->u.item->name_at = @1;
                          $$->u.item->value = $2; }
    | GIVEN given       { $$ = $2; }
    ;
given: name ANSWERS STRING
                        { OOM($$ = NEW(N_GIVEN, @$)); $$->u.given->kind = RV_GIVEN_ANSWER;
                          OOM($$->u.given->who = NEW(E_NAME, @1)); $$->u.given->who->u.name = $1;
                          OOM($$->u.given->what = NEW(E_STR, @3)); $$->u.given->what->u.str.s = $3.s;
                          $$->u.given->what->u.str.len = $3.len; }
    | name ANSWERS STRING CONFIDENCE expr
                        { OOM($$ = NEW(N_GIVEN, @$)); $$->u.given->kind = RV_GIVEN_ANSWER;
                          OOM($$->u.given->who = NEW(E_NAME, @1)); $$->u.given->who->u.name = $1;
                          OOM($$->u.given->what = NEW(E_STR, @3)); $$->u.given->what->u.str.s = $3.s;
                          $$->u.given->what->u.str.len = $3.len; $$->u.given->confidence = $5; }
    | name FAILS primary
                        { OOM($$ = NEW(N_GIVEN, @$)); $$->u.given->kind = RV_GIVEN_FAIL;
                          OOM($$->u.given->who = NEW(E_NAME, @1)); $$->u.given->who->u.name = $1;
                          $$->u.given->what = $3; }
    | HOOK ANSWERS name { OOM($$ = NEW(N_GIVEN, @$)); $$->u.given->kind = RV_GIVEN_HOOK;
                          OOM($$->u.given->what = NEW(E_NAME, @3)); $$->u.given->what->u.name = $3; }
    ;
reqitems: %empty        { $$.head = $$.tail = NULL; }
    | reqitems reqitem  { $$ = push($1, $2); }
    ;
reqitem: name expr      { OOM($$ = NEW(N_REQITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->value = $2; }
    | name '.' word '=' expr
                        { OOM($$ = NEW(N_REQITEM, @$)); $$->u.item->name = $1; $$->u.item->name_at = @1;
                          $$->u.item->path = $3; $$->u.item->value = $5; }
    ;

/* ---------------------------------------------------------------- routes */

rules: %empty           { $$.head = $$.tail = NULL; }
    | rules rule        { $$ = push($1, $2); }
    | rules error       { $$ = $1; }
    ;
/* rule -> 'when' expr '->' target [reason] [{ items }]
         | 'otherwise' '->' target [reason] [{ items }]
   (the items are the rule's call settings: timeout, retry, ...) */
rule: WHEN expr "->" target reason_opt ropts
                        { OOM($$ = NEW(N_RULE, @$)); $$->u.rule->cond = $2; $$->u.rule->target = $4;
                          $$->u.rule->opts = $6.head;
                          if ($5.s) { OOM($$->u.rule->reason = NEW(E_STR, @5)); $$->u.rule->reason->u.str.s = $5.s;
                                      $$->u.rule->reason->u.str.len = $5.len; } }
    | OTHERWISE "->" target reason_opt ropts
                        { OOM($$ = NEW(N_RULE, @$)); $$->u.rule->target = $3; $$->u.rule->opts = $5.head;
                          if ($4.s) { OOM($$->u.rule->reason = NEW(E_STR, @4)); $$->u.rule->reason->u.str.s = $4.s;
                                      $$->u.rule->reason->u.str.len = $4.len; } }
    ;
ropts: %empty           { $$.head = $$.tail = NULL; }
    | '{' items '}'     { $$ = $2; }
    ;
reason_opt: %empty      { $$.s = NULL; $$.len = 0; }
    | STRING            { $$ = $1; }
    ;

/* target -> name | cheapest/fastest [names] [where expr]
           | cascade [names] until confidence >= expr [by logprobs|judge m|check expr]
           | split share -> target, ... by expr | hook url timeout d default target
           | route { rules } | ( target ) */
target: name            { OOM($$ = NEW(T_REF, @$)); $$->u.name = $1; }
    | CHEAPEST cand_list where_opt
                        { OOM($$ = NEW(T_CHEAPEST, @$)); $$->u.t->cands = $2; $$->u.t->cond = $3; }
    | FASTEST cand_list where_opt
                        { OOM($$ = NEW(T_FASTEST, @$)); $$->u.t->cands = $2; $$->u.t->cond = $3; }
    | CASCADE cand_list UNTIL CONFIDENCE ">=" expr %prec BY_CASCADE
                        { OOM($$ = NEW(T_CASCADE, @$)); $$->u.t->cands = $2; $$->u.t->cond = $6;
                          $$->u.t->by = RV_BY_LOGPROBS; }
    | CASCADE cand_list UNTIL CONFIDENCE ">=" expr BY LOGPROBS
                        { OOM($$ = NEW(T_CASCADE, @$)); $$->u.t->cands = $2; $$->u.t->cond = $6;
                          $$->u.t->by = RV_BY_LOGPROBS; }
    | CASCADE cand_list UNTIL CONFIDENCE ">=" expr BY JUDGE name
                        { OOM($$ = NEW(T_CASCADE, @$)); $$->u.t->cands = $2; $$->u.t->cond = $6;
                          $$->u.t->by = RV_BY_JUDGE; OOM($$->u.t->judge = NEW(E_NAME, @9));
                          $$->u.t->judge->u.name = $9; }
    | CASCADE cand_list UNTIL CONFIDENCE ">=" expr BY CHECK expr
                        { OOM($$ = NEW(T_CASCADE, @$)); $$->u.t->cands = $2; $$->u.t->cond = $6;
                          $$->u.t->by = RV_BY_CHECK; $$->u.t->check = $9; }
    | SPLIT arms BY expr
                        { OOM($$ = NEW(T_SPLIT, @$)); $$->u.t->arms = $2.head; $$->u.t->cond = $4;
                          NEST($$, 1 + max_dep($2.head, 1)); }
    | HOOK STRING TIMEOUT expr DEFAULT target
                        { OOM($$ = NEW(T_HOOK, @$)); OOM($$->u.t->url = NEW(E_STR, @2));
                          $$->u.t->url->u.str.s = $2.s; $$->u.t->url->u.str.len = $2.len;
                          $$->u.t->cond = $4; $$->u.t->dflt = $6; NEST($$, 1 + dep($6)); }
    | ROUTE '{' rules '}'
                        { OOM($$ = NEW(T_ROUTE, @$)); $$->u.t->rules = $3.head; NEST($$, 1 + max_dep($3.head, 1)); }
    | '(' target ')'    { $$ = $2; NEST($$, 1 + dep($2)); }
    ;
cand_list: '[' names ']' { $$ = $2.head; }
    ;
names: name             { ast *n; OOM(n = NEW(E_NAME, @1)); n->u.name = $1; $$ = one(n); }
    | names ',' name    { ast *n; OOM(n = NEW(E_NAME, @3)); n->u.name = $3; $$ = push($1, n); }
    ;
where_opt: %empty       { $$ = NULL; }
    | WHERE expr        { $$ = $2; }
    ;
arms: arm               { $$ = one($1); }
    | arms ',' arm      { $$ = push($1, $3); }
    ;
arm: expr "->" target   { OOM($$ = NEW(N_ARM, @$)); $$->u.arm.share = $1; $$->u.arm.target = $3; }
    ;

/* ---------------------------------------------------------------- expressions */

exprs: expr             { $$ = one($1); }
    | exprs ',' expr    { $$ = push($1, $3); }
    ;
expr: expr OR expr      { OOM($$ = binop(ctx, AST_OR, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr AND expr     { OOM($$ = binop(ctx, AST_AND, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | NOT expr          { OOM($$ = NEW(E_NOT, @$)); $$->u.operand = $2; NEST($$, 1 + dep($2)); }
    | expr "==" expr    { OOM($$ = binop(ctx, AST_EQ, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr "!=" expr    { OOM($$ = binop(ctx, AST_NE, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '<' expr     { OOM($$ = binop(ctx, AST_LT, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr "<=" expr    { OOM($$ = binop(ctx, AST_LE, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '>' expr     { OOM($$ = binop(ctx, AST_GT, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr ">=" expr    { OOM($$ = binop(ctx, AST_GE, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr IN expr      { OOM($$ = binop(ctx, AST_IN, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr NOT IN expr %prec IN
                        { OOM($$ = binop(ctx, AST_NOTIN, $1, $4, @$)); NEST($$, 1 + max2(dep($1), dep($4))); }
    | expr MATCHES expr { OOM($$ = binop(ctx, AST_MATCHES, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '+' expr     { OOM($$ = binop(ctx, AST_ADD, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '-' expr     { OOM($$ = binop(ctx, AST_SUB, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '*' expr     { OOM($$ = binop(ctx, AST_MUL, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | expr '/' expr     { OOM($$ = binop(ctx, AST_DIV, $1, $3, @$)); NEST($$, 1 + max2(dep($1), dep($3))); }
    | '-' expr %prec UMINUS
                        { OOM($$ = NEW(E_NEG, @$)); $$->u.operand = $2; NEST($$, 1 + dep($2)); }
    | postfix
    ;
postfix: primary
    /* a bare name's node becomes the field access: 'meta.task' is one node */
    | postfix '.' word  { unsigned d = 1 + dep($1);
                          if ($1->kind == E_NAME) {
                              char *base = $1->u.name;
                              $$ = $1;
                              $$->kind = E_MEMBER;
                              $$->bare = 1;
                              $$->u.member.base = base;
                          } else {
                              OOM($$ = NEW(E_MEMBER, @$));
                              $$->u.member.obj = $1;
                          }
                          $$->at = @$; $$->u.member.name = $3; $$->u.member.name_at = ast_pos_of(@3);
                          NEST($$, d); }
    | name '(' args_opt ')'
                        { OOM($$ = NEW(E_CALL, @$)); $$->u.call.fn = $1; $$->u.call.fn_at = ast_pos_of(@1);
                          $$->u.call.args = $3.head; NEST($$, 1 + max_dep($3.head, 0)); }
    | MATCHES '(' args_opt ')'
                        { OOM($$ = NEW(E_CALL, @$)); $$->u.call.fn = "matches"; $$->u.call.fn_at = ast_pos_of(@1);
                          $$->u.call.args = $3.head; NEST($$, 1 + max_dep($3.head, 0)); }
    ;
args_opt: %empty        { $$.head = $$.tail = NULL; }
    | args
    ;
args: expr              { $$ = one($1); }
    | args ',' expr     { $$ = push($1, $3); }
    ;
primary: INTLIT         { OOM($$ = NEW(E_INT, @$)); $$->u.i = $1; }
    | NUMLIT            { OOM($$ = NEW(E_NUM, @$)); $$->u.i = $1; }
    | MONEY             { OOM($$ = NEW(E_MONEY, @$)); $$->u.i = $1; }
    | RATE              { OOM($$ = NEW(E_RATE, @$)); $$->u.i = $1; }
    | DURATION          { OOM($$ = NEW(E_DURATION, @$)); $$->u.i = $1; }
    | TOKLIT            { OOM($$ = NEW(E_TOKENS, @$)); $$->u.i = $1; }
    | PERCENT           { OOM($$ = NEW(E_PERCENT, @$)); $$->u.i = $1; }
    | TRUE              { OOM($$ = NEW(E_BOOL, @$)); $$->u.i = 1; }
    | FALSE             { OOM($$ = NEW(E_BOOL, @$)); $$->u.i = 0; }
    | STRING            { OOM($$ = NEW(E_STR, @$)); $$->u.str.s = $1.s; $$->u.str.len = $1.len; }
    | REGEX             { OOM($$ = NEW(E_REGEX, @$)); $$->u.re.pat = $1.pat; $$->u.re.flags = $1.flags; }
    | IDENT             { OOM($$ = NEW(E_NAME, @$)); $$->u.name = $1; }   /* the common case, one reduction */
    | softname          { OOM($$ = NEW(E_NAME, @$)); $$->u.name = $1; }
    | MODEL             { OOM($$ = NEW(E_NAME, @$)); $$->u.name = "model"; }
    | AGENT             { OOM($$ = NEW(E_NAME, @$)); $$->u.name = "agent"; }
    | PROVIDER          { OOM($$ = NEW(E_NAME, @$)); $$->u.name = "provider"; }
    | GUARDRAIL         { OOM($$ = NEW(E_NAME, @$)); $$->u.name = "guardrail"; }
    | BUDGET            { OOM($$ = NEW(E_NAME, @$)); $$->u.name = "budget"; }   /* the failure class */
    | '[' list_opt ']'  { OOM($$ = NEW(E_LIST, @$)); $$->u.items = $2.head; NEST($$, 1 + max_dep($2.head, 0)); }
    | '(' expr ')'      { $$ = $2; $$->at = @$; NEST($$, 1 + dep($2)); }
    ;
list_opt: %empty        { $$.head = $$.tail = NULL; }
    | exprs
    | exprs ','
    ;

%%

static ast *binop(parse_ctx *ctx, ast_binop op, ast *l, ast *r, src_span at)
{
    ast *n = ast_new(ctx->arena, E_BINARY, at);
    if (n) {
        n->u.bin.op = op;
        n->u.bin.l = l;
        n->u.bin.r = r;
    }
    return n;
}

static int nest(parse_ctx *ctx, ast *n, unsigned d)
{
    n->depth = (uint16_t)(d < AST_MAX_DEPTH ? d : AST_MAX_DEPTH);
    if (d <= AST_MAX_DEPTH)
        return 0;
    diag_report(ctx->diag, DG_TOO_DEEP, n->at, "nesting too deep (limit %d)", AST_MAX_DEPTH);
    if (n->kind == E_BINARY && (n->u.bin.op == AST_AND || n->u.bin.op == AST_OR))
        diag_hint(ctx->diag, "each 'and'/'or' is a level; to test one value against many, use 'in [...]'");
    return -1;
}

/* The deepest of a list of expressions, or of the targets of a list of
   rules or split arms ('targets'). */
static unsigned max_dep(const ast *list, int targets)
{
    unsigned d = 0;
    for (; list; list = list->next) {
        const ast *x = !targets ? list : list->kind == N_RULE ? list->u.rule->target : list->u.arm.target;
        d = max2(d, dep(x));
    }
    return d;
}

static void rv_yyerror(src_span *at, yyscan_t scanner, parse_ctx *ctx, const char *msg)
{
    ctx->recovered = 1;
    if (!strcmp(msg, "memory exhausted"))   /* the parser's stack, sized for AST_MAX_DEPTH */
        diag_report(ctx->diag, DG_TOO_DEEP, *at, "nesting too deep (limit %d)", AST_MAX_DEPTH);
    else
        diag_report(ctx->diag, DG_SYNTAX, *at, "%s", msg);
}

/* "unexpected X, expected Y or Z", with did-you-mean when an identifier
   stands where a keyword was expected (a misspelled keyword). */
static int yyreport_syntax_error(const yypcontext_t *yyctx, yyscan_t scanner, parse_ctx *ctx)
{
    enum { MAXEXP = 12 };
    yysymbol_kind_t exp[MAXEXP];
    int n = yypcontext_expected_tokens(yyctx, exp, MAXEXP);
    yysymbol_kind_t got = yypcontext_token(yyctx);
    const src_span *at = yypcontext_location(yyctx);
    ctx->recovered = 1;
    if (got == YYSYMBOL_BADCHAR)
        return 0;   /* the lexer has already said what is wrong */
    char buf[600];
    size_t o = 0;
    o += (size_t)snprintf(buf + o, sizeof buf - o, "unexpected %s",
                          got == YYSYMBOL_YYEOF ? "end of file" : yysymbol_name(got));
    if (n > 0 && n < MAXEXP) {
        for (int i = 0; i < n && o < sizeof buf - 64; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i == 0 ? ", expected " :
                                  i == n - 1 ? " or " : ", ", yysymbol_name(exp[i]));
    }
    diag_report(ctx->diag, DG_SYNTAX, *at, "%s", buf);
    if (got == YYSYMBOL_IDENT && n > 0 && n < MAXEXP) {
        const char *words[MAXEXP];
        char clean[MAXEXP][32];
        for (int i = 0; i < n; i++) {
            const char *s = yysymbol_name(exp[i]);
            size_t k = 0;
            for (; *s && k < 31; s++)
                if (*s != '"' && *s != '\'')
                    clean[i][k++] = *s;
            clean[i][k] = 0;
            words[i] = clean[i];
        }
        size_t len = at->end_line == at->line && at->end_col > at->col ? at->end_col - at->col : 0;
        const src_file *f = at->file < ctx->diag->src->n ? &ctx->diag->src->files[at->file] : NULL;
        if (f && len && len < 64 && at->line <= f->nline) {
            char w[64];
            memcpy(w, f->text + f->line_start[at->line - 1] + at->col - 1, len);
            w[len] = 0;
            const char *s = diag_suggest(w, words, (size_t)n);
            if (s)
                diag_hint(ctx->diag, "did you mean '%s'?", s);
        }
    }
    return 0;
}
