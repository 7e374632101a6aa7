/* dvi_funcs: finding task functions by name.
 *
 * Functions come from the program itself (DV_FUNCTION registers them at
 * load time, and exports a descriptor `dv__fn_NAME` that worker processes
 * running the same executable find with dlsym), or from shared libraries
 * uploaded by a client, loaded from memory (memfd) so no file is left.
 * Each worker has its own dvi_funcs: its loaded libraries and a cache.
 * Not thread-safe: a worker uses it on its loop thread.
 */
#ifndef DVI_FUNCS_H
#define DVI_FUNCS_H

#include <stddef.h>

#include "drove.h"

typedef struct dvi_funcs dvi_funcs;

dvi_funcs *dvi_funcs_new(void);
void dvi_funcs_destroy(dvi_funcs **f);
/* The function registered or exported under name, or NULL. */
const dv_function *dvi_funcs_find(dvi_funcs *f, const char *name);
/* Loads a library from its bytes, once per hash. Returns 0, or a negative
 * DV_E* code with the reason set (dlopen's message). If impure is not NULL
 * it receives the names of the library's DV_FUNCTION_IMPUREs (static
 * storage of the library; *nimpure of them), as their constructors
 * registered them during the load. */
int dvi_funcs_load(dvi_funcs *f, const char *hash, const char *name,
                   const void *bytes, size_t n, const char ***impure,
                   size_t *nimpure);
/* The process-wide registry of the program's own functions (no uploaded
 * library registers there). */
const dv_function *dvi_funcs_registered(const char *name);

#endif
