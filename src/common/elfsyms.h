/* dvi_elf: the DV_FUNCTIONs a shared library defines, read from its bytes
 * without loading it.
 *
 * A client uploading a library learns which functions its calls then
 * mean (and which are impure) from the file itself, before any worker has
 * loaded it: DV_FUNCTION exports a descriptor `dv__fn_NAME` (a
 * dv_function), whose flags are a constant in the file. The bytes are not
 * trusted: every offset and size is checked against the file before it is
 * read. ELF64, little-endian (x86-64, aarch64).
 */
#ifndef DVI_ELFSYMS_H
#define DVI_ELFSYMS_H

#include <stddef.h>

typedef struct dvi_elf_fn {
    char *name;     /* the function's name (after "dv__fn_"); malloc'ed */
    unsigned flags; /* dv_function.flags: DV_FN_IMPURE */
} dvi_elf_fn;

/* Reads the DV_FUNCTIONs of the shared library in bytes[0..n). Returns
 * the number found (0 or more) with *out (caller frees with
 * dvi_elf_fns_free), or DV_EINVAL with the reason set for bytes that are
 * not an ELF64 little-endian shared object. */
int dvi_elf_functions(const char *bytes, size_t n, dvi_elf_fn **out);
void dvi_elf_fns_free(dvi_elf_fn *fns, int n);

#endif
