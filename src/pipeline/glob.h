/* dvi_glob: Pachyderm's glob patterns, matched against a directory tree.
 *
 * A pattern is a path from the input's root whose components may hold
 * fnmatch(3) wildcards (written here with "\*" for a star, since a slash
 * and a star end a C comment): "/" matches the root itself (one datum of
 * the whole input), "/\*" each top-level file or directory, "/\*" + "/\*"
 * each entry of each top-level directory, "/California/\*" the entries
 * of that directory only. A component matches the entries of the
 * directories the previous components matched; a file matched before the
 * last component
 * matches nothing further. Wildcards do not match names starting with
 * '.' (FNM_PERIOD), so hidden files and directories stay out of datums.
 */
#ifndef DVI_PIPELINE_GLOB_H
#define DVI_PIPELINE_GLOB_H

#include <stddef.h>

/* Matches pattern (starting with '/') under the directory root. *out gets
 * the matches, paths relative to root ("" for the root itself), sorted
 * bytewise; caller owns, free with dvi_glob_free(*out, *n). Returns 0, or
 * DV_EINVAL for a pattern not starting with '/', DV_EIO naming a root
 * that is not a readable directory (reason set). */
int dvi_glob(const char *root, const char *pattern, char ***out, size_t *n);
void dvi_glob_free(char **v, size_t n);

/* Whether the name holds a wildcard of fnmatch(3). */
int dvi_glob_is_wild(const char *component);

#endif
