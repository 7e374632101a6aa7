/* A `drove map` command template: the command with GNU parallel's
 * replacement strings, made into each job's command line.
 *
 *   {}     the argument (with several sources: all of them, spaced)
 *   {.}    without its extension        {/}   its base name
 *   {//}   its directory (Perl's dirname, as parallel)
 *   {/.}   its base name without extension
 *   {#}    the job's number, from 1
 *   {N} {N.} {N/} {N//} {N/.}   the same of source N's argument
 *
 * Values are quoted for the shell (dvi_shell_quote); any other {...}
 * stays as written. A template without a replacement string gets the
 * arguments appended, as `{}` would put them.
 */
#ifndef DVI_CLI_MAP_TEMPLATE_H
#define DVI_CLI_MAP_TEMPLATE_H

#include <stddef.h>

/* The template of a command given as words: joined by spaces (as
 * parallel joins them, unquoted: they are shell code), with " {}"
 * appended when they hold no replacement string. Caller owns; free with
 * free(). NULL when out of memory. */
char *dvi_map_template_make(const char *const *words, size_t n);
/* Job seq's command line: tmpl with its replacement strings replaced by
 * args[0 .. n) (one per source) and seq. Caller owns; free with free().
 * NULL when out of memory. */
char *dvi_map_template_expand(const char *tmpl, const char *const *args,
                              size_t n, size_t seq);
/* words joined by spaces, unquoted, then end: a job's --tag prefix is
 * its arguments and "\t"; with no command, its command line is its
 * arguments and "". Caller owns; free with free(). NULL when out of
 * memory. */
char *dvi_map_template_join(const char *const *words, size_t n,
                            const char *end);

#endif
