/* dvi_datums: the datums of a pipeline's input, with their identities.
 *
 * A datum is a set of files, each under an input's name: the files of
 * one glob match of a pfs input (every file below it, when the match is
 * a directory), the concatenation of one datum of each child of a cross
 * (the cartesian product, as Pachyderm), or one datum of one child of a
 * union. A match that holds no regular file (an empty directory, a link
 * to a directory, which is never followed) is no datum. A datum's id is a hash
 * of its roots and of each file's input name, relative path and content hash:
 * it changes exactly when a file of it is added, removed or changed, which is
 * what decides whether it runs again.
 */
#ifndef DVI_PIPELINE_DATUMS_H
#define DVI_PIPELINE_DATUMS_H

#include <stddef.h>

#include "pipeline/filecache.h"
#include "pipeline/spec.h"

typedef struct dvi_dfile {
    char *input; /* the input's name: the file is in/<input>/<rel> */
    char *rel;   /* path relative to the input's root */
    char *abs;   /* the local file */
    unsigned char hash[DVI_HASH_BYTES];
} dvi_dfile;

typedef struct dvi_datum {
    char id[33];      /* 32 hex digits */
    char *desc;       /* its roots: "states:/California", joined by " x " */
    dvi_dfile *files; /* owned, sorted by input then rel */
    size_t nfiles;
} dvi_datum;

typedef struct dvi_datums {
    dvi_datum *v; /* owned */
    size_t n, cap;
} dvi_datums;

/* The datums of the input tree into out (zeroed first). Every pfs input
 * must have its repo set (a pipeline input: the upstream's output).
 * Hashes come through fc (may be NULL). Datums with the same id (a union
 * of overlapping inputs) are kept once. Returns 0, or DV_EIO naming a
 * missing input directory or an unreadable file; out is then empty. */
int dvi_datums_build(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out);
void dvi_datums_fini(dvi_datums *d);

/* The datum with this id, or NULL. Linear: for tests and inspection. */
const dvi_datum *dvi_datums_find(const dvi_datums *d, const char *id);

#endif
