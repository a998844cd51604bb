/* imp_internal: the state of one import, shared by the files of the
   importer core (importer.c, imp_text.c, imp_write.c, imp_catalog.c) and
   by no one else: the importers go through importer.h. */
#ifndef RV_IMP_INTERNAL_H
#define RV_IMP_INTERNAL_H

#include "importer.h"

struct rv_compiler_s;

typedef struct {
    const char *text;           /* "PATH: message" (arena) */
    uint32_t line, col;
    int warning;                /* printed as a warning (a literal key) */
} imp_msg;

typedef struct {
    const char *literal, *env;  /* a literal key (kept only to give it the same variable) */
} imp_key;

struct imp {
    arena arena;
    const char *label, *format;
    int failed;
    imp_msg error;
    imp_msg *notes;
    size_t nnote, cap_note;
    const char **names;
    size_t nname, cap_name;
    imp_key *keys;
    size_t nkey, cap_key;
    imp_provider *providers;
    size_t nprov, cap_prov;
    imp_model *models;
    size_t nmodel, cap_model;
    imp_agent *agents;
    size_t nagent, cap_agent;
    const char **imports;       /* std modules to import */
    size_t nimport, cap_import;
    void *catalog;              /* imp_catalog.c: the compiled standard library */
};

/* importer.c: take 'name' (a provider of the standard library); is it
   taken (or reserved)? */
int impi_reserve(imp *im, const char *name);
int impi_taken(const imp *im, const char *name);

/* imp_catalog.c: the standard library compiled once, looked up, freed.
   Importing a module takes the names of all its providers. */
int impc_load(imp *im);
void impc_free(imp *im);
/* The std provider with exactly these settings, or NULL; '*module' is
   the module declaring it. */
const char *impc_std_provider(imp *im, rv_provkind kind, const char *endpoint, const char *region,
                              const char *key_env, const char **module);
/* Fill what 'm' does not state from the catalogue model of its id. */
void impc_price(imp *im, imp_model *m);

#endif
