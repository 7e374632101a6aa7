/* dvi_map_args: the arguments of `drove map`, as GNU parallel takes them.
 *
 * Each `:::` group on the command line, each file after `::::` (one
 * argument a line; "-" is stdin), or stdin when neither is given, is a
 * source. Jobs are every combination of one argument from each source,
 * the first source varying slowest (parallel's order: `::: a b ::: c d`
 * gives a c, a d, b c, b d); job j's arguments are found from j by mixed
 * radix, so the combinations are never stored.
 *
 * Not thread-safe.
 */
#ifndef DVI_CLI_MAP_ARGS_H
#define DVI_CLI_MAP_ARGS_H

#include <stdio.h>

typedef struct dvi_map_args dvi_map_args;

/* An empty set of sources. Caller owns; free with dvi_map_args_destroy().
 * NULL when out of memory. */
dvi_map_args *dvi_map_args_new(void);
/* Frees the sources and sets *p to NULL. Accepts NULL and *p NULL. */
void dvi_map_args_destroy(dvi_map_args **p);

/* Reads the sources from argv, which starts at the first `:::` or
 * `::::`: after `:::` each word is an argument of one new source; after
 * `::::` each word names a file that is a source of its own. Returns 0,
 * or -1 after writing to err why (a file that cannot be read; a `::::`
 * with no file). */
int dvi_map_args_parse(dvi_map_args *a, int argc, char **argv, FILE *err);
/* Adds a source of the lines of f (a trailing newline is not part of an
 * argument; an empty line is an empty argument), read to its end.
 * Returns 0, or -1 when reading failed (errno says why). */
int dvi_map_args_read(dvi_map_args *a, FILE *f);

/* The number of sources. */
size_t dvi_map_args_nsources(const dvi_map_args *a);
/* The number of jobs: the product of the sources' sizes (0 with no
 * source, or an empty one); SIZE_MAX when it would overflow. */
size_t dvi_map_args_njobs(const dvi_map_args *a);
/* Job j's arguments (0 <= j < njobs), one per source, into out[0 ..
 * nsources). Borrowed; valid until the args are destroyed. */
void dvi_map_args_job(const dvi_map_args *a, size_t j, const char **out);

#endif
