/* The shell's syntax as `drove map` needs it: quoting an argument as GNU
 * parallel does, and splitting a command line into argv when the shell
 * would do nothing more than split it, so that the job runs without one
 * (as make does: a /bin/sh per job costs about as much as a small
 * program).
 */
#ifndef DVI_CLI_MAP_SHELL_H
#define DVI_CLI_MAP_SHELL_H

#include <stdio.h>

/* Writes s to out quoted for a POSIX shell, as GNU parallel quotes its
 * replacement strings: as is when it holds only [-_.+a-zA-Z0-9/], '' when
 * empty, else in single quotes (a ' as '"'"'). */
void dvi_shell_quote(FILE *out, const char *s);

/* The words of line when running it with `sh -c` would only split it at
 * blanks and remove single quotes: no other quoting, no expansion,
 * redirection, operator, assignment or comment, and a first word that is
 * not a shell keyword or a builtin without a program of the same name.
 * Returns a NULL-terminated argv in one allocation (caller frees with
 * free()), or NULL when the line needs the shell (or is empty, or out of
 * memory). */
char **dvi_shell_split(const char *line);

#endif
