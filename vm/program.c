/* Name tables shared by the compiler and the VM (types, fields, builtins,
   capabilities, failure classes, call parameters), and the destructor of
   rv_program.  The tables are expansions of the X-lists in program.h and
   builtins.def. */
#include <stdlib.h>

#include "program.h"
#include "mem.h"

const char *const rv_type_names[RV_T__COUNT] = {
#define X(n, s) s,
    RV_TYPES(X)
#undef X
};

#define X(n, s, t) { s, RV_T_##t },
const rv_fieldinfo rv_reqfields[RV_REQ__COUNT] = { RV_REQFIELDS(X) };
const rv_fieldinfo rv_candfields[RV_CAND__COUNT] = { RV_CANDFIELDS(X) };
const rv_fieldinfo rv_respfields[RV_RESP__COUNT] = { RV_RESPFIELDS(X) };
const rv_fieldinfo rv_decfields[RV_DEC__COUNT] = { RV_DECFIELDS(X) };
#undef X
#define X(n, s) s,
const char *const rv_cap_names[RV_CAP__COUNT] = { RV_CAPS(X) };
const char *const rv_provkind_names[RV_PROV__COUNT] = { RV_PROVKINDS(X) };
#undef X

const char *const rv_failure_names[RV_FAIL__COUNT] = {
#define X(n, s, r) s,
    RV_FAILURES(X)
#undef X
};
const uint8_t rv_failure_retry[RV_FAIL__COUNT] = {
#define X(n, s, r) r,
    RV_FAILURES(X)
#undef X
};
const rv_paraminfo rv_params[RV_PARAM__COUNT] = {
#define X(n, s, t, lo, hi) { s, RV_T_##t, lo, hi },
    RV_PARAMS(X)
#undef X
};

const rv_biinfo rv_builtins[RV_BI__COUNT] = {
#define BI(name, ar, a0, a1, ret, doc) \
    { #name, ar, { RV_T_##a0, RV_T_##a1 }, RV_T_##ret, doc },
#include "builtins.def"
#undef BI
};

rv_program *rv_program_new(void)
{
    return mem_calloc(1, sizeof(rv_program));
}

void rv_program_free(rv_program *p)
{
    if (!p)
        return;
    free(p->blob); free(p->str_off); free(p->str_len);
    free(p->consts); free(p->items); free(p->regexes); free(p->providers);
    free(p->models); free(p->gactions); free(p->guards); free(p->guard_refs);
    free(p->targets); free(p->model_refs); free(p->agents); free(p->rules);
    free(p->choices); free(p->cascades); free(p->arms); free(p->splits);
    free(p->hooks); free(p->funcs); free(p->mtests); free(p->dispatches); free(p->dvalues); free(p->dclasses); free(p->dpcs); free(p->givens); free(p->tests);
    free(p->code); free(p->pc_loc); free(p->locs); free(p->files);
    free(p);
}
