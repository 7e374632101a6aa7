/* dvi_funcs: finding task functions by name and code identity.
 *
 * Functions come from the program itself (DV_FUNCTION registers them at
 * load time, and exports a descriptor `dv__fn_NAME` that worker processes
 * running the same executable find with dlsym), or from shared libraries
 * uploaded by a client, loaded from memory (memfd) so no file is left.
 *
 * A call names its function and the code it means, so that changed code
 * never returns a stale result and one client's upload never changes
 * what another's calls run:
 *   "U<hash>"      the uploaded library with that content hash;
 *   "B<build-id>"  the program's own code, in the object (executable or
 *                  shared library) with that ELF build-id;
 *   ""             whatever the program has under that name.
 * Every distinct library loads, and stays loaded while the process lives
 * (older versions included: tasks and lineage may still name them).
 * Each worker has its own dvi_funcs (its libraries and a cache), used
 * on its loop thread, and by its tasks finding their children's code:
 * thread-safe.
 */
#ifndef DVI_FUNCS_H
#define DVI_FUNCS_H

#include <stddef.h>

#include "drove.h"

/* A function built into drove (dv_function.flags): found by its name in
 * every program, with no code identity. */
#define DVI_FN_BUILTIN 0x100u
/* The built-in command task function, "drove_cmd" (cmd_task.c). */
extern const dv_function dvi_cmd_function;

/* The longest code identity, with its NUL. */
#define DVI_CODE_MAX 80

typedef struct dvi_funcs dvi_funcs;

dvi_funcs *dvi_funcs_new(void);
void dvi_funcs_destroy(dvi_funcs **f);

/* The function name of code (above), or NULL with the reason set (which
 * names the function, the code and, for a library that failed to load,
 * why it failed). */
const dv_function *dvi_funcs_find(dvi_funcs *f, const char *code,
                                  const char *name);

/* Loads a library from its bytes, once per hash. Returns 0, or a negative
 * DV_E* code with the reason set (dlopen's message), remembered for the
 * calls that name it. */
int dvi_funcs_load(dvi_funcs *f, const char *hash, const char *name,
                   const void *bytes, size_t n);

/* The process-wide registry of the program's own functions (no uploaded
 * library registers there). */
const dv_function *dvi_funcs_registered(const char *name);
/* Whether the program registered functions and exports every one of them
 * (linked with --export-dynamic, as pkg-config's flags do): then a worker
 * process running this executable finds them. */
int dvi_funcs_exported(void);

/* The code identity of a function of this program ("B<build-id>" of the
 * object it is defined in), into out (DVI_CODE_MAX bytes); "" when the
 * object has no build-id. Thread-safe. */
void dvi_funcs_program_code(const dv_function *fn, char *out);

#endif
